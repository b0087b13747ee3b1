// What one local user's jobs may cost the root daemon and what others see of them (agent/README.md,
// "Security model"). A user's own crontab defines monitors (one each), but at most
// `discovery.max_monitors_per_user` per user and `discovery.max_user_monitors` for all users
// together: 20,000 lines of one crontab once made 20,000 monitors (PSS 14 -> 75 MB, a 22 MB
// /metrics, 20,015 monitors sent upstream with root's API key). Root's files and agent.yaml are
// never counted. Pure: the caller passes the claims in discovery's order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/eval/key_owners.h"
#include "agent/eval/monitor.h"

namespace cronitor::agent {

struct UserLimits {
  size_t per_user = 500;    // discovery.max_monitors_per_user (0: no limit)
  size_t all_users = 5000;  // discovery.max_user_monitors (0: no limit)
};

/// How many job lines of one user's crontab discovery reads (the rest is not read or held): 4
/// times what may be monitored of it, at least 2,000; with no monitor limit, no limit.
inline size_t crontab_read_limit(const UserLimits& l) {
  if (l.per_user == 0) return SIZE_MAX;
  return l.per_user > 500 ? 4 * l.per_user : 2000;
}

/// The users' crontab lines past the limits (index into `claims` -> the reason), counted over
/// those not in `refused` (already refused for their key): first the lines whose key the same uid
/// holds already (`holders`: a monitor it has), then the others in `claims`' order, so lines added
/// above the old ones never push them out (else each edit could add 500 more); and one line per
/// file that went past a limit (for the log and `status`: not one per line).
struct OverLimit {
  std::map<size_t, std::string> lines;
  std::map<std::string, std::string> files;  // file -> "FILE (USER's crontab): N jobs past ..."
};
OverLimit over_limit_claims(const std::vector<KeyClaim>& claims, const std::map<size_t, std::string>& refused,
                            const UserLimits& limits, const std::unordered_map<std::string, int64_t>& holders = {});

/// A job a user defined: their own crontab's line, or a key nothing defines that they reported
/// first. A system crontab's line that runs as a user, or an agent.yaml monitor with `user:`, is
/// root's definition, not theirs.
bool users_own_job(const MonitorConfig& m);

/// A key nothing defines that a user other than root reported first (`cronitor-exec KEY` of
/// their own): not forwarded upstream unless `uplink.forward_user_keys` says so.
bool users_own_key(const MonitorConfig& m);

/// How a job shows in the Prometheus series (`prometheus.user_jobs`: "key", "all" or "none"):
/// false when it is left out; with "key" a user's own job keeps its key and user, and its name
/// and source are blanked (any local user reads /metrics and the 0644 textfile).
bool metrics_view(const MonitorConfig& m, const std::string& user_jobs, std::string& name, std::string& source);

/// The headline of an alert of `m`: a user's own job says whose it is ("user alice: backup
/// failed: ..."), so that it is never taken for root's job of the same name.
std::string owned_summary(const MonitorConfig& m, const std::string& summary);

}  // namespace cronitor::agent
