// LossReport (agent/sources/loss_report.h): the first loss of process events is said in full, the
// next ones at most once a minute as one line that sums them up (issue 21: a fork storm wrote one
// warning per overrun). Time is an input.
#include "agent/sources/loss_report.h"

#include <gtest/gtest.h>

namespace cronitor::agent {
namespace {

constexpr int64_t kSecNs = 1'000'000'000;

TEST(LossReport, FirstLossIsSaidThenOneLineAMinuteSumsUpTheRest) {
  LossReport r;
  const auto first = r.loss(10 * kSecNs, 3, 1);
  ASSERT_TRUE(first);
  EXPECT_EQ(*first,
            "the kernel dropped events (ENOBUFS); 3 followed processes checked in /proc, 1 runs end with their "
            "outcome unknown");
  // Within the minute: held, whatever their number.
  for (int i = 1; i <= 50; ++i) EXPECT_FALSE(r.loss(10 * kSecNs + i * kSecNs, 2, i == 7 ? 1 : 0)) << i;
  // The first loss a minute after the last line: one line for the 51 losses since.
  const auto sum = r.loss(71 * kSecNs, 4, 0);
  ASSERT_TRUE(sum);
  EXPECT_EQ(*sum,
            "the kernel dropped events (ENOBUFS) 51 times in the last 61 s; 104 followed processes checked in /proc, "
            "1 runs end with their outcome unknown (said at most once a minute)");
  EXPECT_FALSE(r.loss(72 * kSecNs, 0, 0));
  // A lone loss long after: said as a first one.
  const auto lone = r.loss(500 * kSecNs, 0, 0);
  ASSERT_TRUE(lone);
  EXPECT_EQ(lone->find("the kernel dropped events (ENOBUFS) 2 times in the last 429 s"), 0u) << *lone;
}

}  // namespace
}  // namespace cronitor::agent
