// What SystemdWatch reads besides the bus: the clocks, OOM kill counters and the journal. Plain
// functions, so that unit tests of the timer logic replace them (tests/agent/sources/systemd_watch_test.cpp).
#pragma once

#include <systemd/sd-event.h>
#include <systemd/sd-journal.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/error.h"

namespace cronitor::agent {

/// A v1 memory cgroup's OOM notifications, as its eventfd counted them: each one read while the
/// cgroup still existed is an OOM; once it is gone, its removal notifies exactly once (the
/// kernel's memcg_event_remove), so any more than one read after that are OOMs read late.
struct OomNotifications {
  uint64_t while_there = 0;
  uint64_t once_gone = 0;
  /// The OOMs these tell for sure (an OOM read late, before the removal's note came, is not told).
  uint64_t ooms() const { return while_there + (once_gone > 1 ? once_gone - 1 : 0); }
};

struct SystemdHost {
  std::function<uint64_t()> realtime_usec;   ///< CLOCK_REALTIME, µs
  std::function<uint64_t()> monotonic_usec;  ///< CLOCK_MONOTONIC, µs
  /// The `oom_kill` count of a unit's memory cgroup (its ControlGroup property): v1
  /// memory.oom_control or v2 memory.events. An error when the cgroup is gone or has no counter.
  std::function<Result<uint64_t>(const std::string& control_group)> cgroup_oom_kills;
  /// Starts counting a v1 memory cgroup's OOM notifications (an eventfd registered through its
  /// cgroup.event_control, followed on the event loop at a priority above the bus's, so that an
  /// OOM is read before the manager's word of the run's end): the returned function says how many
  /// came while the cgroup existed and how many after it was gone. An error where there is no v1
  /// memory cgroup to watch.
  std::function<Result<std::function<OomNotifications()>>(const std::string& control_group)> watch_oom;
  /// The kernel's count of OOM kills in any cgroup (/proc/vmstat oom_kill).
  std::function<std::optional<uint64_t>()> system_oom_kills;
  /// The last `lines` lines an invocation wrote to the journal, oldest first ("" if none).
  std::function<std::string(const std::string& invocation_id, size_t lines)> journal_tail;

  /// The real ones: the system's clocks, /sys/fs/cgroup, /proc/vmstat, the local journal; OOM
  /// notifications are followed on `ev`.
  static SystemdHost real(sd_event* ev);
};

/// The `oom_kill` count of `control_group` under `cgroup_root` (v1 memory hierarchy first, then v2).
[[nodiscard]] Result<uint64_t> read_cgroup_oom_kills(const std::string& cgroup_root, const std::string& control_group);

/// watch_oom under `cgroup_root`, on `ev`.
[[nodiscard]] Result<std::function<OomNotifications()>> watch_cgroup_oom(sd_event* ev, const std::string& cgroup_root,
                                                                         const std::string& control_group);

/// journal_tail over an open journal: the MESSAGE of the last entries of that invocation (by
/// _SYSTEMD_INVOCATION_ID, or USER_INVOCATION_ID for a user manager's units), at most `lines`
/// lines and 4 KiB, oldest first, each ending in "\n".
std::string journal_tail_of(sd_journal* j, const std::string& invocation_id, size_t lines);

}  // namespace cronitor::agent
