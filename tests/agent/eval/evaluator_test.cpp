// Evaluator rules, one by one, with a simulated clock.
#include "agent/eval/evaluator.h"

#include <gtest/gtest.h>

#include "agent/state/state_json.h"
#include "tests/agent/eval_helpers.h"

namespace cronitor::agent {
namespace {

using namespace std::chrono_literals;
using testing::at;
using testing::event;
using testing::monitor;
using testing::Sim;
using K = Alert::Kind;
using T = Action::Type;

TEST(Evaluator, HealthyHourlyJobNeverAlerts) {
  Sim s(monitor("backup", "0 * * * *"), at("2026-01-01T00:30:00Z"));
  for (int h = 1; h < 48; ++h) {
    Instant slot = at("2026-01-01T00:00:00Z") + std::chrono::hours(h);
    s.tick(slot - 1s);
    s.job(slot + 2s, 30);
    s.tick(slot + 61s);
  }
  EXPECT_TRUE(s.all.empty());
}

TEST(Evaluator, MissedAtDeadlineExactly) {
  Sim s(monitor("backup", "0 * * * *", "UTC", 60), at("2026-01-01T00:30:00Z"));
  EXPECT_EQ(next_deadline(s.config, s.state), at("2026-01-01T01:01:00Z"));
  EXPECT_TRUE(s.tick(at("2026-01-01T01:00:59Z")).empty());
  auto a = s.tick(at("2026-01-01T01:01:00Z"));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].type, T::kOpen);
  EXPECT_EQ(a[0].alert.kind, K::kMissed);
  EXPECT_EQ(a[0].alert.at, at("2026-01-01T01:01:00Z"));
  EXPECT_NE(a[0].alert.summary.find("backup missed its run at 2026-01-01T01:00:00+00:00"), std::string::npos)
      << a[0].alert.summary;
  EXPECT_EQ(next_deadline(s.config, s.state), at("2026-01-01T02:01:00Z"));
}

TEST(Evaluator, LateRunWithinGraceIsFine) {
  Sim s(monitor("backup", "0 * * * *", "UTC", 60), at("2026-01-01T00:30:00Z"));
  s.job(at("2026-01-01T01:00:45Z"));
  EXPECT_TRUE(s.tick(at("2026-01-01T01:30:00Z")).empty());
  EXPECT_EQ(s.state.expected, at("2026-01-01T02:00:00Z"));
}

TEST(Evaluator, ScheduleToleranceAlertsOnTheNPlusFirstMiss) {
  auto c = monitor("sync", "*/5 * * * *");
  c.schedule_tolerance = 2;
  Sim s(c, at("2026-01-01T00:01:00Z"));
  EXPECT_TRUE(s.tick(at("2026-01-01T00:06:00Z")).empty());
  EXPECT_TRUE(s.tick(at("2026-01-01T00:11:00Z")).empty());
  auto a = s.tick(at("2026-01-01T00:16:00Z"));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].alert.kind, K::kMissed);
}

TEST(Evaluator, FailureWithToleranceAndReasons) {
  auto c = monitor("billing", "0 2 * * *");
  c.failure_tolerance = 1;
  Sim s(c, at("2026-01-01T00:00:00Z"));
  EXPECT_TRUE(s.job(at("2026-01-01T02:00:00Z"), 5, 3).empty());
  auto fail = event("billing", "r2", RunEvent::State::kFail, at("2026-01-02T02:00:09Z"), 137, 9000);
  fail.signal = "SIGKILL";
  fail.oom = true;
  fail.output_tail = "MemoryError\n";
  s.send(event("billing", "r2", RunEvent::State::kRun, at("2026-01-02T02:00:00Z")));
  auto a = s.send(fail);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].alert.kind, K::kFailed);
  EXPECT_NE(a[0].alert.summary.find("killed by the OOM killer"), std::string::npos) << a[0].alert.summary;
  EXPECT_EQ(a[0].alert.output_tail, "MemoryError\n");
  EXPECT_EQ(a[0].alert.exit_code, 137);
}

TEST(Evaluator, FailureTextForExitCodeAndSignal) {
  Sim s(monitor("j", "0 2 * * *"), at("2026-01-01T00:00:00Z"));
  auto a = s.job(at("2026-01-01T02:00:00Z"), 1, 3);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].alert.summary, "j failed: exit code 3");
  auto e = event("j", "x", RunEvent::State::kFail, at("2026-01-02T02:00:01Z"), 143);
  e.signal = "SIGTERM";
  a = s.send(e);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].type, T::kUpdate);
  EXPECT_EQ(a[0].alert.summary,
            "j failed: killed by signal SIGTERM (exit code 143) (2nd alert since 2026-01-01T02:00:01+00:00)");
}

