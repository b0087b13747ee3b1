// `suggest`: figures and settings from a job's own history, on the pure function and on a real
// state.db read by the real `cronitor-agent suggest`.
#include "agent/eval/tolerance_advice.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "agent/config/config.h"
#include "agent/state/state_store.h"
#include "tests/agent/eval_helpers.h"
#include "tests/support/subprocess.h"

namespace cronitor::agent {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::at;

// A finished run that started `delay_s` after `slot` and lasted `duration_ms`.
RunRow run(Instant slot, int delay_s, int64_t duration_ms, bool failed = false) {
  RunRow r;
  r.status = failed ? "failed" : "ok";
  r.started_ms = std::chrono::duration_cast<milliseconds>(slot.time_since_epoch()).count() + delay_s * 1000;
  r.duration_ms = duration_ms;
  r.ended_ms = *r.started_ms + duration_ms;
  return r;
}

TEST(ToleranceAdvice, MaxRuntimeIsTwoAndAHalfTimesTheP95AndCoversTheLongestRun) {
  const auto sched = schedule::Schedule::parse("30 2 * * *", schedule::Kind::kCron);
  ASSERT_TRUE(sched);
  std::vector<RunRow> runs;
  // 20 nightly runs of 10..19 minutes, starting 1..20 s after 02:30; two failed.
  for (int i = 0; i < 20; ++i)
    runs.push_back(run(at("2026-01-01T02:30:00Z") + std::chrono::days(i), 1 + i, (10 + i % 10) * 60'000, i < 2));
  const auto a = advise("backup", runs, *sched, schedule::Zone::utc(), seconds(60));
  EXPECT_EQ(a.runs, 20);
  EXPECT_EQ(a.failures, 2);
  EXPECT_DOUBLE_EQ(a.failure_rate(), 0.1);
  EXPECT_EQ(a.p50, milliseconds(14 * 60'000));
  EXPECT_EQ(a.p95, milliseconds(19 * 60'000));
  EXPECT_EQ(a.max, milliseconds(19 * 60'000));
  EXPECT_EQ(a.delay_p50, milliseconds(10'000));
  EXPECT_EQ(a.delay_p95, milliseconds(19'000));
  // 2 x 19 s + 60 s = 98 s, rounded up to 100 s; 2.5 x 19 min = 47.5 min, rounded up to 48 min.
  EXPECT_EQ(a.grace, seconds(100));
  ASSERT_TRUE(a.max_runtime);
  EXPECT_EQ(*a.max_runtime, seconds(48 * 60));
  EXPECT_EQ(a.comment(), "# cronitor: grace=1m40s assertion=\"metric.duration < 48m\"");
  EXPECT_EQ(a.yaml(), "- key: backup\n  grace_seconds: 100\n  assertions: [\"metric.duration < 48m\"]\n");
  // What it suggests parses back as a job comment.
  auto parsed = parse_job_comment(a.comment());
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->grace, seconds(100));
  ASSERT_TRUE(parsed->assertions);
  EXPECT_EQ(parsed->assertions->size(), 1u);
}

TEST(ToleranceAdvice, TooFewRunsGiveNoMaxRuntimeAndSaySo) {
  std::vector<RunRow> runs;
  for (int i = 0; i < 9; ++i) runs.push_back(run(at("2026-01-01T00:00:00Z") + std::chrono::hours(i), 0, 1000));
  RunRow open;
  open.status = "running";
  open.started_ms = 1;
  runs.push_back(open);  // an open run is not a duration
  const auto a = advise("k", runs, std::nullopt, schedule::Zone::utc(), seconds(90));
  EXPECT_EQ(a.runs, 9);
  EXPECT_FALSE(a.max_runtime);
  EXPECT_FALSE(a.delay_p95);  // no schedule: no slot to be late for
  EXPECT_EQ(a.grace, seconds(90));
  EXPECT_NE(a.why.find("10 are needed"), std::string::npos) << a.why;
}

TEST(ToleranceAdvice, AShortJobStillGetsAtLeastTenSeconds) {
  std::vector<RunRow> runs;
  for (int i = 0; i < 12; ++i) runs.push_back(run(at("2026-01-01T00:00:00Z") + std::chrono::minutes(i), 0, 50));
  const auto a = advise("k", runs, std::nullopt, schedule::Zone::utc(), seconds(60));
  ASSERT_TRUE(a.max_runtime);
  EXPECT_EQ(*a.max_runtime, seconds(10));
}

// The real binary on a real state.db: the figures arrive in JSON, and an unknown key is an error.
TEST(SuggestCli, ReadsHistoryFromStateDb) {
  const fs::path dir = fs::temp_directory_path() / ("suggest-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  {
    std::ofstream(dir / "agent.yaml") << "state_dir: " << dir.string() << "\nsocket: " << (dir / "agent.sock").string()
                                      << "\n";
    auto store = StateStore::open((dir / "state.db").string(), nullptr);
    ASSERT_TRUE(store) << store.error().message;
    ASSERT_TRUE(store->begin());
    MonitorConfig m = testing::monitor("nightly", "0 3 * * *");
    m.name = "nightly";
    ASSERT_TRUE(store->save_job(m, MonitorState{}));
    for (int i = 0; i < 12; ++i) {
      const Instant start = at("2026-02-01T03:00:05Z") + std::chrono::days(i);
      const std::string id = "r" + std::to_string(i);
      ASSERT_TRUE(store->record_event(testing::event("nightly", id, RunEvent::State::kRun, start), start));
      auto end = testing::event("nightly", id, RunEvent::State::kComplete, start + seconds(60), 0, 60'000);
      ASSERT_TRUE(store->record_event(end, end.ts));
    }
    ASSERT_TRUE(store->commit());
  }
  auto r = cronitor::testing::run_command(
      {CRONITOR_AGENT_BIN, "suggest", "--config", (dir / "agent.yaml").string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["key"], "nightly");
  EXPECT_EQ(j[0]["runs"], 12);
  EXPECT_EQ(j[0]["duration_ms"]["p95"], 60000);
  EXPECT_EQ(j[0]["start_delay_ms"]["p95"], 5000);
  EXPECT_EQ(j[0]["suggested"]["max_runtime_seconds"], 180);  // 2.5 x 60 s = 150 s, rounded up to 3 min
  EXPECT_EQ(j[0]["suggested"]["grace_seconds"], 70);         // 2 x 5 s + 60 s

  auto table = cronitor::testing::run_command(
      {CRONITOR_AGENT_BIN, "suggest", "nightly", "--config", (dir / "agent.yaml").string()});
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("# cronitor: grace=1m10s assertion=\"metric.duration < 3m\""), std::string::npos)
      << table.out;
  auto unknown = cronitor::testing::run_command(
      {CRONITOR_AGENT_BIN, "suggest", "nope", "--config", (dir / "agent.yaml").string()});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("no job \"nope\""), std::string::npos) << unknown.err;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cronitor::agent
