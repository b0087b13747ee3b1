// Runs too often (max_runs_per_slot) and one job on several crontab lines (a union of schedules),
// in the evaluator's simulated clock.
#include <gtest/gtest.h>

#include "agent/config/config.h"
#include "agent/config/monitor_set.h"
#include "agent/eval/evaluator.h"
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

int count_alerts(const Actions& all, K kind, std::optional<T> type = std::nullopt) {
  int n = 0;
  for (const auto& a : all)
    if (a.alert.kind == kind && (!type || a.type == *type)) ++n;
  return n;
}

TEST(RunsTooOften, DoubledJobAlertsOncePerIncidentAndRecoversAfterACleanSlot) {
  Sim s(monitor("backup", "30 2 * * *"), at("2026-03-01T00:00:00Z"));
  // Two cron daemons: each slot gets two runs within a second, both healthy, overlapping.
  for (int day = 1; day <= 3; ++day) {
    const Instant slot = at("2026-03-01T02:30:00Z") + std::chrono::days(day - 1);
    s.send(event("backup", "a" + std::to_string(day), RunEvent::State::kRun, slot));
    auto dup = s.send(event("backup", "b" + std::to_string(day), RunEvent::State::kRun, slot + 1s));
    if (day == 1) {
      ASSERT_EQ(dup.size(), 1u);
      EXPECT_EQ(dup[0].type, T::kOpen);
      EXPECT_EQ(dup[0].alert.kind, K::kTooOften);
      EXPECT_EQ(dup[0].alert.summary, "backup ran 2 times in the slot of 02:30");
      EXPECT_EQ(dup[0].alert.expected, slot);
      EXPECT_NE(dup[0].alert.detail.find("max_runs_per_slot"), std::string::npos) << dup[0].alert.detail;
    }
    s.send(event("backup", "a" + std::to_string(day), RunEvent::State::kComplete, slot + 20s, 0, 20000));
    s.send(event("backup", "b" + std::to_string(day), RunEvent::State::kComplete, slot + 21s, 0, 20000));
    s.tick(slot + 2h);
  }
  // One alert for the incident; later doubled slots are recorded only; no "overlapped" on top.
  EXPECT_EQ(count_alerts(s.all, K::kTooOften, T::kOpen), 1);
  EXPECT_EQ(count_alerts(s.all, K::kTooOften, T::kUpdate), 0);
  EXPECT_EQ(count_alerts(s.all, K::kTooOften, T::kSuppressed), 2);
  EXPECT_EQ(count_alerts(s.all, K::kOverlap), 0);
  EXPECT_EQ(count_alerts(s.all, K::kRecovered), 0);  // healthy runs of a doubled job end nothing
  ASSERT_TRUE(s.state.incident);
  EXPECT_EQ(s.state.incident->kind, "ran-too-often");
  // Fixed: day 4 runs once; when day 5's slot begins, day 4 is known clean and the incident ends.
  EXPECT_TRUE(s.job(at("2026-03-04T02:30:00Z"), 20).empty());
  auto r = s.job(at("2026-03-05T02:30:00Z"), 20);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].type, T::kResolve);
  EXPECT_NE(r[0].alert.summary.find("runs as scheduled again"), std::string::npos) << r[0].alert.summary;
  EXPECT_FALSE(s.state.incident);
  // A second incident later alerts again.
  s.job(at("2026-03-06T02:30:00Z"), 20);
  auto again = s.job(at("2026-03-06T02:30:01Z"), 20);
  EXPECT_EQ(count_alerts(again, K::kTooOften, T::kOpen), 1);
}