TEST(Evaluator, RecoveryAfterThresholdSaysHowLongItWasDown) {
  auto c = monitor("j", "0 * * * *");
  c.recovery_threshold = 2;
  Sim s(c, at("2026-01-01T00:30:00Z"));
  ASSERT_EQ(s.job(at("2026-01-01T01:00:00Z"), 1, 1).size(), 1u);
  EXPECT_TRUE(s.job(at("2026-01-01T02:00:00Z")).empty());
  auto a = s.job(at("2026-01-01T03:00:00Z"));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].type, T::kResolve);
  EXPECT_EQ(a[0].alert.kind, K::kRecovered);
  EXPECT_EQ(a[0].alert.summary, "j recovered after 2h down");
  EXPECT_FALSE(s.state.incident);
}

TEST(Evaluator, HungRunAlertedAtStartPlusMaxRuntimeOnce) {
  auto c = monitor("etl", "0 3 * * *");
  c.assertions.push_back(*Assertion::parse("metric.duration < 30 minutes"));
  Sim s(c, at("2026-01-01T00:00:00Z"));
  s.send(event("etl", "r1", RunEvent::State::kRun, at("2026-01-01T03:00:00Z")));
  EXPECT_EQ(next_deadline(s.config, s.state), at("2026-01-01T03:30:00Z"));
  EXPECT_TRUE(s.tick(at("2026-01-01T03:29:59Z")).empty());
  auto a = s.tick(at("2026-01-01T03:30:00Z"));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].alert.kind, K::kHung);
  EXPECT_EQ(a[0].alert.at, at("2026-01-01T03:30:00Z"));
  // Its late end does not alert again.
  EXPECT_TRUE(s.send(event("etl", "r1", RunEvent::State::kComplete, at("2026-01-01T04:00:00Z"), 0, 3600000)).empty());
}

TEST(Evaluator, DurationAndMetricAssertions) {
  auto c = monitor("report", "0 4 * * *");
  c.assertions.push_back(*Assertion::parse("metric.duration > 5 seconds"));
  c.assertions.push_back(*Assertion::parse("metric.count > 0"));
  c.assertions.push_back(*Assertion::parse("metric.error_count == 0"));
  Sim s(c, at("2026-01-01T00:00:00Z"));
  auto a = s.job(at("2026-01-01T04:00:00Z"), 1);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].alert.kind, K::kAssertion);
  EXPECT_NE(a[0].alert.summary.find("metric.duration > 5 seconds"), std::string::npos);
  auto e = event("report", "r9", RunEvent::State::kComplete, at("2026-01-02T04:00:10Z"), 0, 10000);
  e.metrics["count"] = 0;
  a = s.send(e);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].alert.summary,
            "report failed an assertion: metric.count > 0 (was 0) (2nd alert since 2026-01-01T04:00:01+00:00)");
  e = event("report", "r10", RunEvent::State::kComplete, at("2026-01-03T04:00:10Z"), 0, 10000);
  e.metrics = {{"count", 12}, {"error_count", 0}};
  a = s.send(e);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].alert.kind, K::kRecovered);
}

TEST(Evaluator, OverlapReported) {
  Sim s(monitor("q", "* * * * *"), at("2026-01-01T00:00:30Z"));
  EXPECT_TRUE(s.send(event("q", "a", RunEvent::State::kRun, at("2026-01-01T00:01:00Z"))).empty());
  auto a = s.send(event("q", "b", RunEvent::State::kRun, at("2026-01-01T00:02:00Z")));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].alert.kind, K::kOverlap);
  EXPECT_NE(a[0].alert.detail.find("while run a"), std::string::npos);
  // Runs are told apart by run_id: ending a and b in any order works.
  s.send(event("q", "b", RunEvent::State::kComplete, at("2026-01-01T00:02:05Z"), 0, 5000));
  EXPECT_EQ(s.state.open_runs.size(), 1u);
  EXPECT_EQ(s.state.open_runs[0].run_id, "a");
}

TEST(Evaluator, DuplicateRunIsIgnored) {
  Sim s(monitor("q", "* * * * *"), at("2026-01-01T00:00:30Z"));
  s.send(event("q", "a", RunEvent::State::kRun, at("2026-01-01T00:01:00Z")));
  EXPECT_TRUE(s.send(event("q", "a", RunEvent::State::kRun, at("2026-01-01T00:01:00Z"))).empty());
}

