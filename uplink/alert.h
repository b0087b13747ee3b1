// What the evaluator decided to tell people, before it is formatted for Slack, webhooks, email.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "schedule/zone.h"

namespace cronitor::uplink {

using schedule::Instant;

struct Alert {
  enum class Kind {
    kMissed,
    kFailed,
    kHung,
    kOverlap,
    kAssertion,
    kRemoved,
    kRecovered,
    kRealert,
    kCronDown,
    kCronUp,
    kTest,
    kFlapping,     // state changed too often: one incident instead of one per change
    kDigest,       // alerts a target's rate limit held back (key "host:alerts")
    kDowntime,     // slots due while the host was down or the agent stopped (key "host:downtime")
    kSnoozeEnded,  // the host's snooze ended: the incidents still open (key "host:snooze")
    kTooOften,     // more runs in one slot than the schedule allows
    kZoneChanged,  // the host's time zone changed under a running cron daemon (key "host:timezone")
    kSkipped,      // systemd skipped a start (a Condition*= failed); only with alert_on_skip
  };
  Kind kind = Kind::kFailed;
  std::string key;      // the monitor's key, or "host:cron" for the cron daemon
  std::string name;     // the monitor's name for people
  Instant at{};         // when the rule fired (evaluator time)
  std::string summary;  // one line that names the job and says what happened
  std::string detail;   // why: exit code, signal, OOM, the assertion, the missed slot
  std::string run_id;   // the run it concerns (a hung run), or empty: upstreams tie the fault to it
  bool update = false;  // part of an incident that was already open
  Instant incident_opened{};
  // Context for the message blocks.
  std::string schedule;
  std::string timezone;
  std::string environment;
  std::string source;  // "file:line"
  std::optional<int> exit_code;
  std::string signal;
  bool oom = false;
  std::optional<int64_t> duration_ms;
  std::string output_tail;
  std::optional<Instant> expected;
  std::optional<std::chrono::seconds> down_for;  // for recoveries
  // What the on-call reader needs next (each empty/unset when unknown or not relevant).
  std::string user;                           // the job runs as this user
  std::string command;                        // the command line (a removal: the removed one)
  std::optional<Instant> last_success;        // the job's last good run
  std::optional<int> failed_since_success;    // finished runs that failed since then
  std::optional<int64_t> peak_memory_bytes;   // OOM: the job's peak memory (the wrapper's figure)
  std::optional<int64_t> memory_limit_bytes;  // OOM: the memory cgroup's limit (from the kernel log)
  std::string oom_victim;                     // OOM: "python3 (pid 6217)" as the kernel named it
  std::optional<int> affected_jobs;           // cron down: the cron jobs it affects
  int alert_number = 0;                       // 1 for the first alert of an incident, 2 for its first update...
  bool going_quiet = false;                   // the last alert sent before updates stop (consecutive_alert_threshold)
  int folded_faults = 0;                      // a reminder: faults recorded but not sent since the last alert
};

/// "missed", "failed", "hung", "overlapped", "removed", "recovered", ...
const char* kind_name(Alert::Kind k);
/// Shell commands that act on the alert's job (pause it, read its history); empty for host alerts.
std::vector<std::string> act_commands(const Alert& a);
/// True for alerts that end an incident.
inline bool is_recovery(Alert::Kind k) { return k == Alert::Kind::kRecovered || k == Alert::Kind::kCronUp; }
/// True for the host's notices that open no incident and need no action (downtime, snooze end).
inline bool is_host_notice(Alert::Kind k) { return k == Alert::Kind::kDowntime || k == Alert::Kind::kSnoozeEnded; }

/// The test alert of `cronitor-agent test-alert` and of the dashboard's button, from `host` at `at`.
Alert test_alert(const std::string& host, Instant at);

}  // namespace cronitor::uplink
