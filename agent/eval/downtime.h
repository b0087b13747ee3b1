// Downtime: the time the agent could not watch because the host was off, or the agent itself was
// stopped. Slots that fell inside it are no missed runs of the jobs: they are told once, in one
// host-level notice that lists the jobs ("N runs were due while the host was down (from T1 to
// T2)"). Pure: the caller gives the boot time, the agent's last-seen time and "now".
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "agent/eval/evaluator.h"
#include "agent/eval/monitor.h"

namespace cronitor::agent {

/// A stretch of time the agent could not watch.
struct DowntimeWindow {
  enum class Cause {
    kHostDown,      // between the agent's last sign of life (or the shutdown) and the kernel's boot
    kAgentStopped,  // the host ran but the agent did not
  };
  Cause cause = Cause::kAgentStopped;
  Instant from{};
  Instant to{};
};

/// The windows behind an agent that starts at `now` on a host that booted at `boot`, with the
/// host state of its previous run (last_seen, shutdown_at). Windows shorter than `min_gap` are
/// no downtime (a restart takes a moment). Empty when the state has never seen the agent run.
std::vector<DowntimeWindow> downtime_windows(const HostState& host, Instant boot, Instant now,
                                             std::chrono::seconds min_gap = std::chrono::seconds(60));

/// The slots of one monitor that the window swallowed.
struct SkippedSlots {
  int count = 0;
  bool more = false;  // stopped counting at the loop bound: "more than count"
  Instant first{}, last{};
};

/// Moves the monitor past the slots due inside `w`: they are neither missed nor counted toward
/// its tolerances. A slot whose deadline had passed before the window began is left alone (the
/// agent was running then: that one is a real miss).
SkippedSlots skip_downtime(const MonitorConfig& config, MonitorState& state, const DowntimeWindow& w);

/// One job's share of a window, for the notice.
struct DowntimeJob {
  std::string name;
  SkippedSlots slots;
  schedule::Zone zone = schedule::Zone::utc();
};

/// The one notice for a window (key "host:downtime"), or none when no slot fell inside it.
std::optional<Action> downtime_notice(const DowntimeWindow& w, const std::vector<DowntimeJob>& jobs,
                                      const std::string& host);

/// skip_downtime for every monitor, then the notice when `alert` is set. Incidents opened inside
/// a host-down window (by the shutdown) are closed silently. `changed` receives the indexes of
/// the monitors whose state moved.
Actions evaluate_downtime(std::span<const MonitorConfig> configs, std::span<MonitorState> states,
                          const DowntimeWindow& w, const std::string& host, bool alert,
                          std::vector<uint32_t>* changed = nullptr);

/// The notice that ends a snooze (key "host:snooze"): the incidents still open, or none.
struct OpenIncident {
  std::string name;
  Incident incident;
};
std::optional<Action> snooze_end_notice(Instant at, Instant since, const std::string& reason,
                                        const std::vector<OpenIncident>& open, const std::string& host);

}  // namespace cronitor::agent
