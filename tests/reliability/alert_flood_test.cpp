// Alerts are bounded: a job that flaps between failure and success for 10,000 runs, reported to the
// real `cronitor-agent run` over its socket, gives a handful of webhook messages (one "flapping"
// incident), and a per-target rate limit sums up what it held back in one digest message.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "common/event.h"
#include "tests/support/agent_process.h"
#include "tests/support/daemon_test.h"
#include "tests/support/http_recorder.h"
#include "tests/support/subprocess.h"
#include "wrapper/agent_client.h"

namespace {

using namespace cronitor::testing;

class AlertFlood : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    agent_.stop(SIGTERM);
    fs::remove_all(dir_);
  }
  void start(const std::string& url, const std::string& defaults) {
    const std::string config = (dir_ / "agent.yaml").string();
    std::ofstream(config) << "state_dir: " << (dir_ / "state").string() << "\n"
                          << "socket: " << socket_ << "\n"
                          << "spool_dir: " << (dir_ / "spool").string() << "\n"
                          << "hostname: flood-host\n"
                          << "discovery: {crontabs: false, systemd: false}\n"
                          << "notify:\n  ops: [\"webhook:" << url << "\"]\n"
                          << "defaults:\n  notify: [ops]\n"
                          << defaults << "monitors:\n"
                          << "  - key: flappy\n"
                          << "    schedule: every 1 hour\n";
    ASSERT_TRUE(agent_.start(config, socket_)) << agent_.log();
  }
  /// One run of "flappy" over the agent socket, as the wrapper reports it; true when acknowledged.
  bool run(int n, bool fail) {
    char id[40];
    std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", n);
    cronitor::RunEvent e;
    e.key = "flappy";
    e.run_id = id;
    e.host = "flood-host";
    e.pid = ::getpid();
    e.uid = ::getuid();
    const int64_t ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    e.ts = cronitor::format_timestamp_ms(ms);
    if (!cronitor::wrapper::send_to_agent(socket_, cronitor::encode(e), 2000000)) return false;
    e.state = fail ? cronitor::RunState::kFail : cronitor::RunState::kComplete;
    e.exit_code = fail ? 3 : 0;
    e.duration_ms = 1;
    e.ts = cronitor::format_timestamp_ms(ms + 1);
    return static_cast<bool>(cronitor::wrapper::send_to_agent(socket_, cronitor::encode(e), 2000000));
  }
  /// Outbox rows: all (every message the agent will ever send for these alerts) and pending.
  std::pair<int64_t, int64_t> outbox() const {
    sqlite3* db = nullptr;
    std::pair<int64_t, int64_t> out{-1, -1};
    if (sqlite3_open_v2((dir_ / "state" / "state.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
      sqlite3_busy_timeout(db, 2000);
      sqlite3_stmt* st = nullptr;
      if (sqlite3_prepare_v2(db, "SELECT count(*), count(*) FILTER (WHERE state = 'pending') FROM outbox", -1, &st,
                             nullptr) == SQLITE_OK &&
          sqlite3_step(st) == SQLITE_ROW)
        out = {sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1)};
      sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return out;
  }
  static std::string event_of(const json& r) {
    auto body = json::parse(r["body"].get<std::string>(), nullptr, false);
    return body.is_object() ? body.value("event", "") : "";
  }
  static std::string summary_of(const json& r) {
    auto body = json::parse(r["body"].get<std::string>(), nullptr, false);
    return body.is_object() ? body.value("summary", "") : "";
  }

  fs::path dir_ = fs::temp_directory_path() / ("alert-flood-" + std::to_string(::getpid()) + "-" +
                                               ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::string socket_ = (dir_ / "agent.sock").string();
  AgentProcess agent_{kAgent, (dir_ / "daemon.log").string()};
};

TEST_F(AlertFlood, TenThousandFlappingRunsSendAHandfulOfMessages) {
  HttpRecorder hook(kRecorder, dir_.string());
  ASSERT_GT(hook.port(), 0);
  start(hook.url("/hook"), "");  // the defaults: flapping 5 changes in 1 h, 20 messages per 10 min
  const auto t0 = std::chrono::steady_clock::now();
  int acked = 0;
  for (int i = 0; i < 10000; ++i) acked += run(i, i % 2 == 0) ? 1 : 0;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(acked, 10000) << agent_.log().substr(0, 2000);
  // Every run (and the alerts it caused) was stored before its ack: once the outbox holds nothing
  // pending, every message there will ever be for these runs has reached the receiver.
  ASSERT_TRUE(wait_until([&] { return outbox().second == 0; }, 30s)) << agent_.log().substr(0, 2000);
  ASSERT_TRUE(wait_until([&] { return static_cast<int64_t>(hook.requests().size()) >= outbox().first; }, 10s));
  const auto reqs = hook.requests();
  int failed = 0, recovered = 0, flapping = 0;
  for (const auto& r : reqs) {
    const std::string ev = event_of(r);
    failed += ev == "failed";
    recovered += ev == "recovered";
    flapping += ev == "flapping";
  }
  std::printf(
      "alert flood: 10000 runs (5000 failed) in %.1f s -> %zu webhook messages (%d failed, %d recovered, "
      "%d flapping); before: one per change (8,837 of 10,000 runs)\n",
      secs, reqs.size(), failed, recovered, flapping);
  EXPECT_EQ(flapping, 1);
  EXPECT_EQ(failed, 2);
  EXPECT_EQ(recovered, 2);
  EXPECT_LE(reqs.size(), 10u);
}

TEST_F(AlertFlood, RateLimitHoldsBackAndSendsOneDigest) {
  HttpRecorder hook(kRecorder, dir_.string());
  ASSERT_GT(hook.port(), 0);
  // Flapping detection off, so that every change is an alert: 3 messages per 3 s get through.
  start(hook.url("/hook"), "  flapping_threshold: 0\n  alert_rate_limit: 3\n  alert_rate_window: 3s\n");
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(run(i, i % 2 == 0)) << agent_.log();
  // 40 alerts (20 failed, 20 recovered): 3 sent, 37 held; the digest comes when the window ends.
  auto digest = hook.wait_for([](const json& r) { return event_of(r) == "digest"; }, 15s);
  ASSERT_FALSE(digest.is_null()) << agent_.log();
  const std::string summary = summary_of(digest);
  std::printf("digest: \"%s\"\n", summary.c_str());
  EXPECT_NE(summary.find("37 more alerts suppressed in the last 3s: see `cronitor-agent status`"), std::string::npos)
      << summary;
  int others = 0;
  for (const auto& r : hook.requests()) others += event_of(r) != "digest";
  EXPECT_EQ(others, 3);
  EXPECT_NE(agent_.log().find("rate limit reached"), std::string::npos);
  // status says how many were held back.
  auto st = cronitor::testing::run_command({kAgent, "status", "--config", (dir_ / "agent.yaml").string()});
  EXPECT_NE(st.out.find("37 alert message(s) held back by alert_rate_limit"), std::string::npos) << st.out;
  // A new window: the next alert goes out at once.
  ASSERT_TRUE(run(100, true));
  EXPECT_TRUE(wait_until([&] { return hook.requests().size() >= 5; }, 10s)) << hook.requests().size();
  EXPECT_EQ(event_of(hook.requests().back()), "failed");
}

}  // namespace
