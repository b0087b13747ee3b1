// Contract (issue 19, Healthchecks): with the project's API key, the real daemon creates each
// job's check through the Management API with the job's schedule, zone and grace before the job's
// first ping, against a fake Healthchecks on 127.0.0.1 that checks every request by the server's
// own rules (tests/support/healthchecks_rules.py: Spec, create_check, ping_by_slug); a restart
// sends nothing when nothing changed, a changed grace one update; a schedule the API cannot take
// gets plain pings and one warning naming the job.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/event.h"
#include "tests/support/agent_process.h"
#include "tests/support/daemon_test.h"
#include "tests/support/http_recorder.h"
#include "wrapper/agent_client.h"

namespace {

using namespace cronitor::testing;

constexpr const char* kApiKey = "hcw_0123456789abcdefghijklmnopqr";  // 32 characters, as the server wants

class HealthchecksApi : public ::testing::Test {
 protected:
  void TearDown() override { agent_.stop(SIGTERM); }
  void write_config(const HttpRecorder& rec, const std::string& nightly_grace) {
    std::ofstream(dir_ / "agent.yaml") << "state_dir: " << (dir_ / "state").string() << "\nsocket: " << socket_
                                       << "\nspool_dir: " << (dir_ / "spool").string()
                                       << "\nhostname: e2e-host\nmode: upstream\n"
                                          "discovery: {crontabs: false, systemd: false}\n"
                                          "uplink:\n  retry_min: 1\n  retry_max: 2\n  healthchecks:\n"
                                          "    ping_key: PKEY\n    ping_url: "
                                       << rec.url("/hc") << "\n    api_url: " << rec.url("")
                                       << "\n    api_key: " << kApiKey
                                       << "\nmonitors:\n"
                                          "  - key: nightly\n    name: Nightly report\n    schedule: \"30 2 * * *\"\n"
                                          "    timezone: Europe/Berlin\n    grace_seconds: "
                                       << nightly_grace
                                       << "\n"
                                          "  - key: often\n    schedule: every 5 minutes\n    grace_seconds: 60\n"
                                          "  - key: at-boot\n    schedule: \"@reboot\"\n";
    fs::permissions(dir_ / "agent.yaml", fs::perms::owner_read | fs::perms::owner_write);
  }
  void start() { ASSERT_TRUE(agent_.start((dir_ / "agent.yaml").string(), socket_)) << agent_.log(); }
  void run(const std::string& key, int n) {
    char id[40];
    std::snprintf(id, sizeof id, "%08x-0000-4000-8000-%012x", n, n);
    const int64_t ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    for (auto st : {cronitor::RunState::kRun, cronitor::RunState::kComplete}) {
      cronitor::RunEvent e;
      e.key = key;
      e.run_id = id;
      e.state = st;
      e.ts = cronitor::format_timestamp_ms(ms);
      e.host = "e2e-host";
      e.pid = 11;
      e.uid = 0;
      if (st == cronitor::RunState::kComplete) e.exit_code = 0, e.duration_ms = 100;
      ASSERT_TRUE(cronitor::wrapper::send_to_agent(socket_, cronitor::encode(e), 2000000)) << agent_.log();
    }
  }
  /// The API's requests, in the order the server got them.
  static std::vector<json> api_posts(const HttpRecorder& rec) {
    std::vector<json> out;
    for (auto& r : rec.requests())
      if (r["path"] == "/api/v3/checks/") out.push_back(r);
    return out;
  }
  static std::string all(const HttpRecorder& rec) {
    std::string s;
    for (auto& r : rec.requests())
      s += r["method"].get<std::string>() + " " + r["path"].get<std::string>() + " -> " +
           std::to_string(r["status"].get<int>()) + " " + r["body"].get<std::string>().substr(0, 300) + "\n";
    return s;
  }

