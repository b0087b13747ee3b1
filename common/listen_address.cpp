#include "common/listen_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdint>
#include <cstring>
#include <string_view>

namespace cronitor {
namespace {

bool parse_port(std::string_view s, uint16_t& port) {
  if (s.empty() || s.size() > 5) return false;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v < 1 || v > 65535) return false;
  port = static_cast<uint16_t>(v);
  return true;
}

}  // namespace

bool ListenAddress::loopback() const {
  if (addr.ss_family == AF_INET)
    return (ntohl(reinterpret_cast<const sockaddr_in*>(&addr)->sin_addr.s_addr) >> 24) == 127;
  if (addr.ss_family == AF_INET6) return IN6_IS_ADDR_LOOPBACK(&reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_addr);
  return false;
}

Result<ListenAddress> parse_listen_address(const std::string& text) {
  ListenAddress out;
  std::string host;
  std::string_view port_text;
  if (text.starts_with('[')) {
    const auto close = text.find("]:");
    if (close == std::string::npos) return fail("expected [IPV6]:PORT, e.g. [::1]:9321");
    host = text.substr(1, close - 1);
    port_text = std::string_view(text).substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) return fail("expected HOST:PORT, e.g. 127.0.0.1:9321");
    host = text.substr(0, colon);
    if (host.find(':') != std::string::npos) return fail("an IPv6 address goes in brackets, e.g. [::1]:9321");
    port_text = std::string_view(text).substr(colon + 1);
  }
  uint16_t port = 0;
  if (!parse_port(port_text, port)) return fail("the port must be a number from 1 to 65535");
  if (host == "localhost") host = "127.0.0.1";
  sockaddr_in v4{};
  sockaddr_in6 v6{};
  if (::inet_pton(AF_INET, host.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(port);
    std::memcpy(&out.addr, &v4, sizeof v4);
    out.len = sizeof v4;
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(port);
    std::memcpy(&out.addr, &v6, sizeof v6);
    out.len = sizeof v6;
  } else {
    return fail("\"" + host + "\" is not an IP address (write 127.0.0.1, [::1], 0.0.0.0 or localhost; no DNS names)");
  }
  return out;
}

}  // namespace cronitor
