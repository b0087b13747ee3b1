// The evaluator: (monitor config, monitor state, one input) -> new state + actions. No I/O, no
// clock: time is part of every input, so tests drive it with a simulated clock.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "agent/eval/monitor.h"
#include "agent/eval/run_event.h"
#include "uplink/alert.h"

namespace cronitor::agent {

using uplink::Alert;

/// What the caller must do: record an incident change and send (or only record) an alert.
struct Action {
  enum class Type {
    kOpen,        // a new incident, with its first alert
    kUpdate,      // a new fault of the open incident
    kSuppressed,  // a fault of the open incident past consecutive_alert_threshold: record only
    kResolve,     // the incident is over, with the recovery alert
    kNotice,      // an alert outside incidents (job removed)
  };
  Type type;
  Alert alert;
};
using Actions = std::vector<Action>;

/// The clock reached `now`: deadlines up to it fire.
struct TimeInput {
  Instant now;
};
/// The job vanished from its source (crontab line deleted, timer removed).
struct RemovedInput {
  Instant now;
  std::string file;
  int line = 0;
  bool by_unwrap = false;  // removed through the agent's own unwrap: no alert
  std::string why;         // set: the summary says this instead of "was removed from FILE"
  std::string as;          // set: the state shown instead of "removed" ("masked", "stopped")
  std::string hint;        // the command that brings it back, shown with that state
};
/// pause (until = time point, or Instant::max() for ever) or resume (nullopt).
struct PauseInput {
  Instant now;
  std::optional<Instant> until;
};
using Input = std::variant<TimeInput, const RunEvent*, RemovedInput, PauseInput>;

/// The cron daemon check: is a cron process alive? (`cause` says what was looked at.)
struct CronObservation {
  Instant now;
  bool running = true;
  std::string cause;  // "no live process behind /run/crond.pid"
  std::string host;
  int cron_jobs = 0;                  // monitored cron jobs (a down cron affects them all)
  std::optional<Instant> gone_since;  // when its process was seen to exit (its pidfd), if seen
};

/// A monitor's state as it is when first seen at `now`.
MonitorState initial_state(const MonitorConfig& config, Instant now);

/// Applies one input. `host` is read (cron down suppresses cron-job misses) and updated
/// (a run of a cron job proves the cron daemon is back).
Actions evaluate(const MonitorConfig& config, MonitorState& state, const Input& input, HostState& host);

/// Applies a cron daemon observation: opens or resolves the one host-level incident.
Actions evaluate_cron(HostState& host, const CronObservation& obs);

/// After the wall clock jumped to `now`: slots whose deadline the jump swallowed are skipped
/// rather than reported as missed (cron treats such jumps as corrections). True if it changed.
bool realign_after_clock_jump(const MonitorConfig& config, MonitorState& state, Instant now);

/// The single nearest instant at which evaluate(TimeInput) would do something, if any.
std::optional<Instant> next_deadline(const MonitorConfig& config, const MonitorState& state);

}  // namespace cronitor::agent
