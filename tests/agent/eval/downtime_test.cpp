// Downtime (issue 13 item 5) and the snooze's end notice (item 11), in the evaluator's simulated
// clock: days of schedule pass in milliseconds.
#include "agent/eval/downtime.h"

#include <gtest/gtest.h>

#include "tests/agent/eval_helpers.h"

namespace cronitor::agent {
namespace {

using namespace std::chrono_literals;
using testing::at;
using testing::monitor;
using testing::Sim;

TEST(DowntimeWindows, FromTheLastSignOfLifeToTheBootOrTheStart) {
  HostState h;
  EXPECT_TRUE(downtime_windows(h, at("2026-05-01T00:00:00Z"), at("2026-05-02T00:00:00Z")).empty())
      << "a state that never saw the agent run has no downtime";
  // The agent stopped at 02:00 and the host kept running: the agent was stopped until now.
  h.last_seen = at("2026-05-01T02:00:00Z");
  auto w = downtime_windows(h, at("2026-04-01T00:00:00Z"), at("2026-05-01T05:00:00Z"));
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].cause, DowntimeWindow::Cause::kAgentStopped);
  EXPECT_EQ(w[0].from, at("2026-05-01T02:00:00Z"));
  EXPECT_EQ(w[0].to, at("2026-05-01T05:00:00Z"));
  // A restart within a minute is no downtime.
  EXPECT_TRUE(downtime_windows(h, at("2026-04-01T00:00:00Z"), at("2026-05-01T02:00:40Z")).empty());
  // The host booted at 04:59 and the agent came up 20 s later: the host was down, nothing else.
  w = downtime_windows(h, at("2026-05-01T04:59:00Z"), at("2026-05-01T04:59:20Z"));
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].cause, DowntimeWindow::Cause::kHostDown);
  EXPECT_EQ(w[0].from, at("2026-05-01T02:00:00Z"));
  EXPECT_EQ(w[0].to, at("2026-05-01T04:59:00Z"));
  // A recorded shutdown is where the host went down; an agent that started an hour after the
  // boot was stopped for that hour too.
  h.shutdown_at = at("2026-05-01T01:58:30Z");
  w = downtime_windows(h, at("2026-05-01T04:59:00Z"), at("2026-05-01T06:00:00Z"));
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0].from, at("2026-05-01T01:58:30Z"));
  EXPECT_EQ(w[1].cause, DowntimeWindow::Cause::kAgentStopped);
  EXPECT_EQ(w[1].from, at("2026-05-01T04:59:00Z"));
  // A shutdown that never happened (the boot is older) is ignored.
  h.shutdown_at = at("2026-05-01T01:58:30Z");
  w = downtime_windows(h, at("2026-04-01T00:00:00Z"), at("2026-05-01T05:00:00Z"));
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].cause, DowntimeWindow::Cause::kAgentStopped);
  EXPECT_EQ(w[0].from, at("2026-05-01T02:00:00Z"));
}

TEST(Downtime, HostDownIsOneNoticeNotMissesAndTheNextMissCountsFromOne) {
  MonitorConfig a = monitor("backup", "*/10 * * * *", "UTC", 60);
  MonitorConfig b = monitor("billing", "0 * * * *", "Europe/Berlin", 300);
  b.name = "billing run";
  std::vector<MonitorConfig> cfg{a, b};
  Sim sa(a, at("2026-05-01T00:00:00Z")), sb(b, at("2026-05-01T00:00:00Z"));
  for (Instant t = at("2026-05-01T00:00:00Z"); t <= at("2026-05-01T02:00:00Z"); t += 10min) {
    if (t > at("2026-05-01T00:00:00Z")) sa.job(t);
    if (t.time_since_epoch() % 1h == 0us && t > at("2026-05-01T00:00:00Z")) sb.job(t);
    sa.tick(t + 61s);
    sb.tick(t + 61s);
  }
  ASSERT_TRUE(sa.all.empty() && sb.all.empty());
  // Power lost after 02:00:30; the host boots at 05:00 and the agent starts at 05:00:20.
  const DowntimeWindow w{DowntimeWindow::Cause::kHostDown, at("2026-05-01T02:00:30Z"), at("2026-05-01T05:00:00Z")};
  std::vector<MonitorState> st{sa.state, sb.state};
  std::vector<uint32_t> changed;
  Actions out = evaluate_downtime(cfg, st, w, "vm", true, &changed);
  ASSERT_EQ(out.size(), 1u);
  const Alert& n = out[0].alert;
  EXPECT_EQ(out[0].type, Action::Type::kNotice);
  EXPECT_EQ(n.kind, Alert::Kind::kDowntime);
  EXPECT_EQ(n.key, "host:downtime");
  // backup: 02:10 ... 04:50 = 17 slots (02:00 ran); billing: 03:00, 04:00 = 2 slots (02:00 ran).
  EXPECT_EQ(
      n.summary,
      "19 runs on vm were due while the host was down (from 2026-05-01T02:00:30+00:00 to 2026-05-01T05:00:00+00:00)");
  EXPECT_NE(n.detail.find("backup: 17 runs (2026-05-01T02:10:00+00:00 to 2026-05-01T04:50:00+00:00)"),
            std::string::npos)
      << n.detail;
  EXPECT_NE(n.detail.find("billing run: 2 runs (2026-05-01T05:00:00+02:00 to 2026-05-01T06:00:00+02:00)"),
            std::string::npos)
      << n.detail;
  EXPECT_EQ(changed, (std::vector<uint32_t>{0, 1}));
  sa.state = st[0];
  sb.state = st[1];
  // The start: nothing is missed.
  EXPECT_TRUE(sa.tick(at("2026-05-01T05:00:20Z")).empty());
  EXPECT_TRUE(sb.tick(at("2026-05-01T05:00:20Z")).empty());
  EXPECT_EQ(sa.state.consecutive_misses, 0);
  // A real miss after the boot is the job's first, not its 18th.
  sa.job(at("2026-05-01T05:00:05Z"));
  auto missed = sa.tick(at("2026-05-01T05:11:01Z"));
  ASSERT_EQ(missed.size(), 1u);
  EXPECT_EQ(missed[0].alert.kind, Alert::Kind::kMissed);
  EXPECT_NE(missed[0].alert.detail.find("; 1 consecutive missed run(s)"), std::string::npos) << missed[0].alert.detail;
  EXPECT_EQ(missed[0].alert.summary.find("before it"), std::string::npos) << missed[0].alert.summary;
}

