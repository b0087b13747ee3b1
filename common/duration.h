// Human durations as users write them in agent.yaml and crontab comments: "8 hours", "10m", "90".
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/error.h"

namespace cronitor {

/// Parses "30 minutes", "8 hours", "10m", "2h", "1h30m", "45s", "1.5h", "2 days", "1w" or a bare
/// number of seconds. Errors say which part was not understood.
[[nodiscard]] Result<std::chrono::seconds> parse_duration(std::string_view text);

/// "2h 5m", "45s", "3d 4h": the short form, for alerts and tables.
std::string format_duration(std::chrono::seconds d);

}  // namespace cronitor
