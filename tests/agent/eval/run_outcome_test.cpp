// Exit-code maps and failure windows (issue: restic's exit 3, "3 of 10"), in simulated time.
#include "agent/eval/run_outcome.h"

#include <gtest/gtest.h>

#include "agent/config/config.h"
#include "agent/state/state_json.h"
#include "tests/agent/eval_helpers.h"

namespace cronitor::agent {
namespace {

using testing::at;
using testing::monitor;
using testing::Sim;
using K = Alert::Kind;
using T = Action::Type;

TEST(RunOutcome, ParsesWindowsAndCodes) {
  auto w = parse_failure_window("3 of 10");
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ(w->failures, 3);
  EXPECT_EQ(w->runs, 10);
  for (const char* bad : {"3", "0 of 10", "11 of 10", "3 of 65", "three of ten", "3of10", ""})
    EXPECT_FALSE(parse_failure_window(bad)) << bad;
  auto codes = parse_exit_codes("0, 3");
  ASSERT_TRUE(codes);
  EXPECT_EQ(*codes, (std::vector<int>{0, 3}));
  EXPECT_FALSE(parse_exit_codes("0,256"));
  EXPECT_FALSE(parse_exit_codes("0,,3"));
}

TEST(RunOutcome, SuccessCodesTurnAFailingExitIntoASuccess) {
  auto c = monitor("restic", "0 2 * * *");
  c.success_codes = {0, 3};
  Sim s(c, at("2026-01-01T00:00:00Z"));
  // restic exits 3 when some files could not be read: a success for this job, no alert.
  EXPECT_TRUE(s.job(at("2026-01-01T02:00:00Z"), 5, 3).empty());
  EXPECT_EQ(s.state.last_status, "ok");
  // A code outside the list fails, and so does a signal death whose 128+N happens to be listed.
  auto a = s.job(at("2026-01-02T02:00:00Z"), 5, 1);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].alert.kind, K::kFailed);
  s.config.success_codes = {0, 137};
  auto killed = testing::event("restic", "k", RunEvent::State::kFail, at("2026-01-03T02:00:05Z"), 137);
  killed.signal = "SIGKILL";
  s.send(testing::event("restic", "k", RunEvent::State::kRun, at("2026-01-03T02:00:00Z")));
  EXPECT_EQ(s.send(killed).size(), 1u);
  EXPECT_EQ(s.state.last_status, "failed");
}

TEST(RunOutcome, WarningsAreRecordedAndAlertOnlyPastTheirTolerance) {
  auto c = monitor("sync", "0 * * * *");
  c.warning_codes = {1};
  c.warning_tolerance = 2;
  Sim s(c, at("2026-01-01T00:00:00Z"));
  EXPECT_TRUE(s.job(at("2026-01-01T01:00:00Z"), 1, 1).empty());
  EXPECT_EQ(s.state.last_status, "warning");
  EXPECT_TRUE(s.job(at("2026-01-01T02:00:00Z"), 1, 1).empty());
  auto third = s.job(at("2026-01-01T03:00:00Z"), 1, 1);
  ASSERT_EQ(third.size(), 1u);
  EXPECT_EQ(third[0].type, T::kOpen);
  EXPECT_EQ(third[0].alert.summary, "sync warned: exit code 1 (3 warnings in a row)");
  // A clean run resolves it and starts the count again.
  auto ok = s.job(at("2026-01-01T04:00:00Z"), 1, 0);
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0].type, T::kResolve);
  EXPECT_TRUE(s.job(at("2026-01-01T05:00:00Z"), 1, 1).empty());
  EXPECT_EQ(s.state.consecutive_warnings, 1);
}

TEST(RunOutcome, FailureWindowAlertsWhenKOfTheLastNFailed) {
  auto c = monitor("flaky", "*/5 * * * *");
  c.failure_tolerance = 3;
  c.failure_window = 10;
  Sim s(c, at("2026-01-01T00:00:00Z"));
  // fail, ok, fail, ok, ok: two failures in the window, never two in a row, no alert yet.
  const int codes[] = {1, 0, 1, 0, 0};
  Instant t = at("2026-01-01T00:05:00Z");
  for (int code : codes) {
    EXPECT_TRUE(s.job(t, 1, code).empty());
    t += std::chrono::minutes(5);
  }
  auto a = s.job(t, 1, 2);  // the third failure among the last 6 runs
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].alert.kind, K::kFailed);
  EXPECT_NE(a[0].alert.detail.find("3 of the last 10 runs failed"), std::string::npos) << a[0].alert.detail;
  // Ten clean runs push the failures out of the window: a new failure alone does not alert again.
  for (int i = 0; i < 10; ++i) s.job(t += std::chrono::minutes(5), 1, 0);
  EXPECT_TRUE(s.job(t += std::chrono::minutes(5), 1, 1).empty());
}

TEST(RunOutcome, StateSurvivesARestart) {
  MonitorState st;
  st.consecutive_warnings = 2;
  st.recent_outcomes = 0b1011;
  EXPECT_EQ(nlohmann::json::parse(state_text(st)), to_json(st));
  auto back = monitor_state_from_json(nlohmann::json::parse(state_text(st)));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->consecutive_warnings, 2);
  EXPECT_EQ(back->recent_outcomes, 0b1011u);
}

TEST(RunOutcome, ConfigAndCommentForms) {
  auto o = parse_job_comment(
      "# cronitor: failure_tolerance=\"3 of 10\" success_codes=0,3 warning_codes=1 "
      "warning_tolerance=4");
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->failure_tolerance, 3);
  EXPECT_EQ(o->failure_window, 10);
  EXPECT_EQ(o->success_codes, (std::vector<int>{0, 3}));
  EXPECT_EQ(o->warning_codes, (std::vector<int>{1}));
  EXPECT_EQ(o->warning_tolerance, 4);
  EXPECT_FALSE(parse_job_comment("# cronitor: success_codes=0,300"));
}

}  // namespace
}  // namespace cronitor::agent
