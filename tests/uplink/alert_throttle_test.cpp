// The per-target rate limit, with a simulated clock.
#include "uplink/alert_throttle.h"

#include <gtest/gtest.h>

#include "tests/agent/eval_helpers.h"

namespace cronitor::uplink {
namespace {

using namespace cronitor::agent;  // the evaluator helpers that build alerts

using namespace std::chrono_literals;
using cronitor::agent::testing::at;

TEST(AlertThrottle, LimitPerTargetThenOneDigestWhenTheWindowEnds) {
  AlertThrottle t(20, 10min);
  const Instant t0 = at("2026-03-01T10:00:00Z");
  int sent_a = 0, sent_b = 0;
  for (int i = 0; i < 57; ++i)
    sent_a += t.admit("slack:A", "job" + std::to_string(i % 7), t0 + std::chrono::seconds(i));
  for (int i = 0; i < 5; ++i) sent_b += t.admit("webhook:B", "job", t0 + std::chrono::seconds(i));
  EXPECT_EQ(sent_a, 20);
  EXPECT_EQ(sent_b, 5);  // another target has its own budget
  EXPECT_EQ(t.held_total(), 37u);
  EXPECT_EQ(t.next_due(), t0 + 10min);
  EXPECT_TRUE(t.take_due(t0 + 10min - 1s).empty());
  auto d = t.take_due(t0 + 10min);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].target, "slack:A");
  EXPECT_EQ(d[0].alert.kind, Alert::Kind::kDigest);
  EXPECT_EQ(d[0].alert.key, "host:alerts");
  EXPECT_EQ(d[0].alert.summary, "37 more alerts suppressed in the last 10 minutes: see `cronitor-agent status`");
  EXPECT_NE(d[0].alert.detail.find("job0, job1, job2, job3, job6, ..."), std::string::npos) << d[0].alert.detail;
  EXPECT_FALSE(t.next_due());
  EXPECT_TRUE(t.take_due(t0 + 1h).empty());                 // once
  EXPECT_TRUE(t.admit("slack:A", "job", t0 + 10min + 1s));  // a new window
}

TEST(AlertThrottle, AWindowThatEndsWhileAlertsComeStillGetsItsDigest) {
  AlertThrottle t(1, 1min);
  const Instant t0 = at("2026-03-01T10:00:00Z");
  EXPECT_TRUE(t.admit("slack:A", "j", t0));
  EXPECT_FALSE(t.admit("slack:A", "j", t0 + 1s));
  EXPECT_FALSE(t.admit("slack:A", "j", t0 + 2s));
  EXPECT_TRUE(t.admit("slack:A", "j", t0 + 2min));  // before anyone asked for the digest
  auto d = t.take_due(t0 + 2min);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].alert.summary, "2 more alerts suppressed in the last 1 minute: see `cronitor-agent status`");
}

TEST(AlertThrottle, EachOwnerHasItsOwnAllowanceAndDigest) {
  // A user's 30 failures on their own keys: root's alert at the same target still goes at once,
  // and root's digest names root's keys only (issue 18, item 2).
  AlertThrottle t(20, 10min);
  const Instant t0 = at("2026-03-01T10:00:00Z");
  int user_sent = 0;
  for (int i = 0; i < 30; ++i) user_sent += t.admit("slack:A", "junk-" + std::to_string(i), t0 + 1s * i, 1001);
  EXPECT_EQ(user_sent, 20);
  EXPECT_TRUE(t.admit("slack:A", "nightly-db-backup", t0 + 31s, 0));
  EXPECT_TRUE(t.admit("slack:A", "bob-report", t0 + 32s, 1002));  // another user too
  for (int i = 0; i < 25; ++i) (void)t.admit("slack:A", "root-" + std::to_string(i % 3), t0 + 40s, 0);
  auto d = t.take_due(t0 + 11min);  // both windows ended (root's began at t0 + 31 s)
  ASSERT_EQ(d.size(), 2u);
  for (const auto& x : d) {
    if (x.owner == 0) {
      EXPECT_EQ(x.alert.summary, "6 more alerts suppressed in the last 10 minutes: see `cronitor-agent status`");
      EXPECT_EQ(x.alert.detail.find("junk-"), std::string::npos) << x.alert.detail;
      EXPECT_NE(x.alert.detail.find("root-0, root-1, root-2"), std::string::npos) << x.alert.detail;
    } else {
      EXPECT_EQ(x.owner, 1001);
      EXPECT_EQ(x.alert.summary,
                "10 more alerts of jobs of uid 1001 suppressed in the last 10 minutes: see `cronitor-agent status`");
    }
  }
}

TEST(AlertThrottle, ZeroMeansNoLimit) {
  AlertThrottle t(0, 10min);
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(t.admit("slack:A", "j", at("2026-03-01T10:00:00Z")));
  EXPECT_FALSE(t.next_due());
}

}  // namespace
}  // namespace cronitor::uplink
