// Which schedule syntax a monitor's `schedule:` string is in.
#pragma once

#include <string_view>

#include "common/error.h"
#include "schedule/schedule.h"

namespace cronitor::agent {

/// Parses a monitor schedule: cron (extended dialect, with "every 10 minutes" and "at 13:37"),
/// else systemd OnCalendar=. The error is the cron parser's unless the text looks like OnCalendar.
[[nodiscard]] Result<schedule::Schedule> parse_monitor_schedule(std::string_view text);

}  // namespace cronitor::agent
