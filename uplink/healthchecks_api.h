// Healthchecks.io's Management API (`uplink.healthchecks.api_key`): each job's check is created
// or updated by its slug (POST {api_url}/api/v3/checks/ with unique ["slug"]) with the job's
// schedule, zone and grace before its first ping, so that the check judges the job by its own
// schedule, not the server's default (period 1 day, grace 1 hour). Pure: the request body and
// the ledger of what was last queued (so a restart sends nothing when nothing changed).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/error.h"
#include "uplink/telemetry.h"

namespace cronitor::uplink {

/// The server's limits (hc/api/views.py, Spec): name and slug at most 100 characters, the slug
/// of a-z, 0-9, '-', '_'; grace and timeout 60 s to 365 days.
inline constexpr size_t kHealthchecksNameMax = 100;
inline constexpr int64_t kHealthchecksMinSeconds = 60, kHealthchecksMaxSeconds = 31536000;
/// The API answers 429 beyond 100 requests a minute (docs/api.md, "Rate Limits"): the agent
/// sends at most this many check upserts a minute, leaving room for the user's own scripts.
inline constexpr int kHealthchecksApiPerMinute = 60;

/// The slug a job's pings use at Healthchecks (its `slug:`, else one made from the key).
std::string healthchecks_slug(const MonitorInfo& m);

/// The body of the upsert for `m`: name, slug, unique ["slug"], grace, and either `schedule`
/// (a 5-field crontab) with `tz` (an IANA name) or `timeout` (an interval's period), `desc`,
/// `channels: "*"` (every integration of the project, as a check created by a ping gets).
/// nullopt, with `why_not` set, when the job has no schedule the server takes the same way:
/// it then gets plain pings (a check that exists keeps its settings).
[[nodiscard]] std::optional<nlohmann::json> healthchecks_check_body(const MonitorInfo& m, std::string* why_not);

/// What was last queued for each job (the body, or "none: WHY"), kept in a file of the state
/// folder: a start sends an upsert only for the jobs whose check changed.
class CheckLedger {
 public:
  explicit CheckLedger(std::string path) : path_(std::move(path)) {}
  const std::string& path() const { return path_; }
  /// Reads the file; a missing or unreadable one is empty (every check is sent once more).
  void load();
  [[nodiscard]] Result<void> save() const;  // atomically, mode 0600
  /// True when `what` differs from what was last recorded for `key`.
  bool changed(const std::string& key, const std::string& what) const;
  void record(const std::string& key, const std::string& what) { last_[key] = what; }

 private:
  std::string path_;
  std::map<std::string, std::string> last_;
};

}  // namespace cronitor::uplink
