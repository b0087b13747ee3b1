#include "agent/sources/proc_adopt.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "agent/sources/host_facts.h"

namespace cronitor::agent {
namespace {

int64_t clock_ns(clockid_t id) {
  timespec t{};
  ::clock_gettime(id, &t);
  return static_cast<int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

}  // namespace

LostForks lost_forks(std::span<const pid_t> roots, const std::function<bool(pid_t)>& follows, int64_t before_ns) {
  // One pass over /proc: the live children of every process, with their starts.
  std::map<pid_t, std::vector<std::pair<pid_t, uint64_t>>> children;
  for (pid_t pid : proc_pids())
    if (auto st = read_proc_stat(pid); st && st->alive()) children[st->ppid].emplace_back(pid, st->start_ticks);
  // /proc's starts count from boot (CLOCK_BOOTTIME); the kernel's events are on CLOCK_MONOTONIC.
  const int64_t boot_to_mono = clock_ns(CLOCK_BOOTTIME) - clock_ns(CLOCK_MONOTONIC);
  const long hz = ::sysconf(_SC_CLK_TCK);
  const int64_t tick_ns = hz > 0 ? 1'000'000'000 / hz : 10'000'000;
  LostForks out;
  std::deque<pid_t> todo(roots.begin(), roots.end());
  while (!todo.empty()) {
    const pid_t parent = todo.front();
    todo.pop_front();
    auto it = children.find(parent);
    if (it == children.end()) continue;
    std::optional<std::pair<std::vector<std::string>, std::string>> parent_program;  // read once, if needed
    for (const auto& [pid, ticks] : it->second) {
      todo.push_back(pid);
      if (follows(pid)) continue;
      const int64_t start_ns = static_cast<int64_t>(ticks) * tick_ns - boot_to_mono;
      if (start_ns + tick_ns >= before_ns) {  // its fork may still be queued: judge it when it cannot be
        out.judge_again_ns = std::max(out.judge_again_ns, start_ns + 2 * tick_ns);  // a tick past the doubt
        continue;
      }
      LostFork f{parent, pid, start_ns, std::nullopt};
      if (!parent_program) parent_program.emplace(proc_cmdline(parent), proc_exe(parent));
      if (proc_cmdline(pid) != parent_program->first || proc_exe(pid) != parent_program->second)
        f.exec = read_exec_facts(pid);
      out.forks.push_back(std::move(f));
    }
  }
  return out;
}

}  // namespace cronitor::agent