TEST(Evaluator, CompleteWithoutRunStillCountsAtItsStart) {
  Sim s(monitor("h", "0 * * * *"), at("2026-01-01T00:30:00Z"));
  // The run event was lost; the complete says the run started at 01:00:00.
  s.send(event("h", "z", RunEvent::State::kComplete, at("2026-01-01T01:10:00Z"), 0, 600000));
  EXPECT_EQ(s.state.expected, at("2026-01-01T02:00:00Z"));
  EXPECT_TRUE(s.tick(at("2026-01-01T01:30:00Z")).empty());
}

TEST(Evaluator, LateSpoolEventsPlacedAtTheirOwnTime) {
  Sim s(monitor("h", "0 * * * *"), at("2026-01-01T00:30:00Z"));
  // The agent was down 00:30-05:00; the spool holds the runs at their times.
  for (int h = 1; h <= 4; ++h) s.job(at("2026-01-01T00:00:00Z") + std::chrono::hours(h));
  EXPECT_TRUE(s.tick(at("2026-01-01T05:00:30Z")).empty());
  EXPECT_EQ(s.state.expected, at("2026-01-01T05:00:00Z"));
}

TEST(Evaluator, SurgeProtectionAndRealert) {
  auto c = monitor("m", "* * * * *");
  c.consecutive_alert_threshold = 3;
  c.realert_interval = std::chrono::hours(1);
  Sim s(c, at("2026-01-01T00:00:30Z"));
  int sent = 0, suppressed = 0;
  for (int m = 2; m < 30; ++m)
    for (auto& a : s.tick(at("2026-01-01T00:00:00Z") + std::chrono::minutes(m)))
      (a.type == T::kSuppressed ? suppressed : sent)++;
  EXPECT_EQ(sent, 3);
  EXPECT_EQ(suppressed, 25);
  EXPECT_EQ(s.state.incident->alerts_sent, 3);
}

TEST(Evaluator, RealertWhileIncidentStaysOpen) {
  auto c = monitor("d", "0 2 * * *");
  c.realert_interval = std::chrono::hours(8);
  Sim s(c, at("2026-01-01T00:00:00Z"));
  s.job(at("2026-01-01T02:00:00Z"), 1, 1);
  // Nothing new happened since the alert: the reminder waits a day (items 18-19 of issue 13).
  EXPECT_EQ(next_deadline(s.config, s.state), at("2026-01-02T02:00:01Z"));
  EXPECT_TRUE(s.tick(at("2026-01-01T10:00:01Z")).empty());
  auto a = s.tick(at("2026-01-02T02:00:01Z"));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].alert.kind, K::kRealert);
  EXPECT_EQ(a[0].type, T::kUpdate);
}

TEST(Evaluator, RemovedAlertsOnceUnlessUnwrapped) {
  Sim s(monitor("b", "0 2 * * *"), at("2026-01-01T00:00:00Z"));
  auto a =
      s.take(evaluate(s.config, s.state, RemovedInput{at("2026-01-01T01:00:00Z"), "/etc/cron.d/billing", 4}, s.host));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].alert.summary, "b was removed from /etc/cron.d/billing line 4");
  EXPECT_TRUE(evaluate(s.config, s.state, RemovedInput{at("2026-01-01T01:00:01Z"), "x", 4}, s.host).empty());
  EXPECT_FALSE(next_deadline(s.config, s.state));
  Sim u(monitor("b", "0 2 * * *"), at("2026-01-01T00:00:00Z"));
  EXPECT_TRUE(evaluate(u.config, u.state, RemovedInput{at("2026-01-01T01:00:00Z"), "f", 1, true}, u.host).empty());
}

TEST(Evaluator, CronDownIsOneHostIncident) {
  HostState host;
  std::vector<Sim> jobs;
  for (int i = 0; i < 5; ++i) {
    auto c = monitor("job" + std::to_string(i), "*/10 * * * *");
    c.from_cron = true;
    jobs.emplace_back(c, at("2026-01-01T00:00:30Z"));
  }
  auto down = evaluate_cron(
      host, CronObservation{at("2026-01-01T00:11:00Z"), false, "no live process behind /run/crond.pid", "h1"});
  ASSERT_EQ(down.size(), 1u);
  EXPECT_EQ(down[0].alert.kind, K::kCronDown);
  EXPECT_NE(down[0].alert.detail.find("/run/crond.pid"), std::string::npos);
  for (auto& j : jobs) EXPECT_TRUE(evaluate(j.config, j.state, TimeInput{at("2026-01-01T00:11:00Z")}, host).empty());
  EXPECT_TRUE(evaluate_cron(host, CronObservation{at("2026-01-01T00:21:00Z"), false, "x", "h1"}).empty());
  EXPECT_EQ(host.suppressed_misses, 5);
  // A run event (anyone can send one) does not resolve it; only cron's own process does.
  auto e = event("job0", "r", RunEvent::State::kRun, at("2026-01-01T00:30:00Z"));
  e.host = "evil";
  for (const auto& x : evaluate(jobs[0].config, jobs[0].state, &e, host)) EXPECT_NE(x.alert.kind, K::kCronUp);
  EXPECT_TRUE(host.cron_incident);
  auto a = evaluate_cron(host, CronObservation{at("2026-01-01T00:31:00Z"), true, "", "h1"});
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].alert.kind, K::kCronUp);
  EXPECT_NE(a[0].alert.summary.find("on h1"), std::string::npos);
  EXPECT_FALSE(host.cron_incident);
}

