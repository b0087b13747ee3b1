// Which peers of the /metrics and dashboard server are this host itself (http_admission.h counts
// them as one source, "loopback"). Any local user reaches a listener on 0.0.0.0 through every
// address the host owns (eth0's 10.0.0.5, a docker bridge's 172.17.0.1, ...), not only through
// 127.0.0.0/8: counted per address, those would give one user a share of the connections for
// each. The host's addresses are listed again (getifaddrs) when a peer's address is not among
// them, at most once per `refresh_us`: an address added later counts as local within seconds,
// and a flood of remote peers costs one listing per few seconds.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace cronitor::agent {

class LocalSources {
 public:
  /// The host's own addresses, as address_text names them.
  using Lister = std::function<std::vector<std::string>()>;

  explicit LocalSources(Lister list = host_addresses, uint64_t refresh_us = 5'000'000)
      : list_(std::move(list)), refresh_us_(refresh_us) {}

  /// The source `addr` counts under at `now_us`: "loopback" for loopback and for every address
  /// the host owns, else HttpAdmission::source_of's.
  std::string source(const sockaddr* addr, socklen_t len, uint64_t now_us);

  /// `addr`'s address as text ("10.0.0.5", "fe80::1"; an IPv4-mapped IPv6 address as IPv4),
  /// nullopt for another family or a short length.
  static std::optional<std::string> address_text(const sockaddr* addr, socklen_t len);
  /// Every address of the host's interfaces (getifaddrs), up or not.
  static std::vector<std::string> host_addresses();

  size_t listings() const { return listings_; }

 private:
  Lister list_;
  uint64_t refresh_us_;
  std::set<std::string> own_;
  std::optional<uint64_t> listed_us_;  // when the host's addresses were last listed
  size_t listings_ = 0;
};

}  // namespace cronitor::agent
