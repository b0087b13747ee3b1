// Issue 17, items 2 and 3, the pure parts: a start systemd skipped (a Condition*= failed) serves
// its slot without a miss, is neither success nor failure, and alerts only with alert_on_skip;
// a timer known only from the manager (started, never enabled; transient) is a job named after
// its unit with the manager's schedule.
#include "agent/eval/skipped_run.h"

#include <gtest/gtest.h>

#include <set>

#include "agent/config/config.h"
#include "agent/config/discovery_adapter.h"
#include "agent/sources/live_timer_job.h"
#include "agent/state/skipped_runs.h"
#include "tests/agent/eval_helpers.h"

namespace cronitor::agent {
namespace {

using namespace std::chrono_literals;
using testing::at;
using testing::Sim;

TEST(SkippedRun, ASkipServesItsSlotAndIsNeitherMissNorFailure) {
  const Instant t0 = at("2026-03-01T10:00:00Z");
  Sim sim(testing::monitor("cond", "*/5 * * * *", "UTC", 30), t0);
  ASSERT_EQ(sim.state.expected, at("2026-03-01T10:05:00Z"));
  sim.state.consecutive_failures = 1;  // counts of failures and successes stay as they were
  // The timer fired at 10:05:00.001 and the manager skipped the service.
  auto actions = absorb_skip(sim.config, sim.state, at("2026-03-01T10:05:00.001Z"), "ConditionPathExists=/srv/flag");
  EXPECT_TRUE(actions.empty()) << "no alert unless alert_on_skip";
  EXPECT_EQ(sim.state.expected, at("2026-03-01T10:10:00Z"));
  EXPECT_EQ(sim.state.last_status, "skipped (ConditionPathExists=/srv/flag failed)");
  EXPECT_EQ(sim.state.consecutive_failures, 1);
  EXPECT_FALSE(sim.state.last_exit_code.has_value());
  // Time passes well beyond the skipped slot's grace: no miss, and none for the skipped slot.
  sim.tick(at("2026-03-01T10:09:00Z"));
  EXPECT_TRUE(sim.all.empty()) << sim.all.front().alert.summary;
}

TEST(SkippedRun, AlertOnSkipSendsANoticeWithTheCondition) {
  MonitorConfig c = testing::monitor("cond", "*/5 * * * *");
  c.name = "nightly";
  c.alert_on_skip = true;
  MonitorState s = initial_state(c, at("2026-03-01T10:00:00Z"));
  auto actions = absorb_skip(c, s, at("2026-03-01T10:05:00Z"), "ConditionACPower=true");
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].type, Action::Type::kNotice);
  EXPECT_EQ(actions[0].alert.kind, Alert::Kind::kSkipped);
  EXPECT_NE(actions[0].alert.summary.find("nightly was skipped: ConditionACPower=true failed"), std::string::npos)
      << actions[0].alert.summary;
  EXPECT_FALSE(s.incident.has_value()) << "a notice, no incident";
  // Unknown condition, and a paused monitor (recorded, no alert).
  EXPECT_EQ(skipped_status(""), "skipped (a condition failed)");
  s.paused_until = Instant::max();
  EXPECT_TRUE(absorb_skip(c, s, at("2026-03-01T10:10:00Z"), "").empty());
  s.removed = true;
  s.paused_until.reset();
  EXPECT_TRUE(absorb_skip(c, s, at("2026-03-01T10:15:00Z"), "").empty());
}

TEST(SkippedRun, MonotonicTimersWaitForTheManagersNextElapseAfterASkip) {
  MonitorConfig c;
  c.key = "mono";
  c.schedule = *interval_schedule(5s);
  c.heartbeat = Heartbeat{5s, Heartbeat::Anchor::kStart, "OnUnitActiveSec=5s"};
  MonitorState s;
  s.expected = at("2026-03-01T10:00:01Z");
  (void)absorb_skip(c, s, at("2026-03-01T10:00:01.002Z"), "ConditionPathExists=/x");
  EXPECT_FALSE(s.expected.has_value()) << "the manager's next elapse says when, if ever";
}

