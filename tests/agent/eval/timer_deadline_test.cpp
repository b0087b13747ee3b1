// Timers whose slots come from the systemd manager (monotonic timers take its next elapse) and
// Persistent= catch-up runs, through the evaluator with a simulated clock.
#include "agent/eval/timer_deadline.h"

#include <gtest/gtest.h>

#include "agent/eval/monitor_schedule.h"
#include "tests/agent/eval_helpers.h"

namespace cronitor::agent {
namespace {

using namespace std::chrono_literals;
using testing::at;
using testing::event;
using testing::Sim;

/// OnUnitActiveSec=5s with AccuracySec=1ms, a 3 s grace (as the e2e test's timers).
MonitorConfig unit_active_5s() {
  MonitorConfig c;
  c.key = "mono";
  c.schedule = *interval_schedule(5s);
  c.heartbeat = Heartbeat{5s, Heartbeat::Anchor::kStart, "OnUnitActiveSec=5s"};
  c.grace = 3s;
  return c;
}

size_t alerts(const Actions& a, Alert::Kind kind) {
  return std::count_if(a.begin(), a.end(), [&](const Action& x) { return x.alert.kind == kind; });
}

TEST(TimerDeadline, ElapseInstant) {
  EXPECT_EQ(elapse_instant(0), std::nullopt);
  EXPECT_EQ(elapse_instant(UINT64_MAX), std::nullopt);
  EXPECT_EQ(elapse_instant(1'764'000'000'000'000), at("2025-11-24T16:00:00Z"));
}

TEST(TimerDeadline, MonotonicTimersWaitForTheManagersNextElapse) {
  const Instant t0 = at("2026-03-01T10:00:00Z");
  MonitorConfig c = unit_active_5s();
  MonitorState s = initial_state(c, t0);  // t0 + 5 s by our own count
  EXPECT_TRUE(adopt_next_elapse(c, s, t0 + 2s, t0));
  EXPECT_EQ(s.expected, t0 + 2s) << "the manager's word";
  EXPECT_EQ(next_deadline(c, s), t0 + 5s) << "plus the grace";
  // Once the slot has come, the manager moving on (it fired) does not move it: the run or the
  // miss decides.
  EXPECT_FALSE(adopt_next_elapse(c, s, t0 + 7s, t0 + 2s + 1ms));
  EXPECT_EQ(s.expected, t0 + 2s);

  // OnCalendar= timers keep our engine's slots.
  MonitorConfig cal = testing::monitor("cal", "*/5 * * * *");
  MonitorState cs = initial_state(cal, t0);
  EXPECT_FALSE(adopt_next_elapse(cal, cs, t0 + 1s, t0));
}

TEST(TimerDeadline, AHealthyMonotonicTimerNeverAlarms) {
  const Instant t0 = at("2026-03-01T10:00:00Z");
  Sim sim(unit_active_5s(), t0);
  Instant next = t0 + 1s;  // OnActiveSec=1s, then every 5 s from each activation
  adopt_next_elapse(sim.config, sim.state, next, t0);
  for (int i = 0; i < 20; ++i) {
    const Instant start = next + 20ms;  // the manager starts the service just after the elapse
    sim.tick(start - 1ms);
    sim.job(start, 0);
    next = start + 5s;
    adopt_next_elapse(sim.config, sim.state, next, start + 100ms);
    sim.tick(next - 1ms);
  }
  sim.tick(next + 1ms);
  EXPECT_TRUE(sim.all.empty()) << sim.all.front().alert.summary;
}

TEST(TimerDeadline, AnElapseWhoseServiceNeverStartsIsMissed) {
  const Instant t0 = at("2026-03-01T10:00:00Z");
  Sim sim(unit_active_5s(), t0);
  adopt_next_elapse(sim.config, sim.state, t0 + 1s, t0);
  // The manager fires at t0+1s, the condition fails, no run; it announces its next elapse.
  EXPECT_FALSE(adopt_next_elapse(sim.config, sim.state, t0 + 6s, t0 + 1s + 10ms));
  EXPECT_TRUE(sim.tick(t0 + 3s).empty()) << "within the grace";
  auto a = sim.tick(t0 + 4s + 1ms);
  ASSERT_EQ(alerts(a, Alert::Kind::kMissed), 1u);
  EXPECT_EQ(a[0].alert.expected, t0 + 1s);
}

TEST(TimerDeadline, AOneShotTimerHasOneSlot) {
  // OnBootSec=15min alone: no schedule of ours, only the manager's elapse.
  const Instant t0 = at("2026-03-01T10:00:00Z");
  MonitorConfig c;
  c.key = "boot";
  c.grace = 60s;
  Sim ran(c, t0), missed(c, t0);
  for (Sim* s : {&ran, &missed}) {
    EXPECT_EQ(next_deadline(s->config, s->state), std::nullopt);
    ASSERT_TRUE(adopt_next_elapse(s->config, s->state, t0 + 15min, t0));
    EXPECT_EQ(next_deadline(s->config, s->state), t0 + 16min);
  }
  ran.job(t0 + 15min + 2s, 1);
  EXPECT_EQ(ran.state.expected, std::nullopt) << "covered; nothing more is due";
  EXPECT_EQ(next_deadline(ran.config, ran.state), std::nullopt);
  EXPECT_TRUE(ran.tick(t0 + 2h).empty());

  auto a = missed.tick(t0 + 16min + 1s);
  EXPECT_EQ(alerts(a, Alert::Kind::kMissed), 1u);
  EXPECT_EQ(missed.state.expected, std::nullopt);
  EXPECT_TRUE(missed.tick(t0 + 2h).empty()) << "missed once, not again";
}

TEST(TimerDeadline, GraceAtLeastAccuracyPlusRandomizedDelay) {
  MonitorConfig c = unit_active_5s();
  EXPECT_FALSE(widen_grace(c, 1'000, 0));
  EXPECT_EQ(c.grace, 3s);
  EXPECT_TRUE(widen_grace(c, 60'000'000, 300'000'000));
  EXPECT_EQ(c.grace, 360s);
  EXPECT_TRUE(widen_grace(c, 360'000'001, 0));
  EXPECT_EQ(c.grace, 361s) << "rounded up";
}

// An hourly Persistent=true timer; the host went down at 02:30 during the 02:00 run and came
// back at 04:20: the agent starts (and lists the manager's timers) at 04:19:50, the manager
// catches up on 03:00 and 04:00 with one run at 04:20:05.
TEST(TimerDeadline, PersistentCatchUpIsNeitherMissNorOverlap) {
  const Instant agent_up = at("2026-03-01T04:19:50Z");
  const Instant catch_up_start = at("2026-03-01T04:20:05Z");
  auto before_boot = [&] {
    Sim sim(testing::monitor("hourly", "0 * * * *", "UTC", 120), at("2026-03-01T01:59:00Z"));
    sim.send(event("hourly", "run-0", RunEvent::State::kRun, at("2026-03-01T02:00:01Z")));  // never ended
    EXPECT_EQ(sim.state.expected, at("2026-03-01T03:00:00Z"));
    return sim;
  };
  auto catch_up = [&](Sim& sim) {
    Actions a = sim.send(event("hourly", "run-1", RunEvent::State::kRun, catch_up_start));
    auto b = sim.send(event("hourly", "run-1", RunEvent::State::kComplete, catch_up_start + 60s, 0, 60'000));
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  {  // Without the special cases (the control): the agent's first tick misses, the run overlaps.
    Sim sim = before_boot();
    EXPECT_EQ(alerts(sim.tick(agent_up), Alert::Kind::kMissed), 1u);
    EXPECT_EQ(alerts(catch_up(sim), Alert::Kind::kOverlap), 1u);
  }
  {  // At the listing: a Persistent= timer's overdue slots are the manager's to catch up on.
    Sim sim = before_boot();
    EXPECT_TRUE(skip_served_slots(sim.config, sim.state, at("2026-03-01T02:00:00Z"), true, agent_up));
    EXPECT_EQ(sim.state.expected, at("2026-03-01T05:00:00Z"));
    EXPECT_TRUE(sim.tick(agent_up).empty());
    // The catch-up run: the run left open before the boot ended with it.
    EXPECT_TRUE(absorb_catch_up(sim.config, sim.state, catch_up_start));
    EXPECT_TRUE(sim.state.open_runs.empty());
    auto a = catch_up(sim);
    EXPECT_TRUE(a.empty()) << a.front().alert.summary;
    EXPECT_TRUE(sim.tick(at("2026-03-01T05:01:00Z")).empty());
    EXPECT_EQ(sim.state.consecutive_misses, 0);
    EXPECT_EQ(sim.state.last_status, "ok");
  }
  {  // Not Persistent=: the slots the host was off for are missed, once the evaluator says so.
    Sim sim = before_boot();
    EXPECT_FALSE(skip_served_slots(sim.config, sim.state, at("2026-03-01T02:00:00Z"), false, agent_up));
    EXPECT_EQ(alerts(sim.tick(agent_up), Alert::Kind::kMissed), 1u);
  }
  {  // The manager served 03:00 while the agent was down (its trigger): not a miss; 04:00 is.
    Sim sim = before_boot();
    EXPECT_TRUE(skip_served_slots(sim.config, sim.state, at("2026-03-01T03:00:00.2Z"), false, agent_up));
    EXPECT_EQ(sim.state.expected, at("2026-03-01T04:00:00Z"));
    auto a = sim.tick(agent_up);
    ASSERT_EQ(alerts(a, Alert::Kind::kMissed), 1u);
    EXPECT_EQ(a[0].alert.expected, at("2026-03-01T04:00:00Z"));
  }
}

// A calendar timer (every 5 min, grace 2 min: runs up to 60 s before a slot count as on time)
// stopped, then started again at 10:04:20, 40 s before the 10:05 slot. systemd 252 runs the
// service at once (systemd #31231) and again at 10:05. The run at once is no run of the 10:05
// slot: not "ran 2 times in the slot", and 10:05 is still the slot's own run. Two real runs
// of one slot still are too many.
TEST(TimerDeadline, ACatchUpRunAsTheTimerStartsIsNoSecondRunOfTheComingSlot) {
  const Instant started = at("2026-03-01T10:04:20Z");
  const Instant catch_up_start = started + 50ms + 123us;  // µs from the manager; run events carry ms
  auto fresh = [&] { return Sim(testing::monitor("cal", "*/5 * * * *", "UTC", 120), started); };
  auto runs = [&](Sim& sim) {
    Actions a = sim.job(catch_up_start);
    auto b = sim.job(at("2026-03-01T10:05:00.010Z"));
    a.insert(a.end(), b.begin(), b.end());
    auto c = sim.tick(at("2026-03-01T10:08:00Z"));
    a.insert(a.end(), c.begin(), c.end());
    return a;
  };
  {  // The control: without being told, the run at once takes 10:05, and 10:05's run is a second.
    Sim sim = fresh();
    EXPECT_EQ(alerts(runs(sim), Alert::Kind::kTooOften), 1u);
  }
  {
    Sim sim = fresh();
    EXPECT_FALSE(absorb_catch_up(sim.config, sim.state, catch_up_start)) << "nothing overdue, nothing open";
    auto a = runs(sim);
    EXPECT_TRUE(a.empty()) << a.front().alert.summary;
    EXPECT_EQ(sim.state.slot, at("2026-03-01T10:05:00Z")) << "10:05 taken by its own run";
    EXPECT_EQ(sim.state.slot_runs, 1);
    EXPECT_EQ(sim.state.expected, at("2026-03-01T10:10:00Z"));
    EXPECT_EQ(sim.state.catch_up_start, std::nullopt) << "told once, taken once";
    // Two real runs in the 10:10 slot: too many, as ever.
    sim.job(at("2026-03-01T10:10:00.010Z"));
    EXPECT_EQ(alerts(sim.job(at("2026-03-01T10:10:00.500Z")), Alert::Kind::kTooOften), 1u);
  }
  {  // Started at 10:04:20 but the run comes at 10:05:00.2 (the manager fired the slot itself
     // 40 s after the activation, as fixed systemd does): the slot's run, not a miss.
    Sim sim = fresh();
    const Instant slot_run = at("2026-03-01T10:05:00.200Z");
    absorb_catch_up(sim.config, sim.state, slot_run);
    auto a = sim.job(slot_run);
    auto b = sim.tick(at("2026-03-01T10:08:00Z"));
    EXPECT_TRUE(a.empty() && b.empty());
    EXPECT_EQ(sim.state.slot, at("2026-03-01T10:05:00Z"));
    EXPECT_EQ(sim.state.expected, at("2026-03-01T10:10:00Z"));
  }
  {  // Told of a catch-up whose run never came: a later run is counted as usual.
    Sim sim = fresh();
    absorb_catch_up(sim.config, sim.state, catch_up_start);
    sim.job(at("2026-03-01T10:05:00.010Z"));
    EXPECT_EQ(sim.state.catch_up_start, std::nullopt);
    EXPECT_EQ(alerts(sim.job(at("2026-03-01T10:05:00.500Z")), Alert::Kind::kTooOften), 1u);
  }
}

}  // namespace
}  // namespace cronitor::agent
