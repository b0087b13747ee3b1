// Who holds the connections of /metrics and the dashboard (agent/control/http_admission.h): all of
// loopback is one source, late headers are cut, and a newcomer takes a slow connection's place.
#include "agent/control/http_admission.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

namespace cronitor::agent {
namespace {

std::string peer_source(const char* ip) {
  sockaddr_in6 a6{};
  sockaddr_in a4{};
  if (::inet_pton(AF_INET, ip, &a4.sin_addr) == 1) {
    a4.sin_family = AF_INET;
    return HttpAdmission::source_of(reinterpret_cast<sockaddr*>(&a4), sizeof a4);
  }
  EXPECT_EQ(::inet_pton(AF_INET6, ip, &a6.sin6_addr), 1) << ip;
  a6.sin6_family = AF_INET6;
  return HttpAdmission::source_of(reinterpret_cast<sockaddr*>(&a6), sizeof a6);
}

TEST(HttpAdmission, AllOfLoopbackIsOneSource) {
  for (const char* ip : {"127.0.0.1", "127.0.0.2", "127.255.1.4", "::1", "::ffff:127.0.0.3"})
    EXPECT_EQ(peer_source(ip), "loopback") << ip;
  EXPECT_EQ(peer_source("10.0.0.7"), "10.0.0.7");
  EXPECT_EQ(peer_source("::ffff:10.0.0.7"), "10.0.0.7");
  EXPECT_EQ(peer_source("2001:db8:1:2:aaaa::1"), peer_source("2001:db8:1:2:bbbb::9"));
  EXPECT_NE(peer_source("2001:db8:1:2::1"), peer_source("2001:db8:1:3::1"));
}

constexpr uint64_t kMsUs = 1000;

TEST(HttpAdmission, SlowConnectionsFromManyLoopbackAddressesLeaveRoomForAnHonestScrape) {
  HttpAdmission adm({16, 8, 2000 * kMsUs, 250 * kMsUs});
  // 24 slow connections from 127.0.0.2-4 at t = 0..23 ms: 8 are taken (one source), the rest only
  // in place of one old enough to judge (none yet).
  HttpAdmission::Id next = 1;
  size_t taken = 0;
  for (int i = 0; i < 24; ++i) {
    auto v = adm.admit("loopback", i * kMsUs);
    if (v.admit) adm.opened(next++, "loopback", i * kMsUs), ++taken;
  }
  EXPECT_EQ(taken, 8u);
  EXPECT_EQ(adm.open(), 8u);
  // A remote Prometheus finds its own room.
  EXPECT_TRUE(adm.admit("10.0.0.7", 30 * kMsUs).admit);
  adm.opened(100, "10.0.0.7", 30 * kMsUs);
  adm.request(100, 31 * kMsUs);
  adm.completed(100, 32 * kMsUs);
  adm.closed(100);
  // An honest local scrape 300 ms later takes the place of the oldest slow one, and is answered.
  auto v = adm.admit("loopback", 300 * kMsUs);
  ASSERT_TRUE(v.admit);
  ASSERT_TRUE(v.evict);
  EXPECT_EQ(*v.evict, 1u);
  adm.closed(*v.evict);
  adm.opened(200, "loopback", 300 * kMsUs);
  adm.request(200, 300 * kMsUs + 200);
  // The slow ones are cut when their headers are 2 s late; the honest one, being answered, is not.
  EXPECT_EQ(adm.next_deadline(), 2000 * kMsUs + 1 * kMsUs);
  auto cut = adm.expired(2100 * kMsUs);
  EXPECT_EQ(cut.size(), 7u);
  for (auto id : cut) EXPECT_NE(id, 200u);
  EXPECT_TRUE(adm.expired(2100 * kMsUs).empty()) << "each is told once";
  for (auto id : cut) adm.closed(id);
  EXPECT_EQ(adm.open(), 1u);
  EXPECT_FALSE(adm.next_deadline());
}

TEST(HttpAdmission, YoungConnectionsAreNotEvictedAndTheTotalHolds) {
  HttpAdmission adm({4, 2, 2000 * kMsUs, 250 * kMsUs});
  for (HttpAdmission::Id id = 1; id <= 2; ++id) {
    ASSERT_TRUE(adm.admit("loopback", 0).admit);
    adm.opened(id, "loopback", 0);
  }
  EXPECT_FALSE(adm.admit("loopback", 100 * kMsUs).admit) << "too young to judge: the newcomer waits";
  for (HttpAdmission::Id id = 3; id <= 4; ++id) {
    ASSERT_TRUE(adm.admit("10.0.0." + std::to_string(id), 0).admit);
    adm.opened(id, "10.0.0." + std::to_string(id), 0);
  }
  // Full in total: a new source takes the place of the one that waited longest, of any source.
  auto v = adm.admit("10.0.0.9", 500 * kMsUs);
  ASSERT_TRUE(v.admit);
  EXPECT_TRUE(v.evict);
  // A connection being answered is cut only when its answer is read too slowly (2 s).
  HttpAdmission busy({1, 1, 2000 * kMsUs, 250 * kMsUs});
  ASSERT_TRUE(busy.admit("loopback", 0).admit);
  busy.opened(1, "loopback", 0);
  busy.request(1, 10 * kMsUs);
  EXPECT_FALSE(busy.admit("loopback", 1000 * kMsUs).admit);
  EXPECT_TRUE(busy.expired(5000 * kMsUs).empty()) << "MHD's idle timeout ends a stalled answer";
  auto slow = busy.admit("loopback", 2100 * kMsUs);
  EXPECT_TRUE(slow.admit);
  EXPECT_EQ(slow.evict, HttpAdmission::Id{1});
}

}  // namespace
}  // namespace cronitor::agent
