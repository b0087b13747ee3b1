// Which schedule syntax a monitor's `schedule:` string is in.
#pragma once

#include <chrono>
#include <string_view>

#include "common/error.h"
#include "schedule/schedule.h"

namespace cronitor::agent {

/// Parses a monitor schedule: cron (extended dialect, with "every 10 minutes" and "at 13:37"),
/// else systemd OnCalendar=. The error is the cron parser's unless the text looks like OnCalendar.
[[nodiscard]] Result<schedule::Schedule> parse_monitor_schedule(std::string_view text);

/// An interval schedule of `period` written "every N days|hours|minutes|seconds" in the largest
/// unit that divides it (the text status shows). Fails for a period under 1 s or too long.
[[nodiscard]] Result<schedule::Schedule> interval_schedule(std::chrono::seconds period);

}  // namespace cronitor::agent
