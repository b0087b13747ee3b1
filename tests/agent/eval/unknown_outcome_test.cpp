// Issue 17 item 5: a run whose outcome nobody saw (a job seen only in cron's log at its default
// -L 1, which logs the start alone) is "outcome unknown" everywhere: in state.db, `status`,
// `history` (text and JSON) and alerts. It is never "ok, exit 0", never the last success, never
// a recovery, never a failure.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "agent/control/status_view.h"
#include "agent/state/state_json.h"
#include "agent/state/state_store.h"
#include "tests/agent/eval_helpers.h"

namespace cronitor::agent {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::at;
using testing::event;
using testing::monitor;
using testing::Sim;
using K = Alert::Kind;

/// A run seen only by its start: `run`, then its end of unknown outcome at the same instant.
Actions unknown_run(Sim& s, const std::string& id, Instant start) {
  Actions out = s.send(event(s.config.key, id, RunEvent::State::kRun, start));
  auto more = s.send(event(s.config.key, id, RunEvent::State::kUnknown, start));
  out.insert(out.end(), more.begin(), more.end());
  return out;
}

TEST(UnknownOutcome, IsNeitherSuccessNorFailureAndNeverTheLastSuccess) {
  Sim s(monitor("cron-daily", "* * * * *"), at("2026-01-01T00:00:30Z"));
  s.job(at("2026-01-01T00:01:00Z"));  // a success seen (ends at 00:01:01)
  EXPECT_TRUE(unknown_run(s, "u1", at("2026-01-01T00:02:00Z")).empty());
  EXPECT_TRUE(unknown_run(s, "u2", at("2026-01-01T00:03:00Z")).empty());
  EXPECT_EQ(s.state.last_status, "unknown");
  EXPECT_FALSE(s.state.last_exit_code.has_value());
  EXPECT_FALSE(s.state.last_duration_ms.has_value());
  EXPECT_TRUE(s.state.open_runs.empty());  // closed: no overlap, no hung run later
  EXPECT_EQ(s.state.last_success, at("2026-01-01T00:01:01Z"));
  EXPECT_EQ(s.state.consecutive_good, 1);
  EXPECT_EQ(s.state.recent_outcomes, 0u);
  // A failure seen later names the seen success as the last one, and counts only itself.
  auto a = s.job(at("2026-01-01T00:04:00Z"), 1, 3);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].alert.kind, K::kFailed);
  EXPECT_EQ(a[0].alert.last_success, at("2026-01-01T00:01:01Z"));
  EXPECT_EQ(a[0].alert.failed_since_success, 1);
}

TEST(UnknownOutcome, NeverRecoversAnIncidentNorFailsAgain) {
  Sim s(monitor("cron-daily", "* * * * *"), at("2026-01-01T00:00:30Z"));
  auto f = s.job(at("2026-01-01T00:01:00Z"), 1, 2);
  ASSERT_EQ(f.size(), 1u);
  ASSERT_TRUE(s.state.incident);
  for (int i = 0; i < 3; ++i) {
    const Instant t = at("2026-01-01T00:02:00Z") + std::chrono::minutes(i);
    EXPECT_TRUE(unknown_run(s, "u" + std::to_string(i), t).empty()) << i;  // no recovery, no fault
    EXPECT_TRUE(s.tick(t + std::chrono::seconds(30)).empty()) << i;        // it ran: no miss either
  }
  ASSERT_TRUE(s.state.incident);
  EXPECT_EQ(s.state.consecutive_failures, 1);
  EXPECT_EQ(s.state.failed_since_success, 1);
  EXPECT_FALSE(s.state.last_success.has_value());
  EXPECT_EQ(state_word(s.state, false), "failing");
  // The first run seen to succeed recovers it, and says what failed before it: one run, not four.
  auto r = s.job(at("2026-01-01T00:05:00Z"));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].alert.kind, K::kRecovered);
  EXPECT_NE(r[0].alert.detail.find("1 run failed before this one"), std::string::npos) << r[0].alert.detail;
}

TEST(UnknownOutcome, AGoodRunAfterOnlyUnknownRunsIsNoRecovery) {
  Sim s(monitor("cron-daily", "* * * * *"), at("2026-01-01T00:00:30Z"));
  unknown_run(s, "u1", at("2026-01-01T00:01:00Z"));
  unknown_run(s, "u2", at("2026-01-01T00:02:00Z"));
  EXPECT_FALSE(s.state.last_success.has_value());
  auto r = s.job(at("2026-01-01T00:03:00Z"));
  EXPECT_TRUE(r.empty());  // nothing was failing: nothing recovers
  for (const auto& a : s.all) EXPECT_NE(a.alert.kind, K::kRecovered) << a.alert.summary;
}

