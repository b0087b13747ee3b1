// Assertions (`assertions:` in agent.yaml, "metric.duration < 30 minutes"): parsed, and judged
// against a run's metric. (Split from the Duration tests, which moved to tests/common/.)
#include "agent/eval/assertion.h"

#include <gtest/gtest.h>

#include <string>

namespace cronitor::agent {
namespace {

TEST(Assertion, ParsesAndEvaluates) {
  auto a = Assertion::parse("metric.duration < 30 minutes");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->metric, "duration");
  EXPECT_EQ(a->value, 1800);
  EXPECT_EQ(a->max_runtime(), std::chrono::milliseconds(1800000));
  EXPECT_TRUE(a->holds(10));
  EXPECT_FALSE(a->holds(1800));
  auto b = Assertion::parse("metric.error_count == 0");
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->max_runtime());
  EXPECT_TRUE(b->holds(0));
  for (const char* op : {"<", "<=", ">", ">=", "==", "!="})
    EXPECT_TRUE(Assertion::parse(std::string("metric.count ") + op + " 3"));
  EXPECT_FALSE(Assertion::parse("duration < 5m"));
  EXPECT_FALSE(Assertion::parse("metric.count ~ 5"));
  EXPECT_FALSE(Assertion::parse("metric.count > lots"));
}

}  // namespace
}  // namespace cronitor::agent
