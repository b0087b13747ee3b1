// Is the cron daemon alive? The live pid behind /run/crond.pid (under the discovery root) when
// that file exists; without it, on the host itself (root "/"), a process named cron or crond
// that is not a per-job child of the daemon (argv[0] "CRON", or a cron parent).
#pragma once

#include <sys/types.h>

#include <string>

#include "agent/eval/evaluator.h"

namespace cronitor::agent {

/// Looks at `root`/run/crond.pid and, for root "/", at /proc; `host` names this machine in the
/// observation. When cron runs, `*pid` (if given) is its pid, else 0.
CronObservation observe_cron(const std::string& root, Instant now, const std::string& host, pid_t* pid = nullptr);

}  // namespace cronitor::agent
