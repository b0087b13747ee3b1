// A run the scheduler skips by design: systemd did not start a timer's service because one of
// its Condition*= failed when the timer fired. That is neither a miss (the timer fired on time)
// nor a failure (nothing ran), and it alerts only when the monitor asks for it (alert_on_skip).
// Pure: the daemon applies it (agent/daemon/daemon_timers.cpp).
#pragma once

#include <string>

#include "agent/eval/evaluator.h"

namespace cronitor::agent {

/// What `status` and `history` show for it: "skipped (ConditionPathExists=/x failed)", or
/// "skipped (a condition failed)" when the manager could not say which.
std::string skipped_status(const std::string& condition);

/// The slot the skipped start was due for (and any before it) is served: the monitor waits for
/// the next one, its miss count starts again, its failure and success counts stay. The latest run
/// becomes the skip. A notice when `c.alert_on_skip`; nothing for a removed monitor.
Actions absorb_skip(const MonitorConfig& c, MonitorState& s, Instant at, const std::string& condition);

}  // namespace cronitor::agent
