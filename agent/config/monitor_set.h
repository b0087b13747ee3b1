// Builds the monitors from the config and the discovered jobs: defaults, then the job's
// `# cronitor:` comment, then the config's `monitors:` entry with the same key.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/config/config.h"
#include "agent/eval/monitor.h"

namespace cronitor::agent {

/// A job as discovery found it, in the terms the agent needs (see discovery_adapter.h).
struct DiscoveredJob {
  std::string key;
  std::string name;
  std::string schedule;                     // as written; empty: no clock schedule (e.g. @reboot, monotonic timers)
  std::vector<std::string> more_schedules;  // one job on several crontab lines: the other lines' schedules
  bool systemd_calendar = false;            // OnCalendar= syntax, not cron
  std::string timezone;
  bool from_cron = true;
  bool runs_folder = false;  // a run-parts line (its folder's scripts are jobs of their own)
  std::string file;
  int line = 0;
  int listed_line = 0;  // the line as shown to people: user crontabs as `crontab -l` lists them
  std::string user;
  int64_t uid = -1;
  std::optional<MonitorOverrides> comment;  // from "# cronitor: ..." above the line
  bool wrapped = false;
  bool wrappable = false;   // a line of /etc/crontab, cron.d or a user crontab: auto_wrap can wrap it
  bool users_file = false;  // a line of a user's own crontab (not root's): it may not take others' keys
  std::string command;      // crontab lines: the command as written (matched against cron's log)
  std::string reported_by;  // "wrapper", "cron log", or empty: nothing reports its runs (wrap_policy.h)
  // anacron jobs and monotonic timers: the deadline counts from the previous run (see agent/README.md).
  std::optional<Heartbeat> heartbeat;
  std::chrono::seconds min_grace{0};    // anacron's own slack: the grace is at least this unless set explicitly
  std::chrono::seconds extra_grace{0};  // timers: RandomizedDelaySec= + AccuracySec=, added to the grace
};

/// Zones are loaded once per name.
class ZoneCache {
 public:
  [[nodiscard]] Result<schedule::Zone> get(const std::string& name);

 private:
  std::unordered_map<std::string, schedule::Zone> zones_;
};

/// Resolves one monitor. `job` and `entry` may each be null (not both).
/// A monitor with every setting taken from `defaults` (no key, schedule or source yet).
MonitorConfig monitor_from_defaults(const Defaults& defaults);

[[nodiscard]] Result<MonitorConfig> resolve_monitor(const Config& config, const DiscoveredJob* job,
                                                    const MonitorEntry* entry, ZoneCache& zones);

/// A line of a user's crontab that may not define its key (key_owners.h): listed, not monitored.
struct RefusedJob {
  std::string key;
  std::string where;  // file:line
  std::string user;
  int64_t uid = -1;
  std::string reason;
  bool over_limit = false;  // past discovery.max_monitors_per_user / max_user_monitors (user_limits.h)
};

/// Takes out of `jobs` the lines of users' crontabs that may not define their key (a key of
/// root's files or agent.yaml, or one another user holds: `holders`, key -> uid), and those past
/// the limits of monitors per user (config.discovery), and returns them. `limit_files`, when
/// given, gets one line per file that went past a limit (user_limits.h).
std::vector<RefusedJob> take_refused_claims(std::vector<DiscoveredJob>& jobs, const Config& config,
                                            const std::unordered_map<std::string, int64_t>& holders,
                                            std::map<std::string, std::string>* limit_files = nullptr);

/// Every monitor: each discovered job (overridden by its entry), then entries without a job.
/// Monitors that cannot be built are left out with a warning naming them.
std::vector<MonitorConfig> build_monitors(const Config& config, const std::vector<DiscoveredJob>& jobs,
                                          ZoneCache& zones, std::vector<std::string>& warnings);

}  // namespace cronitor::agent
