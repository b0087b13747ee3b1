// An address a local server listens on (prometheus.listen, dashboard.listen): parsed where the
// config is checked and where the server binds, so it lives below both.
#pragma once

#include <sys/socket.h>

#include <string>

#include "common/error.h"

namespace cronitor {

/// An address to listen on: "127.0.0.1:9321", "[::1]:9321", "0.0.0.0:9321", "[::]:9321" or
/// "localhost:9321" (127.0.0.1). Literal addresses only: a config check never waits on DNS.
struct ListenAddress {
  sockaddr_storage addr{};
  socklen_t len = 0;
  /// 127.0.0.0/8 or ::1: only this host can connect.
  bool loopback() const;
};
[[nodiscard]] Result<ListenAddress> parse_listen_address(const std::string& text);

}  // namespace cronitor
