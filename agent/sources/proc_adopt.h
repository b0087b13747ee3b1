// After the kernel dropped process events (ENOBUFS), a job cron started in the gap has no fork
// seen, and would be a false miss. Its processes are still in /proc: read there, parents first, for
// ProcessTracker to replay (fork, then exec when the process runs another program than its parent).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "agent/sources/proc_events.h"

namespace cronitor::agent {

/// A process of cron's trees the tracker does not follow.
struct LostFork {
  pid_t parent = 0, pid = 0;
  int64_t start_ns = 0;           // its start on CLOCK_MONOTONIC (from /proc, to a clock tick)
  std::optional<ExecFacts> exec;  // set when it runs another program than its parent did
};

/// What one read of cron's trees in /proc found.
struct LostForks {
  std::vector<LostFork> forks;  // parents first
  /// When the youngest process left out (started too near `before_ns` to tell whether its fork
  /// event is still queued) can be judged (CLOCK_MONOTONIC); 0 when none was left out. The caller
  /// reads again then: a job started just before the read would otherwise never be adopted.
  int64_t judge_again_ns = 0;
};

/// The processes under `roots` (in /proc now) that `follows` says are not followed and that started
/// before `before_ns` (CLOCK_MONOTONIC: the drain that read what the kernel had queued; a younger
/// process's events are still to come). Those followed are descended into.
LostForks lost_forks(std::span<const pid_t> roots, const std::function<bool(pid_t)>& follows, int64_t before_ns);

}  // namespace cronitor::agent