TEST(UnknownOutcome, StatusSaysOutcomeUnknownNeverOkExitZero) {
  Sim s(monitor("cron-daily", "*/10 * * * *"), at("2026-05-01T10:00:00Z"));
  s.job(at("2026-05-01T10:00:00Z"), 2, 0);
  unknown_run(s, "u1", at("2026-05-01T10:10:00Z"));
  const json st = status_json("cron-daily", "cron-daily", "*/10 * * * *", "UTC", "/etc/crontab:19", s.state);
  EXPECT_EQ(st["state"], "unknown") << st.dump();
  const json& last = st["last_run"];
  ASSERT_TRUE(last.is_object()) << st.dump();
  EXPECT_EQ(last["status"], "unknown");
  EXPECT_EQ(last["started"], "2026-05-01T10:10:00+00:00");
  EXPECT_TRUE(last["exit_code"].is_null());
  EXPECT_TRUE(last["duration_ms"].is_null());
  EXPECT_TRUE(last["ended"].is_null());
  const std::string table = status_table(json::array({st}));
  EXPECT_NE(table.find("outcome unknown"), std::string::npos) << table;
  EXPECT_EQ(table.find(" ok "), std::string::npos) << table;
  EXPECT_EQ(table.find(" ms"), std::string::npos) << table;  // no "0 ms": the duration is not known
}

TEST(UnknownOutcome, HistoryRowsSayOutcomeUnknownInTextAndJson) {
  RunRow r;
  r.key = "cron-daily";
  r.run_id = "0e0e0e0e-0e0e-4e0e-8e0e-0e0e0e0e0e0e";
  r.status = "unknown";
  r.started_ms = 1777629000000;
  r.host = "h";
  const json j = run_json(r);
  EXPECT_EQ(j["status"], "unknown");
  EXPECT_TRUE(j["exit_code"].is_null());
  EXPECT_TRUE(j["duration_ms"].is_null());
  EXPECT_TRUE(j["ended"].is_null());
  EXPECT_FALSE(j["started"].is_null());
  const std::string table = history_table(json::array({j}));
  EXPECT_NE(table.find("outcome unknown"), std::string::npos) << table;
  EXPECT_EQ(table.find("ok"), std::string::npos) << table;
  EXPECT_EQ(table.find(" ms"), std::string::npos) << table;
}

class UnknownOutcomeStore : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_ = fs::temp_directory_path() / ("agent-unknown-" + std::to_string(::getpid()));
};

TEST_F(UnknownOutcomeStore, IsStoredWithItsStartAndNoEndExitOrDuration) {
  const std::string path = (dir_ / "state.db").string();
  {
    auto s = StateStore::open(path, nullptr);
    ASSERT_TRUE(s) << s.error().message;
    ASSERT_TRUE(s->begin());
    const Instant t = at("2026-05-01T10:10:00Z");
    EXPECT_EQ(s->record_event(event("cron-daily", "u1", RunEvent::State::kRun, t), t), true);
    auto end = event("cron-daily", "u1", RunEvent::State::kUnknown, t);
    EXPECT_EQ(s->record_event(end, t), true);
    EXPECT_EQ(s->record_event(end, t), false);  // idempotent by run id and end, as every end
    // Its `run` lost: the unknown end alone is the run, at its start.
    auto alone = event("cron-daily", "u2", RunEvent::State::kUnknown, at("2026-05-01T10:20:00Z"));
    EXPECT_EQ(s->record_event(alone, alone.ts), true);
    ASSERT_TRUE(s->commit());
  }
  // Read back as `status` and `history` do with the daemon stopped (same schema version).
  auto ro = StateStore::open_readonly(path);
  ASSERT_TRUE(ro) << ro.error().message;
  auto h = ro->history("cron-daily", 10);
  ASSERT_TRUE(h);
  ASSERT_EQ(h->size(), 2u);
  for (const RunRow& r : *h) {
    EXPECT_EQ(r.status, "unknown") << r.run_id;
    EXPECT_FALSE(r.exit_code.has_value()) << r.run_id;
    EXPECT_FALSE(r.ended_ms.has_value()) << r.run_id;
    EXPECT_FALSE(r.duration_ms.has_value()) << r.run_id;
  }
  EXPECT_EQ((*h)[1].started_ms, to_ms(at("2026-05-01T10:10:00Z")));
  EXPECT_EQ((*h)[0].started_ms, to_ms(at("2026-05-01T10:20:00Z")));
}

}  // namespace
}  // namespace cronitor::agent
