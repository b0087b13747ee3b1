// The host's quiet times (agent/daemon/quiet_times.h) without the daemon: a loop of its own, a
// simulated clock and the daemon's hooks faked. Moving the clock fires the 60-s heartbeat (each a
// save of the host row) and the snooze's end at its instant, as time passing would; a snooze
// without end arms no timer; logind's shutdown signal makes the host quiet and is recorded.
#include "agent/daemon/quiet_times.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/agent/eval_helpers.h"
#include "tests/support/sd_loop.h"

namespace cronitor::agent {
namespace {

using namespace std::chrono_literals;
using cronitor::agent::testing::at;

class QuietTimesTest : public ::testing::Test {
 protected:
  const Instant start_ = at("2026-03-01T00:00:00Z");
  Instant real_ = at("2026-01-01T00:00:00Z");  // the real clock, standing still
  Clock clock_ = Clock::simulated(start_, [this] { return real_; });
  HostRecord host_;
  cronitor::testing::SdLoop loop_;  // before the part: its sources end first
  int saves_ = 0;
  std::vector<Instant> snooze_due_;  // the clock's now at each snooze end
  QuietTimes quiet_{clock_, host_,
                    QuietTimes::Hooks{
                        .save = [this] { ++saves_; },
                        .snooze_due =
                            [this] {
                              snooze_due_.push_back(clock_.now());
                              host_.state().snoozed_until.reset();  // the daemon ends it
                              quiet_.arm_snooze();
                            },
                    }};

  size_t advance_to(Instant target) {
    const ClockTimer timers[] = {quiet_.snooze_timer(), quiet_.heartbeat_timer()};
    return advance_timers(clock_, target, timers);
  }
};

TEST_F(QuietTimesTest, TheHeartbeatAndTheSnoozeEndFireInSimulatedTime) {
  host_.state().snoozed_until = start_ + 1h;
  quiet_.start(loop_.ev, /*watch_logind=*/false);  // armed for the record's snooze
  EXPECT_TRUE(quiet_.quiet(start_ + 30min));
  EXPECT_FALSE(quiet_.quiet(start_ + 1h));

  const size_t fired = advance_to(start_ + 150min + 30s);
  EXPECT_EQ(saves_, 150) << "one save of the host row a minute";
  EXPECT_TRUE(host_.dirty()) << "the heartbeat marks the row: its write stamps last_seen";
  ASSERT_EQ(snooze_due_.size(), 1u);
  EXPECT_EQ(snooze_due_[0], start_ + 1h) << "at the snooze's end, not at the end of the advance";
  EXPECT_EQ(fired, 151u);
  EXPECT_EQ(clock_.now(), start_ + 150min + 30s);
  EXPECT_FALSE(quiet_.quiet(clock_.now()));
}

TEST_F(QuietTimesTest, ASnoozeWithoutEndArmsNoTimerAndStopEndsTheTimers) {
  host_.state().snoozed_until = Instant::max();
  quiet_.start(loop_.ev, false);
  EXPECT_TRUE(quiet_.quiet(start_ + 10000h));
  advance_to(start_ + 3min + 1s);
  EXPECT_TRUE(snooze_due_.empty());
  EXPECT_EQ(saves_, 3);
  quiet_.stop();
  advance_to(start_ + 1h);
  EXPECT_EQ(saves_, 3) << "stopped: no heartbeat";
}

TEST_F(QuietTimesTest, LogindsShutdownSignalMakesTheHostQuietUntilCancelled) {
  quiet_.start(loop_.ev, false);
  quiet_.on_shutdown_signal(true);
  EXPECT_TRUE(quiet_.shutting_down());
  EXPECT_TRUE(quiet_.quiet(start_));
  EXPECT_EQ(host_.state().shutdown_at, clock_.now());
  EXPECT_EQ(saves_, 1) << "recorded at once";
  quiet_.on_shutdown_signal(true);  // said again: nothing new
  EXPECT_EQ(saves_, 1);
  quiet_.on_shutdown_signal(false);
  EXPECT_FALSE(quiet_.shutting_down());
  EXPECT_FALSE(host_.state().shutdown_at);
  EXPECT_EQ(saves_, 2);
  // A stop signal without logind's watch (a plain stop): no shutdown, but last_seen is due.
  HostRecord fresh;
  QuietTimes q{clock_, fresh, {.save = [] {}, .snooze_due = [] {}}};
  q.on_stop_signal();
  EXPECT_FALSE(q.shutting_down());
  EXPECT_TRUE(fresh.dirty());
}

}  // namespace
}  // namespace cronitor::agent
