// A monitor as the evaluator sees it: its resolved settings, and the state it carries between inputs.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "agent/eval/assertion.h"
#include "schedule/schedule.h"
#include "schedule/zone.h"

namespace cronitor::agent {

using schedule::Instant;

/// A deadline counted from the previous run instead of a clock: anacron periods and systemd
/// OnUnitActiveSec=/OnUnitInactiveSec= timers. The monitor's `schedule` then holds the same period
/// as an interval, so code that only reads `schedule` sees a heartbeat.
struct Heartbeat {
  /// What the period counts from: the previous run's start, or its end (OnUnitInactiveSec=).
  enum class Anchor { kStart, kEnd };
  std::chrono::seconds period{0};
  Anchor anchor = Anchor::kStart;
  std::string what;  // for alerts and status: "anacron period 1 day", "OnUnitActiveSec=1h"
};

/// Settings of one monitor after defaults, config entries and crontab comments were applied.
struct MonitorConfig {
  std::string key;
  std::string name;
  std::optional<schedule::Schedule> schedule;  // none: no deadlines (e.g. @reboot)
  /// One job on several crontab lines (same `# Name:` or command in one file): the other lines'
  /// schedules. Deadlines follow the union: the next slot is the earliest of all.
  std::vector<schedule::Schedule> more_schedules;
  std::optional<Heartbeat> heartbeat;  // set: `schedule` is its period, counted from the last run
  /// Nothing reports this job's runs yet (a timer, an anacron job or a run-parts script: not
  /// wrapped, no live systemd watch): no deadline until a first run arrives, so that a monitor
  /// nobody feeds does not cry wolf. Wrapped lines and monitors of the config are live at once.
  bool awaits_first_run = false;
  std::string reported_by;  // what reports its runs: "wrapper", "cron log", or empty (agent/config/wrap_policy.h)
  schedule::Zone zone = schedule::Zone::utc();
  std::chrono::seconds grace{60};
  int failure_tolerance = 0;       // consecutive failures allowed; with failure_window: K of "K of N"
  int failure_window = 0;          // N of "K of N": alert when K of the last N runs failed (0: consecutive)
  std::vector<int> success_codes;  // exit codes that count as success (empty: 0 only)
  std::vector<int> warning_codes;  // exit codes recorded as warnings
  int warning_tolerance = 2;       // consecutive warnings allowed before alerting
  /// Runs cron may start per slot of a calendar schedule (0: no limit). One more run by hand is
  /// allowed; see agent/README.md "Runs too often".
  int max_runs_per_slot = 1;
  /// A start systemd skipped because a Condition*= failed: a notice (default: recorded only).
  bool alert_on_skip = false;
  int schedule_tolerance = 0;
  int consecutive_alert_threshold = 3;
  int recovery_threshold = 1;
  std::chrono::seconds realert_interval{3600};
  /// Flapping: this many changes between failing and healthy within `flapping_window` make one
  /// "flapping" incident, quiet until the job keeps one state for a whole window (0: off).
  int flapping_threshold = 5;
  std::chrono::seconds flapping_window{3600};
  std::vector<Assertion> assertions;
  std::vector<std::string> notify;  // list names or inline targets
  std::string environment;
  std::string slug;  // Healthchecks/Sentry slug; empty: made from the key
  /// The upstream check of a job adopted from its own tool (`wrap --adopt`); empty: not set.
  std::string cronitor_key, healthchecks_uuid, healthchecks_slug, sentry_slug;
  bool paused = false;
  bool from_cron = false;    // run by the cron daemon: its misses are the daemon's while it is down
  bool runs_folder = false;  // a run-parts line: the scripts of its folder are the jobs it runs
  std::string source_file;   // where the job is defined
  int source_line = 0;
  std::string user;     // runs as this user (empty: root / unknown)
  int64_t uid = -1;     // -1: any
  std::string command;  // what it runs, for alerts: the crontab command (unwrapped), the unit

