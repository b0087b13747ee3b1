#include "agent/sources/anacron_roots.h"

#include <algorithm>
#include <charconv>
#include <filesystem>

#include "agent/sources/host_facts.h"
#include "agent/sources/process_tracker.h"

namespace cronitor::agent {

std::vector<pid_t> running_anacrons(const std::string& proc) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(proc, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    pid_t pid = 0;
    auto [p, err] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (err != std::errc() || p != name.data() + name.size() || pid <= 0) continue;
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
