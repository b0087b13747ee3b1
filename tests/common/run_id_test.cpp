// common/run_id.h: the ids of runs are UUIDs of version 7 (RFC 9562, section 5.7): the Unix time in
// milliseconds in the first 48 bits, so that later ids sort later, and random bits after it.
#include "common/run_id.h"

#include <gtest/gtest.h>
#include <time.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "common/event.h"

namespace cronitor {
namespace {

int64_t now_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

/// The 48-bit time field of an id: its first 12 hex digits.
int64_t time_of(const std::string& id) { return std::stoll(id.substr(0, 8) + id.substr(9, 4), nullptr, 16); }

TEST(RunId, IsALowercaseUuidOfVersion7AndTheRfcsVariant) {
  for (int i = 0; i < 1000; ++i) {
    const std::string id = new_run_id();
    ASSERT_EQ(id.size(), 36u) << id;
    EXPECT_TRUE(valid_run_id(id)) << id;  // what the agent's decoder and the spool take
    EXPECT_EQ(id[14], '7') << id;
    EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;
  }
}

TEST(RunId, CarriesItsMillisecondBigEndianInTheFirst48Bits) {
  EXPECT_EQ(new_run_id(0x0123456789ab).substr(0, 15), "01234567-89ab-7");
  EXPECT_EQ(new_run_id(1).substr(0, 15), "00000000-0001-7");
  EXPECT_EQ(new_run_id(-5).substr(0, 15), "00000000-0000-7");  // clamped, not wrapped
  EXPECT_EQ(new_run_id(int64_t{1} << 50).substr(0, 15), "ffffffff-ffff-7");
  const int64_t before = now_ms();
  const std::string id = new_run_id();
  const int64_t after = now_ms();
  EXPECT_GE(time_of(id), before) << id;
  EXPECT_LE(time_of(id), after) << id;
}

TEST(RunId, ALaterMillisecondSortsLater) {
  // What keeps state.db's run_id index appending: text order is time order across every byte.
  const std::vector<int64_t> times = {
      0, 1, 255, 256, 65535, 65536, int64_t{1} << 32, 1796631074397, 1796631074398, (int64_t{1} << 48) - 1};
  for (int round = 0; round < 100; ++round) {
    std::vector<std::string> ids;
    for (int64_t t : times) ids.push_back(new_run_id(t));
    EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end())) << ids[0] << " ... " << ids.back();
  }
}

TEST(RunId, IdsOfOneMillisecondDifferInTheirRandomBits) {
  std::set<std::string> seen;
  uint64_t ones[20] = {}, zeros[20] = {};  // per hex digit after the time: bits seen set and clear
  constexpr int kIds = 20000;
  for (int i = 0; i < kIds; ++i) {
    const std::string id = new_run_id(1796631074397);
    ASSERT_TRUE(seen.insert(id).second) << "repeated: " << id;
    const std::string tail = id.substr(14, 4) + id.substr(19, 4) + id.substr(24);  // 20 hex digits
    for (size_t d = 0; d < tail.size(); ++d) {
      const int v = std::stoi(tail.substr(d, 1), nullptr, 16);
      ones[d] |= static_cast<uint64_t>(v);
      zeros[d] |= static_cast<uint64_t>(~v & 15);
    }
  }
  // Every bit the version and variant leave random took both values (digit 0 is the version,
  // digit 4's top two bits the variant).
  for (int d = 0; d < 20; ++d) {
    uint64_t fixed = d == 0 ? 15 : d == 4 ? 12 : 0;
    EXPECT_EQ((ones[d] | fixed) & 15, 15u) << "hex digit " << d << " after the time never had some bit set";
    EXPECT_EQ((zeros[d] | fixed) & 15, 15u) << "hex digit " << d << " after the time never had some bit clear";
  }
}

}  // namespace
}  // namespace cronitor
