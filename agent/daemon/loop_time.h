// Times as the daemon's sd-event timers take them.
#pragma once

#include <chrono>
#include <cstdint>

#include "schedule/zone.h"

namespace cronitor::agent {

using schedule::Instant;

/// `t` as the microseconds of CLOCK_REALTIME that sd-event timers take (1 at the least: 0 would be
/// "now" for some callers).
inline uint64_t to_realtime_usec(Instant t) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  return us <= 0 ? 1 : static_cast<uint64_t>(us);
}

}  // namespace cronitor::agent
