// Client side of the agent socket protocol (common/event.h): one connection, one event line,
// an "ok\n" reply, all within a few milliseconds or not at all.
#pragma once

#include <string>
#include <string_view>

#include "common/error.h"

namespace cronitor::wrapper {

/// Sends one encoded event line to the agent listening on `socket_path` and waits for its
/// acknowledgement, giving up after `timeout_us` microseconds in all. Never blocks longer.
Result<void> send_to_agent(const std::string& socket_path, std::string_view line,
                           long timeout_us);

}  // namespace cronitor::wrapper