TEST(SkippedRun, TheSkipsRunIdIsStableAndUuidShaped) {
  const std::string a = skip_run_id("cond.service", 1'764'000'000'000'123);
  EXPECT_EQ(a, skip_run_id("cond.service", 1'764'000'000'000'123));
  EXPECT_NE(a, skip_run_id("cond.service", 1'764'000'005'000'000));
  EXPECT_NE(a, skip_run_id("other.service", 1'764'000'000'000'123));
  ASSERT_EQ(a.size(), 36u);
  EXPECT_EQ(a[8], '-');
  EXPECT_EQ(a[23], '-');
}

LiveTimer live(const std::string& unit) {
  LiveTimer t;
  t.unit = unit;
  t.key = "k-" + unit;
  t.service = unit.substr(0, unit.size() - 6) + ".service";
  t.active_state = "active";
  t.accuracy_usec = 1'000;
  return t;
}

TEST(LiveTimerJob, ATransientCalendarTimerIsAJobNamedAfterItsUnitWithTheManagersSchedule) {
  LiveTimer t = live("run-r90a5593e0c204975a4d221b1f0674123.timer");
  t.calendar = {"*-*-* *:*:00/5"};
  const discovery::Job j = live_timer_job(t, "Europe/Berlin");
  EXPECT_EQ(j.name, "run-r90a5593e0c204975a4d221b1f0674123");
  EXPECT_EQ(j.key, t.key);
  EXPECT_EQ(j.unit, t.unit);
  EXPECT_EQ(j.schedule, "*-*-* *:*:00/5");
  EXPECT_TRUE(is_live_timer_source(j.file));
  EXPECT_TRUE(monitorable(j));
  const DiscoveredJob d = to_discovered(j);
  EXPECT_EQ(d.schedule, "*-*-* *:*:00/5");
  EXPECT_TRUE(d.systemd_calendar);
  EXPECT_EQ(d.timezone, "Europe/Berlin");
  Config config;
  ZoneCache zones;
  auto m = resolve_monitor(config, &d, nullptr, zones);
  ASSERT_TRUE(m.has_value()) << m.error().message;
  EXPECT_EQ(m->name, "run-r90a5593e0c204975a4d221b1f0674123");
  ASSERT_TRUE(m->schedule.has_value());
  EXPECT_EQ(m->next_slot(at("2026-03-01T10:00:01Z")), at("2026-03-01T10:00:05Z"));
}

TEST(LiveTimerJob, AMonotonicTimerIsAHeartbeatAndAStoppedOneIsNoJob) {
  LiveTimer t = live("every5.timer");
  t.monotonic = {"OnActiveSec=1s", "OnUnitActiveSec=5s"};
  const DiscoveredJob d = to_discovered(live_timer_job(t, "UTC"));
  ASSERT_TRUE(d.heartbeat.has_value());
  EXPECT_EQ(d.heartbeat->period, 5s);
  EXPECT_TRUE(timer_runs(t));
  t.active_state = "inactive";
  EXPECT_FALSE(timer_runs(t));
  t.active_state = "active";
  t.loaded = false;
  EXPECT_FALSE(timer_runs(t));
  EXPECT_FALSE(is_live_timer_source("/etc/systemd/system/every5.timer"));
}

TEST(SkippedRun, AlertOnSkipIsASettingOfDefaultsMonitorsAndComments) {
  auto c =
      parse_config("defaults:\n  alert_on_skip: true\nmonitors:\n  - key: a\n    alert_on_skip: false\n", "agent.yaml");
  ASSERT_TRUE(c.has_value());
  EXPECT_TRUE(c->defaults.alert_on_skip);
  ASSERT_EQ(c->monitors.size(), 1u);
  EXPECT_EQ(c->monitors[0].settings.alert_on_skip, false);
  EXPECT_FALSE(Config{}.defaults.alert_on_skip) << "off by default";
  auto o = parse_job_comment("# cronitor: alert_on_skip=true");
  ASSERT_TRUE(o.has_value()) << o.error().message;
  EXPECT_EQ(o->alert_on_skip, true);
}

// Issue 17: names unique per host. A timer known only from the manager whose stem another
// monitor holds (a cron job running `backup`, an enabled timer whose stem slugs the same) yields:
// its unit's whole name, then numbered; its own name is never counted against it.
TEST(LiveTimerJob, ItsNameYieldsToAnotherMonitorsName) {
  std::set<std::string> held;
  auto taken = [&](const std::string& n) { return held.contains(n); };
  EXPECT_EQ(live_timer_name("backup.timer", taken), "backup");
  held = {"backup"};
  EXPECT_EQ(live_timer_name("backup.timer", taken), "backup-timer");
  held = {"backup", "backup-timer", "backup-timer-2"};
  EXPECT_EQ(live_timer_name("backup.timer", taken), "backup-timer-3");
  held = {"db-backup"};  // db_backup.timer, enabled, slugs the same
  EXPECT_EQ(live_timer_name("db-backup.timer", taken), "db-backup-timer");
  held = {"timer"};
  EXPECT_EQ(live_timer_name(".timer", taken), "timer-2");
}

}  // namespace
}  // namespace cronitor::agent
