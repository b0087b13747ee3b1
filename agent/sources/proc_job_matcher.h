// Which discovered job a process cron started is (pure: the daemon gives it the discovered jobs;
// ProcessTracker asks it at each exec in cron's trees, agent/sources/process_tracker.h):
//   - a line: the owner's uid and the command as cron hands it to `sh -c` (before the first
//     unescaped '%', "\%" as '%'); when several lines share both, the one whose schedule fired in
//     the minute of the start, else the first in file order;
//   - a script of run-parts: only under a line of root's that runs a folder (/etc/crontab's
//     cron.hourly/daily/weekly/monthly), and only a script discovery lists in that folder.
// And which jobs these runs report (mark_process_observed): their monitors are fed like wrapped ones.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/config/monitor_set.h"
#include "agent/config/wrap_policy.h"

namespace cronitor::agent {

class ProcJobMatcher {
 public:
  /// Whether the line of `key` had a slot in the minute of `start` (ties between lines).
  using Due = std::function<bool(const std::string& key, Instant start)>;

  /// The crontab lines and run-parts scripts of `jobs` (discovered, monitorable); a line whose user
  /// has no uid is skipped.
  void set_jobs(std::span<const DiscoveredJob> jobs);
  /// Discovery's changes: `jobs` added or changed, `removed` keys gone (or rekeyed).
  void update(std::span<const DiscoveredJob> jobs, std::span<const std::string> removed);
  void set_due(Due due) { due_ = std::move(due); }

  /// The key of the line cron ran as `sh -c command` for `uid`, started at `start`.
  std::optional<std::string> job(uid_t uid, std::string_view command, Instant start) const;
  /// The key of `script`, run by a run-parts in the run of `job_key` (owned by `job_uid`).
  std::optional<std::string> script(uid_t job_uid, std::string_view job_key, std::string_view script) const;
  /// The uid of `user` as the lines name it (cron's CMD lines say the user), if a line has it.
  std::optional<uid_t> uid_of_user(std::string_view user) const;
  /// Whether `key` is a wrapped line (its wrapper reports its runs).
  bool wrapped(const std::string& key) const { return wrapped_.contains(key); }
  size_t lines() const { return lines_.size(); }

 private:
  void rebuild();
  struct Line {
    std::string file;
    int line = 0;
    std::string key;
    bool wrapped = false;
    auto operator<=>(const Line&) const = default;
  };
  std::map<std::string, DiscoveredJob> jobs_;  // by key: crontab lines and run-parts scripts
  std::map<std::pair<uid_t, std::string>, std::vector<Line>, std::less<>> lines_;
  std::map<std::string, std::string, std::less<>> runner_dir_;  // root's run-parts lines: key -> folder
  std::set<std::string, std::less<>> runner_dirs_;
  std::map<std::string, std::string, std::less<>> scripts_;  // script path -> key
  std::set<std::string> wrapped_;
  std::map<std::string, uid_t, std::less<>> users_;  // the lines' users and their uids
  Due due_;
};

/// The folder of a run-parts script job (its file's parent), or empty for other jobs.
std::string script_folder(const DiscoveredJob& j);

/// Marks the jobs whose runs the process events report: crontab lines nothing else reports (not
/// wrapped, not about to be wrapped: package files, auto_wrap off) and the scripts of root's
/// run-parts lines; `all` are every discovered job (the run-parts lines of the scripts).
void mark_process_observed(std::vector<DiscoveredJob>& jobs, std::span<const DiscoveredJob> all);

}  // namespace cronitor::agent
