// systemd timers observed live: a real `systemd --user` manager (tests/support/user_systemd.sh)
// reached through DBUS_SYSTEM_BUS_ADDRESS runs timers every 5 s whose services exit 0, exit 3,
// overrun TimeoutStartSec=, die by a signal and (where cgroups allow) hit MemoryMax=. The real
// agent reports each run with the right result, Slack (a real HTTP server on 127.0.0.1) gets the
// failures and the recovery and nothing about the healthy timer, a stopped timer alerts, and
// daemon-reload and daemon-reexec lose no run. Needs root (cgroups, mount namespace); about 40 s.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "discovery/job_identity.h"
#include "tests/support/agent_process.h"
#include "tests/support/daemon_test.h"
#include "tests/support/http_recorder.h"
#include "tests/support/subprocess.h"

namespace {

using namespace cronitor::testing;

const std::string kHarness = CRONITOR_SOURCE_DIR "/tests/support/user_systemd.sh";

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

std::string key_of(const std::string& timer) { return cronitor::discovery::derive_key("timer", "", "", timer); }

bool slack_says(const json& r, const std::string& what) {
  auto body = json::parse(r["body"].get<std::string>(), nullptr, false);
  return body.is_object() && body["text"].is_string() &&
         body["text"].get<std::string>().find(what) != std::string::npos;
}

class SystemdTimers : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: cgroups and a mount namespace for the manager";
    if (!fs::exists("/lib/systemd/systemd") || !fs::exists("/usr/bin/busctl")) GTEST_SKIP() << "systemd not installed";
    fs::remove_all(dir_);
    units_ = dir_ / "root/etc/systemd/system";
    fs::create_directories(units_ / "timers.target.wants");
    fs::create_directories(dir_ / "root/run/systemd/system");  // discovery: "systemd runs here"
    fs::create_directories(dir_ / "cfg/systemd");
    fs::create_directory_symlink(units_, dir_ / "cfg/systemd/user");  // the manager reads the same files
    ::setenv("XDG_RUNTIME_DIR", (dir_ / "xdg").c_str(), 1);
    ::setenv("DBUS_SESSION_BUS_ADDRESS", ("unix:path=" + (dir_ / "xdg/bus").string()).c_str(), 1);
    ::setenv("DBUS_SYSTEM_BUS_ADDRESS", ("unix:path=" + (dir_ / "xdg/bus").string()).c_str(), 1);
  }
  void TearDown() override {
    agent_.stop(SIGTERM);
    if (HasFailure()) {
      std::ifstream in(dir_ / "manager.log");
      std::cerr << "manager.log:\n" << std::string((std::istreambuf_iterator<char>(in)), {});
    }
    if (manager_up_) {
      auto r = run_command({kHarness, "stop", dir_.string()});
      EXPECT_EQ(r.exit_code, 0) << r.err;
    }
    ::unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
    fs::remove_all(dir_);
  }
  void timer(const std::string& name, const std::string& service_lines) {
    std::ofstream(units_ / (name + ".timer")) << "[Timer]\nOnCalendar=*:*:0/5\nAccuracySec=1ms\n"
                                              << "[Install]\nWantedBy=timers.target\n";
    std::ofstream(units_ / (name + ".service")) << "[Service]\nType=oneshot\n" << service_lines << "\n";
    fs::create_symlink("../" + name + ".timer", units_ / "timers.target.wants" / (name + ".timer"));
  }
  void start_manager() {
    manager_up_ = true;  // a manager that came up late is still stopped by TearDown
    auto r = run_command({kHarness, "start", dir_.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  cronitor::testing::Output manager(const std::string& method, const std::vector<std::string>& args = {}) {
    std::vector<std::string> argv = {"/usr/bin/busctl",
                                     "--user",
                                     "call",
                                     "org.freedesktop.systemd1",
                                     "/org/freedesktop/systemd1",
                                     "org.freedesktop.systemd1.Manager",
                                     method};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv);
  }
  json history(const std::string& timer) {
    auto r = run_command({kAgent, "history", key_of(timer + ".timer"), "--json", "-n", "100", "--config", config()});
    auto j = json::parse(r.out, nullptr, false);
    if (!j.is_array()) ADD_FAILURE() << "history " << timer << ": " << r.out << r.err;
    return j.is_array() ? j : json::array();
  }
  /// Waits for a finished run of `timer` whose record satisfies `pred`.
  json wait_run(const std::string& timer, const std::function<bool(const json&)>& pred,
                std::chrono::milliseconds limit = 15s) {
    json found;
    wait_until(
        [&] {
          for (const auto& r : history(timer))
            if (r["status"] != "running" && pred(r)) found = r;
          return !found.is_null();
        },
        limit);
    return found;
  }
  std::string config() const { return (dir_ / "agent.yaml").string(); }
  std::string log() const { return agent_.log(); }

  fs::path dir_ = fs::temp_directory_path() / ("timers-e2e-" + std::to_string(::getpid()));
  fs::path units_;
  bool manager_up_ = false;
  AgentProcess agent_{kAgent, (dir_ / "daemon.log").string()};
};

TEST_F(SystemdTimers, RunsResultsAlertsStopAndReexec) {
  const std::string seen = (dir_ / "ok-runs.txt").string();
  timer("t-ok", "ExecStart=/bin/sh -c 'echo $$INVOCATION_ID >> " + seen + "'");
  timer("t-exit3", "ExecStart=/bin/sh -c 'echo disk full >&2; exit 3'");
  timer("t-timeout", "TimeoutStartSec=1\nExecStart=/bin/sleep 30");
  timer("t-signal", "ExecStart=/bin/sh -c 'kill -USR1 $$$$'");
  timer("t-oom", "MemoryMax=32M\nMemorySwapMax=0\nExecStart=/usr/bin/python3 -c 'b=bytearray(256*1024*1024)'");
  timer("t-stop", "ExecStart=/bin/true");
  ASSERT_NO_FATAL_FAILURE(start_manager());
  HttpRecorder slack(kRecorder, dir_.string());
  ASSERT_GT(slack.port(), 0);
  std::ofstream(config()) << "state_dir: " << (dir_ / "state").string()
                          << "\nsocket: " << (dir_ / "agent.sock").string()
                          << "\nspool_dir: " << (dir_ / "spool").string() << "\nhostname: e2e-host\n"
                          << "discovery: {root: " << (dir_ / "root").string()
                          << ", crontabs: false, systemd: true, auto_wrap: false}\n"
                          << "notify:\n  ops: [\"slack:" << slack.url("/services/T/B/X") << "\"]\n"
                          << "defaults:\n  notify: [ops]\n  grace_seconds: 3\n";
  ASSERT_TRUE(agent_.start(config(), (dir_ / "agent.sock").string())) << log();
  ASSERT_TRUE(agent_.wait_for_log("timers listed")) << log();

  // Each outcome in history, with the right result.
  EXPECT_FALSE(wait_run("t-ok", [](const json& r) { return r["status"] == "ok" && r["exit_code"] == 0; }).is_null());
  auto exit3 = wait_run("t-exit3", [](const json& r) { return r["exit_code"] == 3; });
  ASSERT_FALSE(exit3.is_null()) << log();
  EXPECT_EQ(exit3["status"], "failed");
  auto timeout = wait_run("t-timeout", [](const json& r) { return r["signal"] == "SIGTERM"; });
  ASSERT_FALSE(timeout.is_null()) << log();
  EXPECT_EQ(timeout["status"], "failed");
  EXPECT_GE(timeout["duration_ms"].get<int64_t>(), 900);
  auto sig = wait_run("t-signal", [](const json& r) { return r["signal"] == "SIGUSR1"; });
  ASSERT_FALSE(sig.is_null()) << log();
  EXPECT_EQ(sig["exit_code"], 138);
  auto oom = wait_run("t-oom", [](const json& r) { return r["signal"] == "SIGKILL"; });
  ASSERT_FALSE(oom.is_null()) << log();
  if (fs::exists("/proc/vmstat")) EXPECT_TRUE(oom["oom"].get<bool>()) << oom.dump();

  // The alerts, in Slack's words.
  for (const std::string what : {"t-exit3 failed: exit code 3", "t-timeout failed: timed out (killed with SIGTERM)",
                                 "t-signal failed: killed by signal SIGUSR1", "t-oom failed: killed by the OOM killer"})
    EXPECT_FALSE(slack.wait_for([&](const json& r) { return slack_says(r, what); }, 10s).is_null()) << what << log();

  // The fix, and a daemon-reload to read it: recovery.
  std::ofstream(units_ / "t-exit3.service") << "[Service]\nType=oneshot\nExecStart=/bin/true\n";
  auto reload = manager("Reload");
  ASSERT_EQ(reload.exit_code, 0) << reload.err;
  EXPECT_FALSE(slack.wait_for([](const json& r) { return slack_says(r, "t-exit3 recovered"); }, 15s).is_null())
      << log();

  // daemon-reexec: the manager leaves the bus and comes back; runs in between are not lost.
  const size_t before = history("t-ok").size();
  auto resyncs = [&] { return count(log(), "(resync)"); };
  const size_t resyncs_before = resyncs();
  auto reexec = manager("Reexecute");
  EXPECT_TRUE(reexec.exit_code == 0 || reexec.err.find("NoReply") != std::string::npos ||
              reexec.err.find("disconnected") != std::string::npos)
      << reexec.err;
  ASSERT_TRUE(wait_until([&] { return resyncs() > resyncs_before; }, 15s)) << log();
  ASSERT_TRUE(wait_until([&] { return history("t-ok").size() >= before + 2; }, 15s)) << log();

  // The bus itself goes away (dbus-daemon ends; the manager's socket unit starts it again): the
  // agent reconnects and keeps counting runs.
  auto bus_pid = run_command({"/usr/bin/busctl", "--user", "call", "org.freedesktop.DBus", "/org/freedesktop/DBus",
                              "org.freedesktop.DBus", "GetConnectionUnixProcessID", "s", "org.freedesktop.DBus"});
  ASSERT_EQ(bus_pid.exit_code, 0) << bus_pid.err;
  const pid_t dbus = std::stoi(bus_pid.out.substr(2));  // "u 1234"
  const size_t listed_before = count(log(), "timers listed");
  const size_t runs_before = history("t-ok").size();
  ASSERT_EQ(::kill(dbus, SIGTERM), 0);
  ASSERT_TRUE(wait_until([&] { return count(log(), "timers listed") > listed_before; }, 20s)) << log();
  EXPECT_TRUE(wait_until([&] { return history("t-ok").size() > runs_before + 1; }, 15s)) << log();

  // Stopping a monitored timer alerts.
  auto stop = manager("StopUnit", {"ss", "t-stop.timer", "replace"});
  ASSERT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_FALSE(slack.wait_for([](const json& r) { return slack_says(r, "t-stop stopped"); }, 10s).is_null()) << log();

  // Every t-ok run the service itself recorded is in history once, as ok; no alert about it.
  agent_.stop(SIGTERM);
  std::set<std::string> ran;
  std::ifstream in(seen);
  for (std::string id; in >> id;) ran.insert(id);
  ASSERT_GE(ran.size(), 3u);
  std::multiset<std::string> stored;
  for (const auto& r : history("t-ok")) {
    std::string id = r["run_id"];
    std::erase(id, '-');
    stored.insert(id);
    EXPECT_EQ(r["status"], "ok") << r.dump();
  }
  size_t missing = 0;
  for (const auto& id : ran) missing += stored.count(id) == 0;
  EXPECT_LE(missing, 1u) << "at most the run in flight when the agent stopped";
  for (const auto& id : stored) EXPECT_EQ(stored.count(id), 1u) << id << " counted twice";
  for (const auto& r : slack.requests()) EXPECT_FALSE(slack_says(r, "t-ok")) << r.dump();
}

}  // namespace