TEST(Evaluator, MissOfASlotInsideTheCronOutageIsNotAlertedAfterCronReturns) {
  HostState host;
  auto c = monitor("m", "* * * * *");
  c.from_cron = true;
  MonitorState st = initial_state(c, at("2026-01-01T00:00:30Z"));
  // Cron found down at the 00:01 slot's deadline, back at 00:05:00.
  evaluate_cron(host, CronObservation{at("2026-01-01T00:02:00Z"), false, "down", "h"});
  EXPECT_TRUE(evaluate(c, st, TimeInput{at("2026-01-01T00:04:00Z")}, host).empty());
  ASSERT_EQ(evaluate_cron(host, CronObservation{at("2026-01-01T00:05:00Z"), true, "", "h"}).size(), 1u);
  // The 00:04 slot (deadline 00:05:00) was inside the outage: folded into it.
  EXPECT_TRUE(evaluate(c, st, TimeInput{at("2026-01-01T00:05:00Z")}, host).empty());
  // A later miss is the job's own.
  auto e = event("m", "r", RunEvent::State::kRun, at("2026-01-01T00:05:01Z"));
  evaluate(c, st, &e, host);
  EXPECT_EQ(evaluate(c, st, TimeInput{at("2026-01-01T00:08:00Z")}, host).size(), 1u);
}

TEST(Evaluator, PauseAndResume) {
  Sim s(monitor("p", "0 * * * *"), at("2026-01-01T00:30:00Z"));
  evaluate(s.config, s.state, PauseInput{at("2026-01-01T00:40:00Z"), at("2026-01-01T03:00:00Z")}, s.host);
  EXPECT_EQ(next_deadline(s.config, s.state), at("2026-01-01T03:00:00Z"));
  EXPECT_TRUE(s.tick(at("2026-01-01T03:00:00Z")).empty());
  EXPECT_EQ(s.state.expected, at("2026-01-01T04:00:00Z"));
  EXPECT_FALSE(s.state.paused_until);
  evaluate(s.config, s.state, PauseInput{at("2026-01-01T03:10:00Z"), Instant::max()}, s.host);
  EXPECT_FALSE(next_deadline(s.config, s.state));
  evaluate(s.config, s.state, PauseInput{at("2026-01-01T09:10:00Z"), std::nullopt}, s.host);
  EXPECT_EQ(s.state.expected, at("2026-01-01T10:00:00Z"));
  EXPECT_TRUE(s.tick(at("2026-01-01T09:59:00Z")).empty());
}

TEST(Evaluator, LongDowntimeGivesOneMissAlert) {
  Sim s(monitor("m", "* * * * *"), at("2026-01-01T00:00:30Z"));
  auto a = s.tick(at("2026-01-10T00:00:00Z"));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_GT(next_deadline(s.config, s.state), at("2026-01-10T00:00:00Z"));
}

// A missed slot is no run, so history does not hold it: the state keeps the last 60 (oldest
// first) for the dashboard's strip, across a restart, and a run clears none of them.
TEST(Evaluator, MissedSlotsAreKeptTheLastSixtyOldestFirst) {
  Sim s(monitor("m", "* * * * *", "UTC", 30), at("2026-01-01T00:00:10Z"));
  s.tick(at("2026-01-01T00:01:31Z"));  // the 00:01 slot passed without a run
  ASSERT_EQ(s.state.missed_slots.size(), 1u);
  EXPECT_EQ(s.state.missed_slots[0], at("2026-01-01T00:01:00Z"));
  s.job(at("2026-01-01T00:02:01Z"));
  s.tick(at("2026-01-01T00:02:40Z"));
  EXPECT_EQ(s.state.missed_slots.size(), 1u) << "a run is no miss, and clears none";
  s.tick(at("2026-01-01T02:00:00Z"));  // 00:03 .. 01:59 passed: 117 slots, the last 60 kept
  ASSERT_EQ(s.state.missed_slots.size(), kRecentMissedSlots);
  EXPECT_EQ(s.state.missed_slots.front(), at("2026-01-01T01:00:00Z"));
  EXPECT_EQ(s.state.missed_slots.back(), at("2026-01-01T01:59:00Z"));
  auto back = monitor_state_from_json(nlohmann::json::parse(state_text(s.state)));
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(back->missed_slots, s.state.missed_slots);
  EXPECT_EQ(to_json(*back), to_json(s.state));
}

