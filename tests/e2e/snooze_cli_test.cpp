// Snooze and downtime (issue 13 items 5 and 11) with the real daemon, the real socket and a real
// HTTP receiver: `snooze` silences alerts but keeps the record, survives a restart and ends with a
// summary; a state.db that says the agent last ran hours ago gives one downtime notice, no misses.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "schedule/iso8601.h"
#include "tests/support/agent_process.h"
#include "tests/support/daemon_test.h"
#include "tests/support/http_recorder.h"
#include "tests/support/subprocess.h"

namespace {

using namespace cronitor::testing;

class Snooze : public DaemonTest {
 protected:
  Snooze() : DaemonTest("agent-snooze"), boot_before_(std::getenv("CRONITOR_BOOT_TIME")) {}
  ~Snooze() override { ::setenv("CRONITOR_BOOT_TIME", boot_before_.c_str(), 1); }  // a boot stated here ends here
  const std::string boot_before_;                                                  // set by the sandbox if not before
  std::string db() const { return (dir_ / "state/state.db").string(); }
  void write_config(const std::string& hook_url, const std::string& extra = "") {
    std::ofstream(config()) << sandbox_config("snooze-host") << "defaults:\n  alert_rate_limit: 0\n"
                            << extra << "notify:\n  default: [\"webhook:" << hook_url << "\"]\n"
                            << "monitors:\n"
                            << "  - key: nightly\n"
                            << "    name: Nightly billing\n"
                            << "    schedule: \"0 2 * * *\"\n"
                            << "  - key: minutely\n"
                            << "    schedule: \"* * * * *\"\n"
                            << "    grace_seconds: 30\n";
    fs::permissions(config(), fs::perms::owner_read | fs::perms::owner_write);
  }
  Output agent(std::vector<std::string> args) {
    args.insert(args.begin(), kAgent);
    args.insert(args.end(), {"--config", config()});
    return run_command(args);
  }
  /// The host the agent starts on next booted `ago` seconds before now (CRONITOR_BOOT_TIME).
  void state_boot(int64_t ago) { ::setenv("CRONITOR_BOOT_TIME", boot_seconds_ago(ago).c_str(), 1); }
  /// The stopped agent's state.db says it was last seen `ago` seconds before now, with the
  /// minutely monitor waiting for the slot after that.
  void stopped_since(int64_t ago) {
    const int64_t then = wall_now_us() - ago * 1000000;
    sql("UPDATE host SET state = json_set(state, '$.last_seen', " + std::to_string(then) + ")");
    sql("UPDATE jobs SET state = json_set(state, '$.expected', " +
        std::to_string(then / 60000000 * 60000000 + 60000000) + ") WHERE key = 'minutely'");
  }
  /// SQL on the stopped agent's state.db, through Python's sqlite3 (as a sysadmin's tool would).
  void sql(const std::string& statement) {
    auto r = run_command({"/usr/bin/python3", "-c",
                          "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()",
                          db(), statement});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  /// The recorded webhook events of one kind, in order.
  static std::vector<json> events(HttpRecorder& hook, const std::string& kind) {
    std::vector<json> out;
    for (const auto& r : hook.requests()) {
      auto body = json::parse(r.value("body", std::string()), nullptr, false);
      if (body.is_object() && body.value("event", "") == kind) out.push_back(body);
    }
    return out;
  }
};

TEST_F(Snooze, SilencesAlertsKeepsTheRecordSurvivesARestartAndEndsWithASummary) {
  HttpRecorder hook(kRecorder, dir_.string());
  ASSERT_GT(hook.port(), 0);
  write_config(hook.url("/hook"));
  ASSERT_TRUE(daemon_.start(config(), socket())) << daemon_.log();

  auto bad = agent({"snooze"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(has(bad.err, "snooze takes a duration (e.g. 30m) or --off")) << bad.err;
  auto sn = agent({"snooze", "30m", "--reason", "kernel upgrade"});
  ASSERT_EQ(sn.exit_code, 0) << sn.err;
  EXPECT_TRUE(std::regex_search(sn.out, std::regex("^snoozed until 20[0-9-]+T[0-9:]+\\+00:00 \\(for 30m\\): "
                                                   "kernel upgrade\n")))
      << sn.out;
  auto st = agent({"status"});
  EXPECT_TRUE(std::regex_search(st.out, std::regex("snoozed until 20[0-9-]+T[0-9:]+\\+00:00 \\(kernel upgrade\\)")))
      << st.out;

  // A failure while snoozed: recorded (history, incident), not sent.
  ASSERT_EQ(agent({"ping", "nightly", "--state", "fail", "--exit-code", "3"}).exit_code, 0);
  EXPECT_TRUE(daemon_.wait_for_log("alert (host snoozed: recorded, not sent): Nightly billing failed", 10s))
      << daemon_.log();
  auto hist = agent({"history", "nightly", "--json"});
  ASSERT_EQ(hist.exit_code, 0) << hist.err;
  EXPECT_EQ(json::parse(hist.out).size(), 1u) << hist.out;

  // Persisted: a restart keeps the snooze.
  daemon_.stop(SIGTERM);
  auto offline = json::parse(agent({"status", "--json"}).out);
  EXPECT_EQ(offline["snooze"]["reason"], "kernel upgrade") << offline.dump();
  ASSERT_TRUE(daemon_.start(config(), socket())) << daemon_.log();
  auto sj = json::parse(agent({"status", "--json"}).out);
  ASSERT_TRUE(sj["snooze"].is_object()) << sj.dump();
  EXPECT_EQ(sj["snooze"]["reason"], "kernel upgrade");
  EXPECT_EQ(sj["monitors"][0]["state"], "failing") << sj.dump();

  // The end: one summary of what is still open, then alerts flow again.
  auto off = agent({"snooze", "--off", "--json"});
  ASSERT_EQ(off.exit_code, 0) << off.err;
  EXPECT_TRUE(json::parse(off.out)["snooze"].is_null()) << off.out;
  auto ended = hook.wait_for([](const json& r) { return has(r.value("body", ""), "\"snooze-ended\""); }, 15s);
  ASSERT_FALSE(ended.is_null()) << daemon_.log();
  auto notice = json::parse(ended["body"].get<std::string>());
  EXPECT_EQ(notice["summary"], "Snooze ended on snooze-host: 1 incident is still open");
  EXPECT_TRUE(has(notice["detail"], "(kernel upgrade)")) << notice["detail"];
  EXPECT_TRUE(has(notice["detail"], "Nightly billing (failed since ")) << notice["detail"];
  EXPECT_TRUE(events(hook, "failed").empty()) << "the snoozed failure was sent";
  ASSERT_EQ(agent({"ping", "nightly", "--state", "fail", "--exit-code", "4"}).exit_code, 0);
  EXPECT_FALSE(hook.wait_for([](const json& r) { return has(r.value("body", ""), "exit code 4"); }, 15s).is_null())
      << daemon_.log();
  EXPECT_FALSE(has(agent({"status"}).out, "snoozed until"));
}

TEST_F(Snooze, AStateThatLastRanHoursAgoIsOneDowntimeNoticeAndNoMisses) {
  HttpRecorder hook(kRecorder, dir_.string());
  ASSERT_GT(hook.port(), 0);
  write_config(hook.url("/hook"));
  // The host booted a day ago: the agent alone was stopped for the 3 hours.
  state_boot(24 * 3600);
  ASSERT_TRUE(daemon_.start(config(), socket())) << daemon_.log();
  daemon_.stop(SIGTERM);
  stopped_since(3LL * 3600);
  ASSERT_TRUE(daemon_.start(config(), socket())) << daemon_.log();
  auto got = hook.wait_for([](const json& r) { return has(r.value("body", ""), "\"downtime\""); }, 15s);
  ASSERT_FALSE(got.is_null()) << daemon_.log();
  auto notice = json::parse(got["body"].get<std::string>());
  // The minutely job's slots in the window the notice names: each whole minute after the last
  // sign of life (`from`) and before the agent's start (`to`), as the evaluator counts them
  // (eval/downtime.cpp). The window is 3 hours and the moments the test and the agent took to
  // start, so a minute's turn in those moments makes it 181 instead of 180 (once in CI): counted
  // from the window itself, not from a range. The notice gives whole seconds (floored).
  const std::string summary = notice["summary"].get<std::string>();
  std::smatch m;
  ASSERT_TRUE(std::regex_match(summary, m,
                               std::regex("([0-9]+) runs on snooze-host were due while the agent was stopped \\(from "
                                          "([0-9T:-]+\\+00:00) to ([0-9T:-]+\\+00:00)\\)")))
      << summary;
  auto utc_seconds = [](const std::string& text) {  // the product's own reader of the format
    auto t = cronitor::schedule::parse_iso8601(text, cronitor::schedule::Zone::utc());
    EXPECT_TRUE(t.has_value()) << text;
    return t ? std::chrono::floor<std::chrono::seconds>(*t).time_since_epoch().count() : int64_t{0};
  };
  const int64_t from = utc_seconds(m[2]), to = utc_seconds(m[3]);
  EXPECT_NEAR(to - from, 3 * 3600, 30) << summary;
  const int64_t slots = to / 60 - from / 60;  // whole minutes in (from, to]
  // A start exactly on a minute (to's fraction 0) would leave that minute out: allowed, never seen.
  const int64_t told = std::stoll(m[1]);
  EXPECT_TRUE(told == slots || (to % 60 == 0 && told == slots - 1)) << summary << ": " << slots << " slots";
  EXPECT_TRUE(has(notice["detail"], "minutely: " + std::to_string(told) + " runs")) << notice["detail"];
  EXPECT_EQ(notice["incident"], "none");
  EXPECT_FALSE(has(daemon_.log(), "missed its run")) << daemon_.log();
  EXPECT_FALSE(has(daemon_.log(), "the host was down")) << daemon_.log();
  EXPECT_EQ(occurrences(daemon_.log(), "runs were due") + occurrences(daemon_.log(), "runs on snooze-host were due"),
            1u)
      << daemon_.log();
}

TEST_F(Snooze, ALastSignOfLifeBeforeTheBootIsHostDownThenAgentStopped) {
  HttpRecorder hook(kRecorder, dir_.string());
  ASSERT_GT(hook.port(), 0);
  write_config(hook.url("/hook"));
  ASSERT_TRUE(daemon_.start(config(), socket())) << daemon_.log();
  daemon_.stop(SIGTERM);
  // Last seen 3 hours ago, on a host that booted 1 hour ago: down for 2 hours, then 1 hour
  // without the agent. Two windows, two notices, no misses.
  stopped_since(3LL * 3600);
  state_boot(3600);
  ASSERT_TRUE(daemon_.start(config(), socket())) << daemon_.log();
  ASSERT_TRUE(wait_until([&] { return events(hook, "downtime").size() >= 2; }, 15s)) << daemon_.log();
  const auto notices = events(hook, "downtime");
  ASSERT_EQ(notices.size(), 2u) << daemon_.log();
  EXPECT_TRUE(std::regex_match(notices[0]["summary"].get<std::string>(),
                               std::regex("1(19|20|21) runs on snooze-host were due while the host was down \\(from "
                                          "[0-9T:+-]+ to [0-9T:+-]+\\)")))
      << notices[0]["summary"];
  EXPECT_TRUE(std::regex_match(notices[1]["summary"].get<std::string>(),
                               std::regex("(59|60|61) runs on snooze-host were due while the agent was stopped \\(from "
                                          "[0-9T:+-]+ to [0-9T:+-]+\\)")))
      << notices[1]["summary"];
  std::smatch first, second;
  const std::regex window("from ([0-9T:+-]+) to ([0-9T:+-]+)");
  const std::string s0 = notices[0]["summary"], s1 = notices[1]["summary"];
  ASSERT_TRUE(std::regex_search(s0, first, window));
  ASSERT_TRUE(std::regex_search(s1, second, window));
  // The first window ends where the second begins: at the boot.
  EXPECT_EQ(first[2].str(), second[1].str()) << s0 << " / " << s1;
  EXPECT_TRUE(daemon_.wait_for_log("the host was down from ", 10s)) << daemon_.log();
  EXPECT_TRUE(daemon_.wait_for_log("the agent was stopped from ", 10s)) << daemon_.log();
  EXPECT_FALSE(has(daemon_.log(), "missed its run")) << daemon_.log();
}

TEST_F(Snooze, DowntimeWithAlertOnDowntimeOffIsLoggedOnly) {
  HttpRecorder hook(kRecorder, dir_.string());
  ASSERT_GT(hook.port(), 0);
  write_config(hook.url("/hook"), "  alert_on_downtime: false\n");
  ASSERT_TRUE(daemon_.start(config(), socket())) << daemon_.log();
  daemon_.stop(SIGTERM);
  // Host down: the state says the agent last ran before the kernel booted. Off: logged only.
  stopped_since(3LL * 3600);
  state_boot(3600);
  ASSERT_TRUE(daemon_.start(config(), socket())) << daemon_.log();
  EXPECT_TRUE(daemon_.wait_for_log("the host was down from ", 10s)) << daemon_.log();
  EXPECT_TRUE(daemon_.wait_for_log("alert_on_downtime is false: no downtime notice sent", 10s)) << daemon_.log();
  EXPECT_FALSE(has(daemon_.log(), "missed its run")) << daemon_.log();
  // Alerts still flow (a test failure reaches the hook), and no downtime notice came before it.
  ASSERT_EQ(agent({"ping", "nightly", "--state", "fail", "--exit-code", "5"}).exit_code, 0);
  EXPECT_FALSE(hook.wait_for([](const json& r) { return has(r.value("body", ""), "exit code 5"); }, 15s).is_null());
  EXPECT_TRUE(events(hook, "downtime").empty());
}

}  // namespace
