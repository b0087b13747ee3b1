// Is the cron daemon alive? The live pid behind /run/crond.pid (under the discovery root) when
// that file exists; without it, on the host itself (root "/"), a process named cron or crond
// that is not a per-job child of the daemon (argv[0] "CRON", or a cron parent).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "agent/eval/evaluator.h"

namespace cronitor::agent {

/// `root`/run/crond.pid: "/run/crond.pid" for root "/".
std::string cron_pid_file(const std::string& root);
/// The pid cron_pid_file(root) names, when it holds one (1 to 4194304, the kernel's largest
/// pid_max): the one reader of cron's pid file.
std::optional<pid_t> read_cron_pid(const std::string& root);

/// Looks at `root`/run/crond.pid and, for root "/", at /proc; `host` names this machine in the
/// observation. When cron runs, `*pid` (if given) is its pid, else 0.
CronObservation observe_cron(const std::string& root, Instant now, const std::string& host, pid_t* pid = nullptr);

}  // namespace cronitor::agent