TEST(Downtime, AgentStoppedSpooledRunsCoverTheirSlotsAndTheRestIsOneNotice) {
  MonitorConfig wrapped = monitor("wrapped", "*/15 * * * *", "UTC", 60);
  MonitorConfig timer = monitor("timer", "0 * * * *", "UTC", 120);
  MonitorConfig paused = monitor("paused", "*/5 * * * *", "UTC", 60);
  paused.paused = true;
  std::vector<MonitorConfig> cfg{wrapped, timer, paused};
  Sim sw(wrapped, at("2026-05-01T00:00:00Z")), st(timer, at("2026-05-01T00:00:00Z")),
      sp(paused, at("2026-05-01T00:00:00Z"));
  // The agent stops at 00:05; the wrapper spools its runs at 00:15 ... 03:00, read at the start
  // at 03:00:10; nothing reports the timer's runs meanwhile.
  for (Instant t = at("2026-05-01T00:15:00Z"); t <= at("2026-05-01T03:00:00Z"); t += 15min) sw.job(t);
  std::vector<MonitorState> states{sw.state, st.state, sp.state};
  const DowntimeWindow w{DowntimeWindow::Cause::kAgentStopped, at("2026-05-01T00:05:00Z"), at("2026-05-01T03:00:10Z")};
  Actions out = evaluate_downtime(cfg, states, w, "vm", true);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].alert.summary,
            "3 runs on vm were due while the agent was stopped (from 2026-05-01T00:05:00+00:00 to "
            "2026-05-01T03:00:10+00:00)");
  EXPECT_EQ(out[0].alert.detail.find("wrapped"), std::string::npos) << out[0].alert.detail;
  EXPECT_EQ(out[0].alert.detail.find("paused"), std::string::npos) << out[0].alert.detail;
  EXPECT_NE(out[0].alert.detail.find("timer: 3 runs"), std::string::npos) << out[0].alert.detail;
  // Off: the slots still move on silently.
  std::vector<MonitorState> again{sw.state, st.state, sp.state};
  EXPECT_TRUE(evaluate_downtime(cfg, again, w, "vm", false).empty());
  EXPECT_EQ(again[1].expected, at("2026-05-01T04:00:00Z"));
  st.state = again[1];
  EXPECT_TRUE(st.tick(at("2026-05-01T03:00:10Z")).empty());
}

TEST(Downtime, ASlotWhoseDeadlinePassedWhileTheAgentRanIsARealMiss) {
  MonitorConfig c = monitor("job", "0 * * * *", "UTC", 60);
  Sim s(c, at("2026-05-01T00:30:00Z"));
  // Due 01:00, deadline 01:01; the agent ran until 01:05 (it would have said so) then stopped.
  std::vector<MonitorConfig> cfg{c};
  std::vector<MonitorState> st{s.state};
  const DowntimeWindow w{DowntimeWindow::Cause::kAgentStopped, at("2026-05-01T01:05:00Z"), at("2026-05-01T03:30:00Z")};
  EXPECT_TRUE(evaluate_downtime(cfg, st, w, "vm", true).empty());
  s.state = st[0];
  auto missed = s.tick(at("2026-05-01T03:30:00Z"));
  ASSERT_EQ(missed.size(), 1u);
  EXPECT_EQ(missed[0].alert.kind, Alert::Kind::kMissed);
}

