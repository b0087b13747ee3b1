// anacron as a root of the process events' trees (issue 21): the anacron processes that run now,
// found by a scan of /proc (an anacron started before the agent, by anacron.service or by cron's
// /etc/cron.d/anacron line). The agent's connector only opens in the host's pid namespace, so these
// pids are the host's; a container's anacron is not this host's and does not run as uid 0 here
// unless the container shares the host's pid namespace.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace cronitor::agent {

/// The pids of the anacron processes running now (uid 0, argv[0] `.../anacron`), in pid order.
std::vector<pid_t> running_anacrons(const std::string& proc = "/proc");

}  // namespace cronitor::agent
