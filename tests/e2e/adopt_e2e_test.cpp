// Jobs already instrumented for an upstream keep their identity (issue 19): one crontab line per
// form (runitor -uuid, a curl ping by slug, sentry-cli monitors run, cronitor exec) is found by
// `discover`, moved onto cronitor-exec by `wrap --adopt`, its runs reach the same upstream check
// through the real daemon and loopback HTTP receivers, and `unwrap` restores the file byte for byte.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "common/event.h"
#include "tests/support/agent_process.h"
#include "tests/support/daemon_test.h"
#include "tests/support/http_recorder.h"
#include "tests/support/subprocess.h"
#include "wrapper/agent_client.h"

namespace {

using namespace cronitor::testing;

constexpr const char* kUuid = "5f0c7e2a-8d3b-4c1e-9a4f-0b6d2e8c1a37";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

class AdoptE2E : public ::testing::Test {
 protected:
  void TearDown() override { agent_.stop(SIGTERM); }

  AgentSandbox box_{test_dir("adopt-e2e")};
  const fs::path dir_ = box_.dir();
  const fs::path root_ = dir_ / "root";
  const std::string socket_ = box_.socket();
  AgentProcess agent_{kAgent, (dir_ / "daemon.log").string()};
};

TEST_F(AdoptE2E, EachFormKeepsItsCheckAndUnwrapRestoresTheFile) {
  // A host with an installed (root's) wrapper, so that `wrap` writes /usr/bin/cronitor-exec.
  fs::create_directories(root_ / "etc/cron.d");
  fs::create_directories(root_ / "usr/bin");
  for (const auto& d : {root_, root_ / "etc", root_ / "etc/cron.d", root_ / "usr", root_ / "usr/bin"})
    fs::permissions(d, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec | fs::perms::others_read |
                           fs::perms::others_exec);
  std::ofstream(root_ / "usr/bin/cronitor-exec") << "#!/bin/sh\n";
  fs::permissions(root_ / "usr/bin/cronitor-exec", fs::perms::owner_all | fs::perms::group_read |
                                                       fs::perms::group_exec | fs::perms::others_read |
                                                       fs::perms::others_exec);
  const std::string original = std::string("# jobs instrumented by hand\n") + "30 2 * * * root runitor -uuid " + kUuid +
                               " -- /usr/local/bin/backup.sh --full\n" +
                               "15 3 * * * root /usr/bin/pg-dump.sh && curl -fsS -m 10 --retry 5 -o /dev/null "
                               "https://hc-ping.com/PKEY/db-dump/$?\n"
                               "# cronitor: grace=5m\n"
                               "0 4 * * 1 root sentry-cli monitors run weekly-report -- python3 /srv/report.py\n"
                               "*/5 * * * * root cronitor exec d3x0c1 \"cd /srv && ./sync.sh\" > /dev/null 2>&1\n";
  const fs::path crontab = root_ / "etc/cron.d/instrumented";
  std::ofstream(crontab) << original;
  fs::permissions(crontab,
                  fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);

  // discover shows the tool and the identity, and the agent would not wrap these lines.
  const Output found = run_command({kAgent, "discover", "--root", root_.string(), "--json"});
  ASSERT_EQ(found.exit_code, 0) << found.err;
  std::map<int, std::string> key_of;  // line -> the agent's key
  std::map<int, json> instr;
  for (const auto& j : json::parse(found.out)) {
    if (j["file"] != "/etc/cron.d/instrumented") continue;
    key_of[j["line"].get<int>()] = j["key"];
    instr[j["line"].get<int>()] = j.value("instrumented", json());
    EXPECT_FALSE(j["wrapped"].get<bool>()) << j.dump();
  }
  ASSERT_EQ(instr.size(), 4u) << found.out;
  EXPECT_EQ(instr[2]["tool"], "runitor");
  EXPECT_EQ(instr[2]["id"], kUuid);
  EXPECT_EQ(instr[3]["tool"], "curl");
  EXPECT_EQ(instr[3]["setting"], "healthchecks_slug");
  EXPECT_EQ(instr[5]["tool"], "sentry-cli");
  EXPECT_EQ(instr[5]["id"], "weekly-report");
  EXPECT_EQ(instr[6]["tool"], "cronitor");
  EXPECT_EQ(instr[6]["id"], "d3x0c1");
  const Output plain = run_command({kAgent, "wrap", "--root", root_.string(), "--state-dir", (dir_ / "s").string()});
  EXPECT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(slurp(crontab), original) << "wrap without --adopt leaves instrumented lines alone";

  const Output adopt =
      run_command({kAgent, "wrap", "--adopt", "--root", root_.string(), "--state-dir", (dir_ / "s").string()});
  ASSERT_EQ(adopt.exit_code, 0) << adopt.err;
  const std::string adopted = slurp(crontab);
  EXPECT_NE(adopted.find("/usr/bin/cronitor-exec " + key_of[2] + " -- '/usr/local/bin/backup.sh --full'"),
            std::string::npos)
      << adopted;
  EXPECT_EQ(adopted.find("runitor -uuid"), adopted.find("original=\"runitor -uuid") + 10)
      << "runitor runs no more, its command is kept in the comment: " << adopted;

  // The daemon reports the adopted jobs' runs under their upstream identities.
  HttpRecorder rec(kRecorder, dir_.string());
  std::ofstream(dir_ / "agent.yaml") << "state_dir: " << (dir_ / "state").string() << "\nsocket: " << socket_
                                     << "\nspool_dir: " << box_.spool()
                                     << "\nhostname: e2e-host\nmode: upstream\n"
                                        "discovery: {root: "
                                     << root_.string()
                                     << ", crontabs: true, systemd: false, auto_wrap: false}\n"
                                        "uplink:\n  retry_min: 1\n  retry_max: 2\n"
                                        "  cronitor: {api_key: SECRETKEY42, sync_monitors: false, telemetry_url: \""
                                     << rec.url("") << "\"}\n  healthchecks: {ping_key: PKEY, ping_url: \""
                                     << rec.url("/hc") << "\"}\n  sentry: {dsn: \""
                                     << rec.url("").replace(0, 7, "http://PUB@") << "/42\"}\n";
  fs::permissions(dir_ / "agent.yaml", fs::perms::owner_read | fs::perms::owner_write);
  ASSERT_TRUE(agent_.start((dir_ / "agent.yaml").string(), socket_)) << agent_.log();
  const int64_t t =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  int n = 0;
  for (const auto& [line, key] : key_of) {
    cronitor::RunEvent e;
    e.key = key;
    char run[40];
    ++n;
    std::snprintf(run, sizeof run, "%08x-0000-4000-8000-%012x", n, n);
    e.run_id = run;
    e.host = "e2e-host";
    e.pid = 11;
    e.uid = 0;
    e.state = cronitor::RunState::kRun;
    e.ts = cronitor::format_timestamp_ms(t);
    ASSERT_TRUE(cronitor::wrapper::send_to_agent(socket_, cronitor::encode(e), 2000000));
    e.state = cronitor::RunState::kComplete;
    e.exit_code = 0;
    e.duration_ms = 1000;
    e.ts = cronitor::format_timestamp_ms(t + 1000);
    ASSERT_TRUE(cronitor::wrapper::send_to_agent(socket_, cronitor::encode(e), 2000000));
  }
  auto got = [&](const std::string& prefix) {
    return !rec.wait_for([&](const json& r) { return r["path"].get<std::string>().starts_with(prefix); },
                         std::chrono::seconds(15))
                .is_null();
  };
  EXPECT_TRUE(got(std::string("/hc/") + kUuid + "/start?rid=")) << agent_.log();
  EXPECT_TRUE(got(std::string("/hc/") + kUuid + "/0?rid=")) << agent_.log();
  EXPECT_TRUE(got("/hc/PKEY/db-dump/0?rid=")) << agent_.log();
  EXPECT_TRUE(got("/api/42/cron/weekly-report/PUB/")) << agent_.log();
  EXPECT_TRUE(got("/p/SECRETKEY42/d3x0c1?state=complete")) << agent_.log();
  agent_.stop(SIGTERM);

  const Output un = run_command({kAgent, "unwrap", "--root", root_.string(), "--state-dir", (dir_ / "s").string()});
  ASSERT_EQ(un.exit_code, 0) << un.err;
  EXPECT_EQ(slurp(crontab), original);
}

}  // namespace
