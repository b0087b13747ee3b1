// The host's own addresses count as one source with loopback (agent/control/local_sources.h): any
// local user reaches /metrics through eth0's address too, and must not get a share per address.
#include "agent/control/local_sources.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include "agent/control/http_admission.h"

namespace cronitor::agent {
namespace {

constexpr uint64_t kSecUs = 1'000'000;

/// The source of a peer at `ip` (IPv4 or IPv6 text).
std::string source(LocalSources& local, const char* ip, uint64_t now_us) {
  sockaddr_in6 a6{};
  sockaddr_in a4{};
  if (::inet_pton(AF_INET, ip, &a4.sin_addr) == 1) {
    a4.sin_family = AF_INET;
    return local.source(reinterpret_cast<sockaddr*>(&a4), sizeof a4, now_us);
  }
  EXPECT_EQ(::inet_pton(AF_INET6, ip, &a6.sin6_addr), 1) << ip;
  a6.sin6_family = AF_INET6;
  return local.source(reinterpret_cast<sockaddr*>(&a6), sizeof a6, now_us);
}

TEST(LocalSources, TheHostsOwnAddressesAreLoopbackOthersKeepTheirSource) {
  std::vector<std::string> own{"127.0.0.1", "10.0.0.5", "172.17.0.1", "fe80::5054:ff:fe12:3456", "2001:db8:1:2::5"};
  LocalSources local([&] { return own; });
  for (const char* ip :
       {"10.0.0.5", "172.17.0.1", "::ffff:10.0.0.5", "fe80::5054:ff:fe12:3456", "2001:db8:1:2::5", "127.0.0.9", "::1"})
    EXPECT_EQ(source(local, ip, 0), "loopback") << ip;
  EXPECT_EQ(source(local, "10.0.0.6", 0), "10.0.0.6");
  // Another host in the same /64 is not this host.
  EXPECT_EQ(source(local, "2001:db8:1:2::6", 0), "2001:db8:1:2::/64");
}

TEST(LocalSources, AnUnknownAddressListsTheHostsAgainAtMostOncePerFewSeconds) {
  std::vector<std::string> own{"10.0.0.5"};
  size_t listed = 0;
  LocalSources local(
      [&] {
        ++listed;
        return own;
      },
      5 * kSecUs);
  EXPECT_EQ(source(local, "10.0.0.5", 0), "loopback");
  EXPECT_EQ(listed, 1u);
  // Known addresses and loopback cost no listing; a flood of remote peers one per 5 s.
  for (uint64_t t = 0; t < 4 * kSecUs; t += 1000) {
    EXPECT_EQ(source(local, "10.0.0.5", t), "loopback");
    EXPECT_EQ(source(local, "127.0.0.2", t), "loopback");
    EXPECT_EQ(source(local, "192.0.2.7", t), "192.0.2.7");
  }
  EXPECT_EQ(listed, 1u);
  // An address the host gets later (a new interface) counts as local once listed again.
  own.push_back("192.168.7.1");
  EXPECT_EQ(source(local, "192.168.7.1", 4 * kSecUs), "192.168.7.1") << "too soon after the last listing";
  EXPECT_EQ(source(local, "192.168.7.1", 5 * kSecUs), "loopback");
  EXPECT_EQ(listed, 2u);
}

TEST(LocalSources, SlowConnectionsThroughTheHostsOwnAddressesShareLoopbacksLimit) {
  LocalSources local([] { return std::vector<std::string>{"10.0.0.5", "172.17.0.1"}; });
  HttpAdmission adm({16, 8, 2 * kSecUs, kSecUs / 4});
  // 24 connections, through loopback and both of the host's addresses: 8 are taken, as from one source.
  size_t taken = 0;
  for (int i = 0; i < 24; ++i) {
    const char* ip = i % 3 == 0 ? "127.0.0.2" : i % 3 == 1 ? "10.0.0.5" : "172.17.0.1";
    const std::string s = source(local, ip, static_cast<uint64_t>(i) * 1000);
    if (adm.admit(s, static_cast<uint64_t>(i) * 1000).admit) {
      adm.opened(static_cast<HttpAdmission::Id>(i + 1), s, static_cast<uint64_t>(i) * 1000);
      ++taken;
    }
  }
  EXPECT_EQ(taken, 8u);
}

TEST(LocalSources, TheHostListsItsLoopbackAddress) {
  const auto own = LocalSources::host_addresses();
  EXPECT_NE(std::find(own.begin(), own.end(), "127.0.0.1"), own.end());
}

}  // namespace
}  // namespace cronitor::agent
