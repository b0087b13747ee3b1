// absorb_unobserved_slot (agent/eval/unobserved_slot.h): a slot that came while the kernel dropped
// process events, with no run seen since, is neither told as missed nor recorded as a run (issue
// 21: "never as a false failure or a false miss"); a slot outside the gap, or one whose run was
// seen, still counts as before. Time is an input.
#include "agent/eval/unobserved_slot.h"

#include <gtest/gtest.h>

#include "tests/agent/eval_helpers.h"

namespace cronitor::agent {
namespace {

using testing::at;
using testing::Sim;

bool missed(const Actions& actions) {
  for (const auto& a : actions)
    if (a.alert.kind == Alert::Kind::kMissed) return true;
  return false;
}

TEST(UnobservedSlot, ASlotInsideTheGapIsNoMissAndTheNextStillIs) {
  const Instant t0 = at("2026-03-01T10:00:00Z");
  Sim sim(testing::monitor("gap", "*/5 * * * *", "UTC", 60), t0);
  ASSERT_EQ(sim.state.expected, at("2026-03-01T10:05:00Z"));
  // Events dropped from 10:04:59.990 to 10:05:00.300: the 10:05 run may have come and gone.
  ASSERT_TRUE(
      absorb_unobserved_slot(sim.config, sim.state, at("2026-03-01T10:04:59.990Z"), at("2026-03-01T10:05:00.300Z")));
  EXPECT_EQ(sim.state.expected, at("2026-03-01T10:10:00Z"));
  EXPECT_FALSE(sim.state.last_start) << "no run was recorded: none was seen";
  sim.tick(at("2026-03-01T10:08:00Z"));
  EXPECT_FALSE(missed(sim.all)) << "the unobserved slot was told as missed";
  // The next slot, outside any gap, is a miss as before.
  sim.tick(at("2026-03-01T10:12:00Z"));
  EXPECT_TRUE(missed(sim.all));
}

TEST(UnobservedSlot, OutsideTheGapOrWithItsRunSeenNothingChanges) {
  const Instant t0 = at("2026-03-01T10:00:00Z");
  Sim sim(testing::monitor("gap", "*/5 * * * *", "UTC", 60), t0);
  // A gap a minute before the slot: the slot is still awaited, and missed if no run comes.
  EXPECT_FALSE(absorb_unobserved_slot(sim.config, sim.state, at("2026-03-01T10:03:00Z"), at("2026-03-01T10:03:01Z")));
  EXPECT_EQ(sim.state.expected, at("2026-03-01T10:05:00Z"));
  sim.tick(at("2026-03-01T10:07:00Z"));
  EXPECT_TRUE(missed(sim.all));
  // A run seen in the gap: its slot is its own, not unobserved.
  Sim seen(testing::monitor("seen", "*/5 * * * *", "UTC", 60), t0);
  seen.send(testing::event("seen", "r1", RunEvent::State::kRun, at("2026-03-01T10:05:00.100Z")));
  const auto expected = seen.state.expected;
  EXPECT_FALSE(
      absorb_unobserved_slot(seen.config, seen.state, at("2026-03-01T10:05:00Z"), at("2026-03-01T10:05:00.300Z")));
  EXPECT_EQ(seen.state.expected, expected);
}

}  // namespace
}  // namespace cronitor::agent
