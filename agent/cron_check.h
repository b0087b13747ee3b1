// Is the cron daemon alive? A live pid behind /run/crond.pid (under the discovery root), or any
// process named cron or crond.
#pragma once

#include <string>

#include "agent/evaluator.h"

namespace cronitor::agent {

/// Looks at `root`/run/crond.pid and /proc; `host` names this machine in the observation.
CronObservation observe_cron(const std::string& root, Instant now, const std::string& host);

}  // namespace cronitor::agent
