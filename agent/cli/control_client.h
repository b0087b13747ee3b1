// The command-line side of the control requests: ask the running daemon over its socket.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/error.h"

namespace cronitor::agent {

/// Sends one control request and returns the daemon's JSON reply. Fails with sys_errno
/// ENOENT/ECONNREFUSED when no daemon listens (the caller then reads state.db itself).
[[nodiscard]] Result<nlohmann::json> ask_daemon(const std::string& socket_path, const nlohmann::json& request,
                                                int timeout_ms = 5000);

}  // namespace cronitor::agent
