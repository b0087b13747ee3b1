#include "agent/sources/anacron_roots.h"

#include <algorithm>

#include "agent/sources/host_facts.h"
#include "agent/sources/process_tracker.h"

namespace cronitor::agent {

std::vector<pid_t> running_anacrons(const std::string& proc) {
  std::vector<pid_t> out;
  for (pid_t pid : proc_pids(proc)) {
    // The kernel's name first (one short read): only anacron's argv and owner are read then.
    auto stat = read_proc_stat(pid);
    if (!stat || !stat->alive() || stat->comm != "anacron") continue;
    auto uid = proc_uid(pid);
    if (uid && is_anacron(proc_cmdline(pid, 4), *uid)) out.push_back(pid);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace cronitor::agent
