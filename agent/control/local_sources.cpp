#include "agent/control/local_sources.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <cstring>

#include "agent/control/http_admission.h"

namespace cronitor::agent {

std::optional<std::string> LocalSources::address_text(const sockaddr* addr, socklen_t len) {
  char text[INET6_ADDRSTRLEN] = {};
  if (addr == nullptr) return std::nullopt;
  if (addr->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(addr)->sin_addr, text, sizeof text);
    return text;
  }
  if (addr->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&a)) {
      in_addr v4;
      std::memcpy(&v4, &a.s6_addr[12], 4);
      ::inet_ntop(AF_INET, &v4, text, sizeof text);
    } else {
      ::inet_ntop(AF_INET6, &a, text, sizeof text);
    }
    return text;
  }
  return std::nullopt;
}

std::vector<std::string> LocalSources::host_addresses() {
  std::vector<std::string> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (const ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    const socklen_t len = i->ifa_addr->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    if (auto text = address_text(i->ifa_addr, len)) out.push_back(std::move(*text));
  }
  ::freeifaddrs(list);
  return out;
}

std::string LocalSources::source(const sockaddr* addr, socklen_t len, uint64_t now_us) {
  std::string source = HttpAdmission::source_of(addr, len);
  if (source == "loopback") return source;
  const auto text = address_text(addr, len);
  if (!text) return source;
  if (!own_.contains(*text) && (!listed_us_ || now_us >= *listed_us_ + refresh_us_)) {
    const auto listed = list_();
    own_ = std::set<std::string>(listed.begin(), listed.end());
    listed_us_ = now_us;
    ++listings_;
  }
  return own_.contains(*text) ? "loopback" : source;
}

}  // namespace cronitor::agent
