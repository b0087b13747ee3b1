// systemd time spans as unit files write them (systemd.time(7)): "15min", "1h 30min", "2d", "90", "1.5h".
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.h"

namespace cronitor::agent {

/// Parses a systemd time span: numbers with units (usec/us, msec/ms, s/sec/second(s), m/min/minute(s),
/// h/hr/hour(s), d/day(s), w/week(s), M/month(s) = 30.44 days, y/year(s) = 365.25 days), summed; a bare
/// number is seconds. Sub-second remainders round up to a whole second. At most 256 characters and
/// ten years; anything else is an error naming the part not understood.
[[nodiscard]] Result<std::chrono::seconds> parse_systemd_timespan(std::string_view text);

/// A time span in microseconds as a unit file writes it: "5s", "250ms", "7us" (the largest whole unit).
std::string systemd_timespan_text(uint64_t usec);

}  // namespace cronitor::agent