TEST(RunsTooOften, DoubledEveryMinuteJobIsCaughtAndItsSlotsAreNotMissed) {
  // Installed twice: each minute's second run comes 0.4 s after the first, 59.6 s before the next
  // slot. It belongs to the minute that has begun, not to the next one a little early.
  Sim s(monitor("poll", "* * * * *"), at("2026-03-01T00:00:30Z"));
  Actions first_minute;
  for (int m = 1; m <= 30; ++m) {
    const Instant slot = at("2026-03-01T00:00:00Z") + std::chrono::minutes(m);
    s.job(slot + 100ms, 2);
    auto b = s.job(slot + 500ms, 2);
    if (m == 1) first_minute = b;
    s.tick(slot + 50s);
  }
  ASSERT_EQ(count_alerts(first_minute, K::kTooOften, T::kOpen), 1);
  EXPECT_EQ(first_minute[0].alert.summary, "poll ran 2 times in the slot of 00:01");
  EXPECT_EQ(count_alerts(s.all, K::kTooOften, T::kOpen), 1);
  EXPECT_EQ(count_alerts(s.all, K::kMissed), 0) << "a doubled minute took the next minute's slot";
  EXPECT_EQ(count_alerts(s.all, K::kOverlap), 0);
  // Once a single cron runs it, the next minute's first run ends the incident.
  s.job(at("2026-03-01T00:31:00Z") + 100ms, 2);
  auto r = s.job(at("2026-03-01T00:32:00Z") + 100ms, 2);
  EXPECT_EQ(count_alerts(r, K::kRecovered, T::kResolve), 1);
  // A single every-minute job that cron starts up to 2 s late, or 20 s early, stays quiet.
  Sim one(monitor("poll", "* * * * *"), at("2026-03-01T00:00:30Z"));
  for (int m = 1; m <= 30; ++m) one.job(at("2026-03-01T00:00:00Z") + std::chrono::minutes(m) + (m % 2 ? 2s : -20s), 2);
  one.tick(at("2026-03-01T00:30:50Z"));
  EXPECT_EQ(count_alerts(one.all, K::kTooOften), 0);
  EXPECT_EQ(count_alerts(one.all, K::kMissed), 0);
}

TEST(RunsTooOften, OneRunByHandPerSlotIsAllowedTheThirdAlerts) {
  Sim s(monitor("report", "0 * * * *"), at("2026-03-01T00:10:00Z"));
  EXPECT_TRUE(s.job(at("2026-03-01T01:00:01Z"), 5).empty());
  EXPECT_TRUE(s.job(at("2026-03-01T01:20:00Z"), 5).empty());  // a person ran it by hand
  auto third = s.job(at("2026-03-01T01:40:00Z"), 5);          // a stuck loop, or someone else again
  ASSERT_EQ(count_alerts(third, K::kTooOften, T::kOpen), 1);
  EXPECT_EQ(third[0].alert.summary, "report ran 3 times in the slot of 01:00");
  // A fourth run of that slot adds nothing: one alert per incident, not per extra run. It is
  // counted (the incident's reason), and the slot's final count recorded once, when it is over.
  auto fourth = s.job(at("2026-03-01T01:50:00Z"), 5);
  EXPECT_TRUE(fourth.empty());
  ASSERT_TRUE(s.state.incident);
  EXPECT_EQ(s.state.incident->reason, "report ran 4 times in the slot of 01:00");
  auto next = s.job(at("2026-03-01T02:00:01Z"), 5);
  ASSERT_EQ(count_alerts(next, K::kTooOften, T::kSuppressed), 1);
  EXPECT_EQ(next[0].alert.summary, "report ran 4 times in the slot of 01:00");
  EXPECT_EQ(next.size(), 1u);
  // A manual run before the first slot the agent saw is nobody's slot.
  Sim early(monitor("report", "0 * * * *"), at("2026-03-01T00:10:00Z"));
  EXPECT_TRUE(early.job(at("2026-03-01T00:20:00Z"), 5).empty());
  EXPECT_TRUE(early.job(at("2026-03-01T00:30:00Z"), 5).empty());
  EXPECT_TRUE(early.job(at("2026-03-01T01:00:00Z"), 5).empty());
  EXPECT_TRUE(early.all.empty());
}

