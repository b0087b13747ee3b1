// The daemon's clock (agent/daemon/clock.h) without a daemon: the real clock is the identity, a
// simulated one is the real one offset, moves only forward, and an advance visits what falls due
// in time order, as time passing would.
#include "agent/daemon/clock.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "common/event_source.h"

namespace cronitor::agent {
namespace {

using namespace std::chrono_literals;

Instant at(int64_t seconds) { return Instant{std::chrono::seconds(seconds)}; }

TEST(Clock, TheRealClockIsTheSystemClockAndItsTimersTheIdentity) {
  Clock c;
  EXPECT_FALSE(c.is_simulated());
  const auto before = std::chrono::system_clock::now();
  const Instant n = c.now();
  EXPECT_LE(std::chrono::abs(n - before), 1s);
  EXPECT_EQ(c.timer_usec(at(100)), 100'000'000u);
  EXPECT_EQ(c.timer_usec(Instant{}), 1u);  // 0 would be "now" for sd-event's callers
  EXPECT_EQ(c.from_real(at(5)), at(5));
  EXPECT_FALSE(c.jump_to(n + 1h));  // nobody moves the real clock
  EXPECT_LE(c.now() - n, 1s);
}

TEST(Clock, ASimulatedClockRunsAtTheRealPaceFromItsStartAndOnlyForward) {
  Instant real = at(1'000'000);
  Clock c = Clock::simulated(at(2'000'000), [&] { return real; });
  EXPECT_TRUE(c.is_simulated());
  EXPECT_EQ(c.now(), at(2'000'000));
  real += 5s;
  EXPECT_EQ(c.now(), at(2'000'005));
  EXPECT_EQ(c.from_real(at(1'000'001)), at(2'000'001));  // a wrapper's timestamp, on this clock
  // Its timers fire at the real instant that stands for the simulated one, and back.
  EXPECT_EQ(c.timer_usec(at(2'000'010)), 1'000'010'000'000u);
  EXPECT_EQ(c.from_timer_usec(1'000'010'000'000u), at(2'000'010));
  EXPECT_TRUE(c.jump_to(at(2'003'600)));
  EXPECT_EQ(c.now(), at(2'003'600));
  EXPECT_EQ(c.timer_usec(at(2'003'600)), 1'000'005'000'000u);  // due now
  EXPECT_TRUE(c.jump_to(at(2'000'000)));                       // the past: no change
  EXPECT_EQ(c.now(), at(2'003'600));
  // A clock started in the past keeps Instant::max() (a snooze without end) out of overflow.
  Clock past = Clock::simulated(at(10), [&] { return real; });
  EXPECT_GT(past.timer_usec(Instant::max()), 1'000'000'000'000'000u);
}

TEST(Clock, AnAdvanceFiresWhatFallsDueInTimeOrderAtItsOwnInstant) {
  Instant real = at(0);
  Clock c = Clock::simulated(at(1000), [&] { return real; });
  std::set<Instant> due{at(1030), at(1010), at(1020), at(5000)};
  std::vector<std::pair<Instant, Instant>> fired;  // (what, the clock when it fired)
  auto next = [&]() -> std::optional<Instant> {
    if (due.empty()) return std::nullopt;
    return *due.begin();
  };
  auto fire = [&] {
    const Instant what = *due.begin();
    due.erase(due.begin());
    fired.emplace_back(what, c.now());
    if (what == at(1010)) due.insert(at(1015));  // a handler that arms the next one inside the advance
  };
  EXPECT_EQ(advance_clock(c, at(1030), next, fire), 4u);
  ASSERT_EQ(fired.size(), 4u);
  EXPECT_EQ(fired[0], std::make_pair(at(1010), at(1010)));
  EXPECT_EQ(fired[1], std::make_pair(at(1015), at(1015)));
  EXPECT_EQ(fired[2], std::make_pair(at(1020), at(1020)));
  EXPECT_EQ(fired[3], std::make_pair(at(1030), at(1030)));
  EXPECT_EQ(c.now(), at(1030));
  EXPECT_EQ(due, std::set<Instant>{at(5000)});  // beyond the target: waits
  // Nothing due: the clock just goes to the target.
  EXPECT_EQ(advance_clock(c, at(2000), next, fire), 0u);
  EXPECT_EQ(c.now(), at(2000));
}

TEST(Clock, AHandlerThatLeavesItsInstantDueStopsTheAdvanceAfterTheBound) {
  Clock c = Clock::simulated(at(0), [] { return at(0); });
  size_t calls = 0;
  EXPECT_EQ(advance_clock(
                c, at(10), [] { return std::optional<Instant>(at(5)); }, [&] { ++calls; }, 50),
            50u);
  EXPECT_EQ(calls, 50u);
  EXPECT_EQ(c.now(), at(10));
}

// The sd-event glue: armed timers are visited in time order, each disabled before its handler
// runs, disabled timers and those beyond the target left alone.
TEST(Clock, AdvanceTimersDispatchesTheDaemonsRealtimeTimersInOrder) {
  sd_event* ev = nullptr;
  ASSERT_GE(sd_event_new(&ev), 0);
  Instant real = at(1'000'000);
  Clock c = Clock::simulated(at(2'000'000), [&] { return real; });
  struct Seen {
    Clock* clock;
    std::vector<std::pair<sd_event_source*, Instant>> calls;  // which timer, and the clock then
  } seen{&c, {}};
  auto handler = [](sd_event_source* s, uint64_t, void* ud) -> int {
    auto* seen = static_cast<Seen*>(ud);
    seen->calls.emplace_back(s, seen->clock->now());
    return 0;
  };
  auto add = [&](Instant t) {
    sd_event_source* s = nullptr;
    EXPECT_GE(sd_event_add_time(ev, &s, CLOCK_REALTIME, c.timer_usec(t), 0, handler, &seen), 0);
    return s;
  };
  sd_event_source* a = add(at(2'000'020));
  sd_event_source* b = add(at(2'000'010));
  sd_event_source* off = add(at(2'000'005));
  sd_event_source* late = add(at(2'009'000));
  sd_event_source_set_enabled(off, SD_EVENT_OFF);
  const ClockTimer timers[] = {{a, handler, &seen}, {b, handler, &seen}, {off, handler, &seen}, {late, handler, &seen}};
  EXPECT_EQ(advance_timers(c, at(2'001'000), timers), 2u);
  ASSERT_EQ(seen.calls.size(), 2u);
  EXPECT_EQ(seen.calls[0], std::make_pair(b, at(2'000'010)));
  EXPECT_EQ(seen.calls[1], std::make_pair(a, at(2'000'020)));
  int enabled = -1;
  sd_event_source_get_enabled(a, &enabled);
  EXPECT_EQ(enabled, SD_EVENT_OFF);  // a oneshot timer's dispatch
  sd_event_source_get_enabled(late, &enabled);
  EXPECT_NE(enabled, SD_EVENT_OFF);
  EXPECT_EQ(c.now(), at(2'001'000));
  // The timer beyond the target keeps its instant on the moved clock: not late by the jump.
  uint64_t usec = 0;
  sd_event_source_get_time(late, &usec);
  EXPECT_EQ(c.from_timer_usec(usec), at(2'009'000));
  for (auto* s : {a, b, off, late}) sd_event_source_unref(s);
  sd_event_unref(ev);
}

// The delays (CLOCK_MONOTONIC: the cron daemon's confirmation, the heartbeats) move with a
// simulated clock: due as far from its now as they are from the loop's, in time order among the
// wall-clock timers, re-armed by their handlers from the loop's now; one beyond the target keeps
// its delay from the clock's new now (not late by the jump).
TEST(Clock, AdvanceTimersMovesTheMonotonicDelaysWithTheClock) {
  sd_event* ev = nullptr;
  ASSERT_GE(sd_event_new(&ev), 0);
  ASSERT_GE(sd_event_run(ev, 0), 0);  // one turn: the loop's monotonic now is cached, as in the daemon
  uint64_t mono = 0;
  ASSERT_EQ(sd_event_now(ev, CLOCK_MONOTONIC, &mono), 0);
  const Instant real = at(1'000'000);
  Clock c = Clock::simulated(at(2'000'000), [&] { return real; });
  struct Seen {
    Clock* clock;
    sd_event* ev;
    int rearms;
    std::vector<std::pair<sd_event_source*, Instant>> calls;
  } seen{&c, ev, 2, {}};
  auto handler = [](sd_event_source* s, uint64_t, void* ud) -> int {
    auto* seen = static_cast<Seen*>(ud);
    seen->calls.emplace_back(s, seen->clock->now());
    return 0;
  };
  // Looks again 4 s later, twice: as the cron watch does while cron is down.
  auto again = [](sd_event_source* s, uint64_t, void* ud) -> int {
    auto* seen = static_cast<Seen*>(ud);
    seen->calls.emplace_back(s, seen->clock->now());
    if (seen->rearms-- > 0) arm_once_in(seen->ev, s, 4'000'000);
    return 0;
  };
  auto add = [&](clockid_t id, uint64_t usec, sd_event_time_handler_t h) {
    sd_event_source* s = nullptr;
    EXPECT_GE(sd_event_add_time(ev, &s, id, usec, 0, h, &seen), 0);
    return s;
  };
  sd_event_source* wall5 = add(CLOCK_REALTIME, c.timer_usec(at(2'000'005)), handler);
  sd_event_source* wall20 = add(CLOCK_REALTIME, c.timer_usec(at(2'000'020)), handler);
  sd_event_source* confirm = add(CLOCK_MONOTONIC, mono + 10'000'000, again);
  sd_event_source* hour = add(CLOCK_MONOTONIC, mono + 3'600'000'000, handler);
  const ClockTimer timers[] = {
      {wall5, handler, &seen}, {wall20, handler, &seen}, {confirm, again, &seen}, {hour, handler, &seen}};
  EXPECT_EQ(advance_timers(c, at(2'000'030), timers), 5u);
  ASSERT_EQ(seen.calls.size(), 5u);
  EXPECT_EQ(seen.calls[0], std::make_pair(wall5, at(2'000'005)));
  EXPECT_EQ(seen.calls[1], std::make_pair(confirm, at(2'000'010)));
  EXPECT_EQ(seen.calls[2], std::make_pair(confirm, at(2'000'014)));
  EXPECT_EQ(seen.calls[3], std::make_pair(confirm, at(2'000'018)));
  EXPECT_EQ(seen.calls[4], std::make_pair(wall20, at(2'000'020)));
  EXPECT_EQ(c.now(), at(2'000'030));
  int enabled = -1;
  sd_event_source_get_enabled(confirm, &enabled);
  EXPECT_EQ(enabled, SD_EVENT_OFF);  // no third re-arm
  uint64_t usec = 0;
  sd_event_source_get_time(hour, &usec);
  EXPECT_EQ(usec, mono + 3'570'000'000);  // 30 s of the hour passed in the advance
  for (auto* s : {wall5, wall20, confirm, hour}) sd_event_source_unref(s);
  sd_event_unref(ev);
}

}  // namespace
}  // namespace cronitor::agent
