// Turns what the systemd manager says about a timer's service (property snapshots read over
// D-Bus) into the run events the wrapper sends: one "run" and one "complete"/"fail" per
// invocation, never twice. Pure: no bus, no clock; systemd_watch.cpp feeds it.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/event.h"

namespace cronitor::agent {

/// The properties of one service unit that tell its latest run (names as on the bus).
struct ServiceSnapshot {
  std::string invocation_id;    ///< InvocationID as 32 lowercase hex digits; empty: never started
  std::string active_state;     ///< ActiveState: "activating", "active", "inactive", "failed", ...
  uint64_t start_usec = 0;      ///< ExecMainStartTimestamp, CLOCK_REALTIME µs; 0: not started
  uint64_t exit_usec = 0;       ///< ExecMainExitTimestamp; 0: still running
  int32_t exec_code = 0;        ///< ExecMainCode: CLD_EXITED, CLD_KILLED or CLD_DUMPED
  int32_t exec_status = 0;      ///< ExecMainStatus: the exit status, or the signal number
  uint32_t main_pid = 0;        ///< ExecMainPID
  std::string result;           ///< Result: "success", "exit-code", "signal", "timeout", "oom-kill", ...
  bool condition_ok = true;     ///< ConditionResult of the last start: false when a Condition*= failed
  uint64_t condition_usec = 0;  ///< ConditionTimestamp: when that start checked them; 0: never
  bool assert_ok = true;        ///< AssertResult of the last start: false when an Assert*= failed
  uint64_t assert_usec = 0;     ///< AssertTimestamp; 0: never checked
};

/// What the caller knows beyond the snapshot.
struct TrackContext {
  std::string host;
  uint64_t now_usec = 0;  ///< CLOCK_REALTIME, for a run that ended without an exit timestamp
  /// The kernel's OOM kill counter went up while the run ran (cgroup v1 reports a MemoryMax=
  /// kill as plain signal 9).
  bool oom_counter_rose = false;
  std::string output_tail;  ///< the invocation's last journal lines, for the terminal event
};

/// True when the snapshot shows a run that has ended.
bool run_ended(const ServiceSnapshot& s);
/// True when the snapshot shows a run still going.
bool run_going(const ServiceSnapshot& s);
/// "0123456789abcdef0123456789abcdef" -> "01234567-89ab-cdef-0123-456789abcdef"; empty if malformed.
std::string invocation_run_id(const std::string& invocation_id);
/// The service Result in an alert's words, or empty when the exit code or flags already say it.
std::string result_words(const std::string& result);

/// A start the manager failed because an Assert*= did not hold (no process ran, no InvocationID,
/// the unit stays inactive with Result "success"): a failed run at `at_usec` (AssertTimestamp),
/// with no exit code, its error the assertion ("AssertPathExists=/x failed", or "an Assert*=
/// failed" when the manager could not say which). Its run id comes from the unit and the time,
/// so that telling it again (a resync, a restart) is dropped as a repeat.
std::vector<cronitor::RunEvent> failed_assert_events(const std::string& key, const std::string& service,
                                                     uint64_t at_usec, const std::string& assertion,
                                                     const std::string& host);

class TimerRunTracker {
 public:
  /// The events `s` adds for the timer monitored as `key`: a "run" when a new invocation started,
  /// a "run" and its end when it is first seen ended, its end when a known run ended; nothing
  /// already reported for that invocation. `service` names the unit (one memory per service).
  std::vector<cronitor::RunEvent> observe(const std::string& key, const std::string& service, const ServiceSnapshot& s,
                                          const TrackContext& ctx);
  /// True when `s` shows a run going or ended that observe() has not reported yet.
  bool fresh(const std::string& service, const ServiceSnapshot& s) const;
  /// True when `s` shows a run ended whose end observe() has not reported yet.
  bool end_pending(const std::string& service, const ServiceSnapshot& s) const;
  /// True when a run of `service` was reported and its end was not.
  bool running(const std::string& service) const;
  void forget(const std::string& service) { seen_.erase(service); }
  size_t size() const { return seen_.size(); }

 private:
  struct Seen {
    std::string invocation_id;
    bool run_sent = false;
    bool end_sent = false;
  };
  std::unordered_map<std::string, Seen> seen_;
};

}  // namespace cronitor::agent