TEST(Downtime, AJobKilledByTheShutdownBringsNoRecoveryAfterTheBoot) {
  MonitorConfig c = monitor("sync", "0 * * * *", "UTC", 120);
  Sim s(c, at("2026-05-01T00:30:00Z"));
  s.job(at("2026-05-01T01:00:00Z"));
  // The shutdown begins at 01:10; the job's run is killed at 01:10:05 (the daemon records this
  // fault without sending it); the host boots at 01:20.
  s.send(testing::event("sync", "r-k", RunEvent::State::kRun, at("2026-05-01T01:09:00Z")));
  auto killed = s.send(testing::event("sync", "r-k", RunEvent::State::kFail, at("2026-05-01T01:10:05Z"), 143));
  ASSERT_EQ(killed.size(), 1u);
  ASSERT_TRUE(s.state.incident.has_value());
  std::vector<MonitorConfig> cfg{c};
  std::vector<MonitorState> st{s.state};
  std::vector<uint32_t> changed;
  const DowntimeWindow w{DowntimeWindow::Cause::kHostDown, at("2026-05-01T01:10:00Z"), at("2026-05-01T01:20:00Z")};
  EXPECT_TRUE(evaluate_downtime(cfg, st, w, "vm", true, &changed).empty());  // no slot fell inside
  EXPECT_EQ(changed, std::vector<uint32_t>{0});
  EXPECT_FALSE(st[0].incident.has_value());
  s.state = st[0];
  EXPECT_TRUE(s.job(at("2026-05-01T02:00:00Z")).empty()) << "a recovery of an incident nobody was told about";
  // An incident older than the window (told before the shutdown) stays open and recovers aloud.
  s.job(at("2026-05-01T03:00:00Z"), 1, 2);
  st = {s.state};
  evaluate_downtime(cfg, st, {DowntimeWindow::Cause::kHostDown, at("2026-05-01T03:10:00Z"), at("2026-05-01T03:20:00Z")},
                    "vm", true);
  ASSERT_TRUE(st[0].incident.has_value());
}

TEST(Downtime, AYearOffIsCountedToABoundAndSaidSo) {
  MonitorConfig c = monitor("minutely", "* * * * *", "UTC", 30);
  Sim s(c, at("2026-01-01T00:00:00Z"));
  std::vector<MonitorConfig> cfg{c};
  std::vector<MonitorState> st{s.state};
  const DowntimeWindow w{DowntimeWindow::Cause::kHostDown, at("2026-01-01T00:00:00Z"), at("2027-01-01T00:00:00Z")};
  Actions out = evaluate_downtime(cfg, st, w, "", true);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].alert.summary.starts_with("More than 1000 runs were due while the host was down"))
      << out[0].alert.summary;
  EXPECT_EQ(st[0].expected, at("2027-01-01T00:00:00Z"));
}

TEST(Snooze, TheEndNoticeListsTheIncidentsStillOpen) {
  EXPECT_FALSE(snooze_end_notice(at("2026-05-01T10:30:00Z"), at("2026-05-01T10:00:00Z"), "", {}, "vm"));
  std::vector<OpenIncident> open{
      {"billing",
       Incident{at("2026-05-01T10:05:00Z"), "failed", 1, at("2026-05-01T10:05:00Z"), "billing failed: exit code 2"}},
      {"cron daemon", Incident{at("2026-05-01T10:10:00Z"), "cron-down", 1, at("2026-05-01T10:10:00Z"), "no pid file"}}};
  auto n = snooze_end_notice(at("2026-05-01T10:30:00Z"), at("2026-05-01T10:00:00Z"), "kernel upgrade", open, "vm");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->alert.kind, Alert::Kind::kSnoozeEnded);
  EXPECT_STREQ(kind_name(n->alert.kind), "snooze-ended");
  EXPECT_EQ(n->alert.summary, "Snooze ended on vm: 2 incidents are still open");
  EXPECT_NE(n->alert.detail.find("(kernel upgrade)"), std::string::npos) << n->alert.detail;
  EXPECT_NE(n->alert.detail.find("billing (failed since 2026-05-01T10:05:00+00:00: billing failed: exit code 2)"),
            std::string::npos)
      << n->alert.detail;
  EXPECT_NE(n->alert.detail.find("cron daemon (cron-down since"), std::string::npos) << n->alert.detail;
}

}  // namespace
}  // namespace cronitor::agent
