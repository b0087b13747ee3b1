// The timers a systemd manager has loaded, asked once over the system bus: what `discover` says
// about each timer it found in unit files (observed live, or unobserved and why).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "agent/sources/systemd_watch.h"
#include "common/error.h"

namespace cronitor::agent {

/// Every loaded `*.timer` with its state and schedule as the manager has them (TimersCalendar,
/// TimersMonotonic), or why no manager answers.
[[nodiscard]] Result<std::vector<LiveTimer>> manager_timers(uint64_t timeout_usec = 2'000'000);

}  // namespace cronitor::agent