TEST(RunsTooOften, AStuckLoopIsRecordedOncePerSlotNotOncePerRun) {
  // An every-minute job whose loop starts it 200 times a minute (agent_bench events does the
  // same): each slot is written and logged once, not once per run (8 WAL pages and a log line
  // a run before), and the counts stay right.
  Sim s(monitor("poll", "* * * * *"), at("2026-03-01T00:00:30Z"));
  std::vector<Actions> per_run;
  for (int m = 1; m <= 3; ++m)
    for (int i = 0; i < 200; ++i)
      per_run.push_back(
          s.job(at("2026-03-01T00:00:00Z") + std::chrono::minutes(m) + std::chrono::milliseconds(100 * i), 0));
  EXPECT_EQ(count_alerts(s.all, K::kTooOften, T::kOpen), 1);
  // Minute 1: opened at its 2nd run; minute 2: its final count (when minute 2 began) and its
  // own first run over the rule; minute 3: the same for minute 2.
  EXPECT_EQ(count_alerts(s.all, K::kTooOften, T::kSuppressed), 4);
  int quiet = 0;
  for (const auto& a : per_run) quiet += a.empty();
  EXPECT_EQ(quiet, 600 - 5);
  ASSERT_TRUE(s.state.incident);
  EXPECT_EQ(s.state.incident->reason, "poll ran 200 times in the slot of 00:03");
  EXPECT_EQ(s.state.slot_runs, 200);
  // Minute 4 runs once: the closing count of minute 3, then minute 5's run ends the incident.
  auto four = s.job(at("2026-03-01T00:04:00.100Z"), 0);
  ASSERT_EQ(four.size(), 1u);
  EXPECT_EQ(four[0].type, T::kSuppressed);
  EXPECT_EQ(four[0].alert.summary, "poll ran 200 times in the slot of 00:03");
  EXPECT_EQ(four[0].alert.expected, at("2026-03-01T00:03:00Z"));
  auto five = s.job(at("2026-03-01T00:05:00.100Z"), 0);
  EXPECT_EQ(count_alerts(five, K::kRecovered, T::kResolve), 1);
  EXPECT_NE(five[0].alert.detail.find("ran 200 times in the slot of 00:03"), std::string::npos) << five[0].alert.detail;
}

TEST(RunsTooOften, ConfigurableAndOffForHeartbeatsAndZero) {
  auto c = monitor("sync", "*/15 * * * *");
  c.max_runs_per_slot = 2;  // two machines' worth of runs are normal here
  Sim s(c, at("2026-03-01T00:01:00Z"));
  s.job(at("2026-03-01T00:15:00Z"), 5);
  EXPECT_TRUE(s.job(at("2026-03-01T00:15:01Z"), 5).empty());
  EXPECT_TRUE(s.job(at("2026-03-01T00:20:00Z"), 5).empty());  // by hand: the one extra run
  EXPECT_EQ(count_alerts(s.job(at("2026-03-01T00:25:00Z"), 5), K::kTooOften), 1);

  auto off = monitor("sync", "*/15 * * * *");
  off.max_runs_per_slot = 0;
  Sim o(off, at("2026-03-01T00:01:00Z"));
  for (int i = 0; i < 5; ++i) o.job(at("2026-03-01T00:15:00Z") + std::chrono::seconds(i * 10), 5);
  EXPECT_EQ(count_alerts(o.all, K::kTooOften), 0);

  Sim hb(monitor("ping", "every 10 minutes"), at("2026-03-01T00:00:00Z"));
  for (int i = 0; i < 5; ++i) hb.job(at("2026-03-01T00:01:00Z") + std::chrono::seconds(i * 10), 5);
  EXPECT_EQ(count_alerts(hb.all, K::kTooOften), 0);
}

TEST(RunsTooOften, LostRunEventsStillCount) {
  // The `run` events were lost (spool full): the `complete` events alone still count their runs.
  Sim s(monitor("backup", "30 2 * * *"), at("2026-03-01T00:00:00Z"));
  s.send(event("backup", "a", RunEvent::State::kComplete, at("2026-03-01T02:30:20Z"), 0, 20000));
  auto dup = s.send(event("backup", "b", RunEvent::State::kComplete, at("2026-03-01T02:30:21Z"), 0, 20000));
  EXPECT_EQ(count_alerts(dup, K::kTooOften, T::kOpen), 1);
}