  AgentSandbox box_{test_dir("hc-api")};
  const fs::path dir_ = box_.dir();
  const std::string socket_ = box_.socket();
  AgentProcess agent_{kAgent, (dir_ / "daemon.log").string()};
};

TEST_F(HealthchecksApi, EachCheckIsCreatedWithItsScheduleBeforeItsFirstPingAndUpdatedOnlyWhenItChanges) {
  HttpRecorder rec(kRecorder, dir_.string());
  rec.set_mode(std::string("healthchecks ") + kApiKey + " PKEY 20");
  write_config(rec, "300");
  start();
  if (HasFatalFailure()) return;
  // Runs reported at once: their pings must still wait for their check.
  run("nightly", 1);
  run("often", 2);
  run("at-boot", 3);
  auto ok_ping = [&](const std::string& prefix) {
    return rec.wait_for(
        [&](const json& r) { return r["path"].get<std::string>().starts_with(prefix) && r["status"] == 200; },
        std::chrono::seconds(15));
  };
  ASSERT_FALSE(ok_ping("/hc/PKEY/nightly/0?rid=").is_null()) << all(rec) << agent_.log();
  ASSERT_FALSE(ok_ping("/hc/PKEY/often/0?rid=").is_null()) << all(rec) << agent_.log();
  ASSERT_FALSE(ok_ping("/hc/PKEY/cronitor-agent-e2e-host").is_null()) << all(rec) << agent_.log();
  // No request the server refused: the checks existed before their first ping.
  for (auto& r : rec.requests()) {
    if (r["path"].get<std::string>().find("at-boot") == std::string::npos) {
      EXPECT_LT(r["status"].get<int>(), 300) << all(rec);
    }
  }
  auto posts = api_posts(rec);
  ASSERT_EQ(posts.size(), 3u) << "nightly, often and the agent's own heartbeat; @reboot has no schedule\n" << all(rec);
  std::map<std::string, json> by_slug;
  for (auto& p : posts) {
    EXPECT_EQ(p["status"], 201) << p.dump();
    EXPECT_EQ(p["headers"]["X-Api-Key"], kApiKey);
    auto b = json::parse(p["body"].get<std::string>());
    EXPECT_EQ(b["unique"], json::array({"slug"}));
    by_slug[b["slug"]] = b;
  }
  EXPECT_EQ(by_slug["nightly"]["schedule"], "30 2 * * *");
  EXPECT_EQ(by_slug["nightly"]["tz"], "Europe/Berlin");
  EXPECT_EQ(by_slug["nightly"]["grace"], 300);
  EXPECT_EQ(by_slug["nightly"]["name"], "Nightly report");
  EXPECT_EQ(by_slug["often"]["timeout"], 300);
  EXPECT_EQ(by_slug["often"]["grace"], 60);
  EXPECT_FALSE(by_slug["often"].contains("schedule"));
  EXPECT_EQ(by_slug["cronitor-agent-e2e-host"]["timeout"], 60);
  EXPECT_EQ(by_slug["cronitor-agent-e2e-host"]["grace"], 120);
  // @reboot: plain pings (404 here: nobody made its check) and one warning naming the job.
  EXPECT_NE(agent_.log().find("at-boot gets plain pings to its slug at-boot, no check through the API"),
            std::string::npos)
      << agent_.log();
  EXPECT_EQ(agent_.log().find(kApiKey), std::string::npos) << "the API key never reaches the log";

  // A restart with nothing changed sends nothing to the API.
  agent_.stop(SIGTERM);
  start();
  run("nightly", 4);
  ASSERT_FALSE(
      rec.wait_for(
             [](const json& r) { return r["path"].get<std::string>().starts_with("/hc/PKEY/nightly/0?rid=00000004"); },
             std::chrono::seconds(15))
          .is_null())
      << all(rec);
  EXPECT_EQ(api_posts(rec).size(), 3u) << all(rec);
  const std::string log = agent_.log();
  EXPECT_EQ(log.find("gets plain pings"), log.rfind("gets plain pings")) << "said once, not at each start\n" << log;

  // A changed grace: one update of that check (200), before its next ping.
  agent_.stop(SIGTERM);
  write_config(rec, "600");
  start();
  run("nightly", 5);
  ASSERT_FALSE(ok_ping("/hc/PKEY/nightly/0?rid=00000005").is_null()) << all(rec);
  posts = api_posts(rec);
  ASSERT_EQ(posts.size(), 4u) << all(rec);
  EXPECT_EQ(posts.back()["status"], 200) << all(rec);
  EXPECT_EQ(json::parse(posts.back()["body"].get<std::string>())["grace"], 600);
  std::ifstream in(dir_.string() + "/recorder.jsonl.checks");
  const json checks = json::parse(in);
  EXPECT_EQ(checks.size(), 3u) << checks.dump();
}

}  // namespace