TEST(Evaluator, ClockJumpForwardSkipsSwallowedSlots) {
  Sim s(monitor("h", "0 * * * *", "UTC", 60), at("2026-01-01T00:30:00Z"));
  // The clock jumps from 00:30 to 05:10: the 01:00..05:00 slots were never lived through.
  EXPECT_TRUE(realign_after_clock_jump(s.config, s.state, at("2026-01-01T05:10:00Z")));
  EXPECT_EQ(s.state.expected, at("2026-01-01T06:00:00Z"));
  EXPECT_TRUE(s.tick(at("2026-01-01T05:10:00Z")).empty());
  // Within grace of a slot, the slot still counts.
  Sim g(monitor("h", "0 * * * *", "UTC", 600), at("2026-01-01T00:30:00Z"));
  EXPECT_FALSE(realign_after_clock_jump(g.config, g.state, at("2026-01-01T01:05:00Z")));
  EXPECT_EQ(g.state.expected, at("2026-01-01T01:00:00Z"));
}

TEST(Evaluator, IntervalSchedule) {
  Sim s(monitor("hb", "every 10 seconds", "UTC", 2), at("2026-01-01T00:00:00Z"));
  EXPECT_EQ(next_deadline(s.config, s.state), at("2026-01-01T00:00:12Z"));
  s.job(at("2026-01-01T00:00:10Z"));
  EXPECT_EQ(next_deadline(s.config, s.state), at("2026-01-01T00:00:22Z"));
  auto a = s.tick(at("2026-01-01T00:00:22Z"));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].alert.kind, K::kMissed);
  // A heartbeat re-anchors on every run, early ones included.
  s.job(at("2026-01-01T00:00:25Z"));
  EXPECT_EQ(next_deadline(s.config, s.state), at("2026-01-01T00:00:37Z"));
}

// DST: Europe/Berlin springs forward 2026-03-29 02:00 -> 03:00 and falls back 2026-10-25 03:00 -> 02:00.
// Debian cron runs a fixed-time 02:30 job right after the jump (03:00 CEST) and once in the repeated hour.
TEST(Evaluator, DstNightsFixedTimeJobNoFalseAlarm) {
  Sim s(monitor("nightly", "30 2 * * *", "Europe/Berlin", 300), at("2026-03-27T12:00:00Z"));
  for (int d = 0; d < 3; ++d) {
    Instant slot = *s.state.expected;
    s.job(slot + 1s, 60);
    s.tick(slot + 400s);
  }
  EXPECT_TRUE(s.all.empty()) << s.all[0].alert.summary;
  Sim f(monitor("nightly", "30 2 * * *", "Europe/Berlin", 300), at("2026-10-23T12:00:00Z"));
  for (int d = 0; d < 3; ++d) {
    Instant slot = *f.state.expected;
    f.job(slot + 1s, 60);
    f.tick(slot + 3h);
  }
  EXPECT_TRUE(f.all.empty());
}

TEST(Evaluator, DstNightMissStillAlerts) {
  Sim s(monitor("nightly", "30 2 * * *", "Europe/Berlin", 300), at("2026-03-28T12:00:00Z"));
  // Spring-forward night: the 02:30 run happens at 03:00 CEST = 01:00Z; its deadline 01:05Z.
  auto a = s.tick(at("2026-03-29T01:05:00Z"));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].alert.kind, K::kMissed);
}

TEST(Evaluator, DstNightHourlyWildcardFollowsRealTime) {
  Sim s(monitor("hourly", "15 * * * *", "Europe/Berlin", 120), at("2026-10-24T20:00:00Z"));
  for (int i = 0; i < 12; ++i) {
    Instant slot = *s.state.expected;
    s.job(slot, 10);
    s.tick(slot + 150s);
  }
  EXPECT_TRUE(s.all.empty());
}

}  // namespace
}  // namespace cronitor::agent
