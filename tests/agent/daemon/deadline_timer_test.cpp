// The deadline timer (agent/daemon/deadline_timer.h) without the daemon: armed on a simulated
// clock it fires once at its instant when the clock is moved (as time passing would); armed with
// no deadline it is off; re-armed it fires at the new instant only; on the real clock the loop
// fires it when its time comes.
#include "agent/daemon/deadline_timer.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/agent/eval_helpers.h"
#include "tests/support/sd_loop.h"

namespace cronitor::agent {
namespace {

using namespace std::chrono_literals;
using cronitor::agent::testing::at;

TEST(DeadlineTimer, FiresOnceAtItsInstantInSimulatedTime) {
  cronitor::testing::SdLoop loop;
  const Instant start = at("2026-03-01T00:00:00Z");
  Instant real = at("2026-01-01T00:00:00Z");
  Clock clock = Clock::simulated(start, [&] { return real; });
  std::vector<Instant> fired;
  DeadlineTimer timer{clock, {.due = [&] { fired.push_back(clock.now()); }, .clock_jumped = [] {}}};
  timer.arm(start + 10min);  // before attach(): nothing to arm, no crash
  timer.attach(loop.ev);
  timer.arm(std::nullopt);
  const ClockTimer timers[] = {timer.timer()};
  EXPECT_EQ(advance_timers(clock, start + 1h, timers), 0u) << "no deadline: off";

  timer.arm(clock.now() + 10min);
  timer.arm(clock.now() + 20min);  // the nearest deadline moved: the timer follows
  EXPECT_EQ(advance_timers(clock, start + 3h, timers), 1u);
  ASSERT_EQ(fired, std::vector<Instant>{start + 1h + 20min});
  timer.arm(std::nullopt);
  EXPECT_EQ(advance_timers(clock, start + 5h, timers), 0u);
}

TEST(DeadlineTimer, OnTheRealClockTheLoopFiresItWhenItsTimeComes) {
  cronitor::testing::SdLoop loop;
  Clock clock;
  int due = 0;
  DeadlineTimer timer{clock, {.due = [&] { ++due; }, .clock_jumped = [] {}}};
  timer.attach(loop.ev);
  timer.watch_clock_jumps(loop.ev);
  timer.arm(clock.now() + 20ms);
  ASSERT_TRUE(loop.run_until([&] { return due > 0; }));
  loop.dispatch_ready();
  EXPECT_EQ(due, 1) << "oneshot";
}

}  // namespace
}  // namespace cronitor::agent