  /// The longest a run may stay open (from a `metric.duration <` assertion).
  std::optional<std::chrono::milliseconds> max_runtime() const;
  std::string source() const;  // "file:line" or ""
  /// The first slot strictly after `after` of `schedule` and `more_schedules`, in `zone`.
  std::optional<Instant> next_slot(Instant after) const;
  /// Every schedule as written, " + "-joined ("0 2 * * * + 30 14 * * *").
  std::string schedule_text() const;
  /// A job whose runs stop while cron is down, as the cron-down alert counts them: a cron job on
  /// a schedule; not a run-parts line (its folder's scripts are counted, and an empty folder's
  /// line runs nothing), not an @reboot line (it runs when cron starts, not on a clock).
  bool counts_as_cron_work() const { return from_cron && !runs_folder && schedule.has_value(); }
};

/// One run that started and has not ended yet.
struct OpenRun {
  std::string run_id;
  Instant started{};
  bool hung_alerted = false;
  int64_t pgid = 0;            // the job's process group (the run event's pid)
  int64_t wrapper_pid = 0;     // its cronitor-exec, followed with a pidfd (0: not followed)
  uint64_t wrapper_start = 0;  // the wrapper's start time (/proc stat field 22): no pid reuse across restarts
};

/// An open incident: opened when a rule fired, holding the alerts sent for it.
struct Incident {
  Instant opened{};
  std::string kind;  // the first fault: "missed", "failed", ...
  int alerts_sent = 0;
  Instant last_alert{};
  std::string reason;  // the latest fault, for re-alerts
  int folded = 0;      // faults recorded without a message since the last alert (for the reminder)
  Instant last_folded{};
};

/// What the evaluator remembers about a monitor between inputs. Persisted in state.db.
/// How many missed slots a monitor's state keeps (the dashboard's strip shows 60 runs or slots).
inline constexpr size_t kRecentMissedSlots = 60;

struct MonitorState {
  std::optional<Instant> expected;  // the slot the monitor waits for
  int consecutive_misses = 0;
  int consecutive_failures = 0;
  int consecutive_good = 0;
  int consecutive_warnings = 0;
  uint64_t recent_outcomes = 0;    // bit 0: the latest finished run failed; for failure windows
  std::vector<OpenRun> open_runs;  // bounded by kMaxOpenRuns
  std::optional<Incident> incident;
  std::optional<Instant> paused_until;  // Instant::max(): until resumed
  bool removed = false;
  // Why, when the systemd manager says so: the state `status` shows instead of "removed"
  // ("masked", "stopped") and the command that brings it back.
  std::string removed_as;
  std::string removed_hint;
  // The latest run, for status and alerts.
  std::optional<Instant> last_start;
  std::optional<Instant> last_end;
  std::optional<int> last_exit_code;
  std::optional<int64_t> last_duration_ms;
  std::string last_status;              // "ok", "failed", "running", "missed", or empty
  std::optional<Instant> last_success;  // the last good run's end, for alerts
  int failed_since_success = 0;         // finished runs that failed since then
  // Flapping detection: whether the last alert-worthy outcome was a fault, the recent changes
  // between fault and health (at most flapping_threshold), and whether the job flaps now.
  bool faulty = false;
  bool flapping = false;
  std::vector<Instant> flips;
  // The last kRecentMissedSlots slots that passed without a run, oldest first: a missed slot is no
  // run, so history does not hold it; the dashboard's strip draws it among the runs.
  std::vector<Instant> missed_slots;
  // Runs too often: the slot the latest runs belong to, how many started in it, how many of them
  // on time (as cron starts them), whether that slot was already counted as a fault, and how
  // many runs it held when it was (its further runs are recorded once, when the slot is over).
  std::optional<Instant> slot;
  int slot_runs = 0;
  int slot_prompt_runs = 0;
  bool slot_alerted = false;
  int slot_recorded_runs = 0;
  // A run the manager started as its timer started, to catch up (timer_deadline.h
  // absorb_catch_up): its start, to the ms, until that run arrives. Not saved: it is told a few
  // ms before the run.
  std::optional<Instant> catch_up_start;
};

/// What the agent knows about cron's zone. Persisted with the host state in state.db
/// (agent/eval/cron_zone.h).
struct CronZoneState {
  int64_t cron_pid = 0;           // the cron daemon the zone belongs to ...
  uint64_t cron_start = 0;        // ... and its start (/proc stat field 22): pids are reused
  std::string zone;               // the zone that cron runs jobs in; empty: not known yet
  std::string host_zone;          // the host's zone as last read
  std::optional<Instant> warned;  // the "restart cron" incident is open since then
};

/// The host-wide part: the cron daemon's incident.
struct HostState {
  std::optional<Incident> cron_incident;
  int suppressed_misses = 0;  // misses of cron jobs while cron was down
  // The last outage, once resolved: misses of slots inside it belong to it, not to the jobs.
  std::optional<Instant> last_outage_start, last_outage_end;
  // The agent has seen cron alive (a process, or a cron job's run); until then a "down" cron
  // never ran here, and its start is no "return after N down".
  bool cron_seen_running = false;
  // Downtime (agent/eval/downtime.h): the agent was alive at `last_seen` (saved about once a
  // minute and at exit); `shutdown_at` is set when the host began shutting down while it ran.
  std::optional<Instant> last_seen;
  std::optional<Instant> shutdown_at;
  // Snooze: every alert is recorded but not sent until then (agent/daemon/daemon_snooze.cpp).
  std::optional<Instant> snoozed_until;  // Instant::max(): until `snooze --off`
  std::optional<Instant> snooze_since;
  std::string snooze_reason;
  CronZoneState cron_zone;  // the zone cron runs jobs in (cron_zone.h)
};

inline constexpr size_t kMaxOpenRuns = 64;

}  // namespace cronitor::agent