TEST(SeveralSchedules, UnionOfTwoLinesNoFalseMissAndARealMissCaught) {
  auto c = monitor("backup", "0 2 * * *");
  c.more_schedules.push_back(*parse_monitor_schedule("30 14 * * 1-5"));
  Sim s(c, at("2026-03-02T00:00:00Z"));  // a Monday
  EXPECT_EQ(s.state.expected, at("2026-03-02T02:00:00Z"));
  EXPECT_EQ(c.schedule_text(), "0 2 * * * + 30 14 * * 1-5");
  for (int day = 0; day < 5; ++day) {  // Monday to Friday: both lines run
    const Instant d = at("2026-03-02T00:00:00Z") + std::chrono::days(day);
    EXPECT_TRUE(s.job(d + 2h, 30).empty());
    EXPECT_EQ(s.state.expected, d + 14h + 30min);
    EXPECT_TRUE(s.tick(d + 6h).empty());
    EXPECT_TRUE(s.job(d + 14h + 30min, 30).empty());
    EXPECT_TRUE(s.tick(d + 20h).empty());
  }
  // Saturday: only the 02:00 line; nothing expected at 14:30.
  EXPECT_TRUE(s.job(at("2026-03-07T02:00:00Z"), 30).empty());
  EXPECT_EQ(s.state.expected, at("2026-03-08T02:00:00Z"));
  EXPECT_TRUE(s.tick(at("2026-03-07T20:00:00Z")).empty());
  // Sunday 02:00 runs; Monday 02:00 runs; Monday 14:30 does not: a real miss, once.
  EXPECT_TRUE(s.job(at("2026-03-08T02:00:00Z"), 30).empty());
  EXPECT_TRUE(s.job(at("2026-03-09T02:00:00Z"), 30).empty());
  auto miss = s.tick(at("2026-03-09T14:31:00Z"));
  ASSERT_EQ(miss.size(), 1u);
  EXPECT_EQ(miss[0].alert.kind, K::kMissed);
  EXPECT_EQ(miss[0].alert.expected, at("2026-03-09T14:30:00Z"));
  EXPECT_EQ(miss[0].alert.schedule, "0 2 * * * + 30 14 * * 1-5");
  EXPECT_EQ(count_alerts(s.all, K::kMissed), 1);
  EXPECT_EQ(count_alerts(s.all, K::kTooOften), 0);  // each line's run took its own slot
}

TEST(RunsTooOften, SetInDefaultsAMonitorOrACommentCheckedAtFileLine) {
  auto c = parse_config(
      "notify:\n  default: []\ndefaults:\n  max_runs_per_slot: 2\nmonitors:\n  - key: a\n    schedule: \"0 2 * * *\"\n"
      "    max_runs_per_slot: 0\n",
      "agent.yaml");
  ASSERT_TRUE(c.has_value()) << format_errors(c.error());
  EXPECT_EQ(c->defaults.max_runs_per_slot, 2);
  EXPECT_EQ(monitor_from_defaults(c->defaults).max_runs_per_slot, 2);
  ZoneCache zones;
  auto m = resolve_monitor(*c, nullptr, &c->monitors[0], zones);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->max_runs_per_slot, 0);
  EXPECT_EQ(MonitorConfig{}.max_runs_per_slot, 1);  // the documented default
  auto o = parse_job_comment("# cronitor: max_runs_per_slot=3");
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->max_runs_per_slot, 3);
  auto bad = parse_config("defaults:\n  max_runs_per_slot: -1\n", "agent.yaml");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(format_errors(bad.error()).find("agent.yaml:2: defaults.max_runs_per_slot"), std::string::npos)
      << format_errors(bad.error());
}

}  // namespace
}  // namespace cronitor::agent
