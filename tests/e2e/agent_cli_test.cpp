// The real `cronitor-agent` and `cronitor-exec` binaries as a sysadmin meets them in the first five
// minutes (issue 10 item 12): exit codes, messages, --json, which state `status` shows, warnings
// when alerts go nowhere, and `discover` without the rows nothing ever runs.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "tests/support/agent_process.h"
#include "tests/support/daemon_test.h"
#include "tests/support/http_recorder.h"
#include "tests/support/subprocess.h"

namespace {

using namespace cronitor::testing;

class Cli : public DaemonTest {
 protected:
  Cli() : DaemonTest("agent-cli") {}
  /// A config of its own paths, with one monitor and the given notify section.
  void write_config(const std::string& notify = "notify:\n  default: []\n") {
    std::ofstream(config()) << sandbox_config("cli-host") << notify << "monitors:\n"
                            << "  - key: nightly\n"
                            << "    name: Nightly billing\n"
                            << "    schedule: \"0 2 * * *\"\n";
    fs::permissions(config(), fs::perms::owner_read | fs::perms::owner_write);
  }
  Output agent(std::vector<std::string> args) {
    args.insert(args.begin(), kAgent);
    return run_command(args);
  }
  void write(const std::string& rel, const std::string& text,
             fs::perms mode = fs::perms::owner_read | fs::perms::owner_write) {
    fs::create_directories((dir_ / rel).parent_path());
    std::ofstream(dir_ / rel) << text;
    fs::permissions(dir_ / rel, mode);
  }
};

TEST_F(Cli, BadInputSaysWhatAndExitsTwo) {
  auto missing = agent({"check-config", "/nonexistent/agent.yaml"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_EQ(missing.err, "/nonexistent/agent.yaml: open: No such file or directory\n");
  // A --config that does not load is an error, never the default state read silently.
  for (const char* cmd : {"status", "history", "pause", "resume"}) {
    std::vector<std::string> args = {cmd};
    if (std::string(cmd) != "status") args.push_back("nightly");
    args.insert(args.end(), {"--config", "/nonexistent/typo.yaml"});
    auto r = agent(args);
    EXPECT_EQ(r.exit_code, 2) << cmd;
    EXPECT_TRUE(has(r.err, "/nonexistent/typo.yaml: open: No such file or directory")) << cmd << ": " << r.err;
    EXPECT_EQ(r.out, "") << cmd;
  }
  auto unknown = agent({"stauts"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_EQ(unknown.err, "cronitor-agent: unknown command \"stauts\" (see cronitor-agent --help)\n");
  for (const char* cmd : {"discover", "wrap", "unwrap"}) {
    auto r = agent({cmd, "--root", "/nonexistent/root", "--dry-run"});
    if (std::string(cmd) == "discover") r = agent({cmd, "--root", "/nonexistent/root"});
    EXPECT_EQ(r.exit_code, 2) << cmd;
    EXPECT_TRUE(has(r.err, "/nonexistent/root")) << cmd << ": " << r.err;
  }
  auto version = run_command({kExec, "--version"});
  EXPECT_EQ(version.exit_code, 0) << version.err;
  EXPECT_TRUE(std::regex_match(version.out, std::regex("cronitor-exec [0-9]+\\.[0-9]+\\.[0-9]+\n"))) << version.out;
  EXPECT_EQ(agent({"--version"}).exit_code, 0);
}

TEST_F(Cli, CheckConfigWarnsWhenAlertsGoNowhere) {
  write_config();
  auto r = agent({"check-config", config()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, config() + ": OK (1 monitors, 1 notify lists, 0 targets)\n");
  EXPECT_TRUE(has(r.err, "warning: no notify target: alerts are recorded but sent nowhere")) << r.err;
  auto j = agent({"check-config", config(), "--json"});
  EXPECT_EQ(j.exit_code, 0);
  auto o = json::parse(j.out);
  EXPECT_EQ(o["ok"], true);
  EXPECT_EQ(o["monitors"], 1);
  ASSERT_EQ(o["warnings"].size(), 1u) << j.out;
  EXPECT_TRUE(has(o["warnings"][0].get<std::string>(), "no notify target"));

  write_config("notify:\n  default: [\"webhook:http://127.0.0.1:9/hook\"]\n");
  auto with_target = agent({"check-config", config()});
  EXPECT_EQ(with_target.exit_code, 0);
  EXPECT_EQ(with_target.err, "");

  write("bad.yaml", "state_dir: /tmp/x\nnotfy:\n  default: []\n");
  auto bad = agent({"check-config", (dir_ / "bad.yaml").string(), "--json"});
  EXPECT_EQ(bad.exit_code, 2);
  auto b = json::parse(bad.out);
  EXPECT_EQ(b["ok"], false);
  ASSERT_FALSE(b["errors"].empty());
  EXPECT_EQ(b["errors"][0]["line"], 2);
  EXPECT_EQ(b["errors"][0]["key"], "notfy");
}

TEST_F(Cli, StatusHistoryPauseWithTheDaemonAndWithout) {
  write_config();
  ASSERT_TRUE(daemon_.start(config(), socket())) << daemon_.log();
  EXPECT_TRUE(daemon_.wait_for_log("no notify target")) << daemon_.log();

  auto st = agent({"status", "--config", config()});
  EXPECT_EQ(st.exit_code, 0) << st.err;
  EXPECT_TRUE(has(st.out, "The daemon is running (socket " + socket() + ", config " + config() + ")")) << st.out;
  EXPECT_TRUE(has(st.out, "KEY      NAME             STATE")) << st.out;
  EXPECT_TRUE(has(st.out, "Nightly billing")) << st.out;
  EXPECT_TRUE(has(st.err, "warning: no notify target")) << st.err;

  // A failed run: the daemon records the alert and says it went nowhere.
  auto fail = agent({"ping", "nightly", "--state", "fail", "--exit-code", "3", "--config", config(), "--json"});
  EXPECT_EQ(fail.exit_code, 0) << fail.err;
  EXPECT_EQ(json::parse(fail.out)["delivered"], "agent") << fail.out;
  EXPECT_TRUE(daemon_.wait_for_log("alert (not sent: no target): Nightly billing failed")) << daemon_.log();

  // A run opens: status shows it apart from the finished one.
  auto run = agent({"ping", "nightly", "--state", "run", "--config", config(), "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string run_id = json::parse(run.out)["run_id"];
  auto sj = agent({"status", "--json", "--config", config()});
  ASSERT_EQ(sj.exit_code, 0) << sj.err;
  auto s = json::parse(sj.out);
  EXPECT_EQ(s["config"], config());
  EXPECT_TRUE(s["cron_incident"].is_null());
  EXPECT_EQ(s["warnings"].size(), 1u);
  const json& m = s["monitors"][0];
  EXPECT_EQ(m["name"], "Nightly billing");
  EXPECT_EQ(m["state"], "failing");
  ASSERT_TRUE(m["open_run"].is_object()) << m.dump();
  EXPECT_EQ(m["open_run"]["run_id"], run_id);
  ASSERT_TRUE(m["last_run"].is_object()) << m.dump();
  EXPECT_EQ(m["last_run"]["exit_code"], 3);
  EXPECT_LE(m["last_run"]["started"].get<std::string>(), m["last_run"]["ended"].get<std::string>()) << m.dump();

  EXPECT_EQ(agent({"history", "nightly", "--config", config()}).exit_code, 0);
  auto nope = agent({"history", "nope", "--config", config()});
  EXPECT_EQ(nope.exit_code, 1);
  EXPECT_TRUE(has(nope.err, "no monitor with key \"nope\"")) << nope.err;
  EXPECT_EQ(agent({"pause", "nope", "--config", config()}).exit_code, 1);

  auto pause = agent({"pause", "nightly", "--for", "2h", "--config", config()});
  EXPECT_EQ(pause.exit_code, 0) << pause.err;
  EXPECT_TRUE(std::regex_match(pause.out, std::regex("nightly: paused until 20[0-9-]+T[0-9:]+\\+00:00 \\(for 2h\\)\n")))
      << pause.out;
  auto pj = agent({"pause", "nightly", "--for", "30m", "--json", "--config", config()});
  auto p = json::parse(pj.out);
  EXPECT_EQ(p["state"], "paused");
  EXPECT_EQ(p["daemon"], "running");
  EXPECT_TRUE(p["paused_until"].is_string() && has(p["paused_until"], "T"));
  auto rj = agent({"resume", "nightly", "--json", "--config", config()});
  EXPECT_EQ(json::parse(rj.out)["paused_until"], nullptr);

  // Stopped: the state as last saved, and where it is.
  daemon_.stop(SIGTERM);
  auto saved = agent({"status", "--config", config()});
  EXPECT_EQ(saved.exit_code, 0) << saved.err;
  EXPECT_TRUE(has(saved.out, "The daemon is not running: state as last saved in " + (dir_ / "state/state.db").string()))
      << saved.out;
  EXPECT_EQ(agent({"history", "nope", "--config", config()}).exit_code, 1);
  auto offline = agent({"pause", "nightly", "--for", "1h", "--config", config()});
  EXPECT_EQ(offline.exit_code, 0) << offline.err;
  EXPECT_TRUE(has(offline.out, "paused until ")) << offline.out;
  EXPECT_TRUE(has(offline.out, "(the daemon is not running; it applies this at start)")) << offline.out;
}

TEST_F(Cli, PingAndTestAlertSpeakJson) {
  HttpRecorder hook(kRecorder, dir_.string());
  ASSERT_GT(hook.port(), 0);
  write_config("notify:\n  default: [\"webhook:" + hook.url("/hook") + "\"]\n");
  auto ping = agent({"ping", "nightly", "--state", "run", "--config", config(), "--json"});
  EXPECT_EQ(ping.exit_code, 0) << ping.err;
  auto p = json::parse(ping.out);
  EXPECT_EQ(p["delivered"], "spool");  // no daemon runs
  EXPECT_EQ(p["key"], "nightly");
  EXPECT_TRUE(fs::exists(dir_ / "spool"));
  auto sent = agent({"test-alert", "--config", config(), "--json"});
  EXPECT_EQ(sent.exit_code, 0) << sent.err;
  auto t = json::parse(sent.out);
  ASSERT_EQ(t.size(), 1u) << sent.out;
  EXPECT_EQ(t[0]["sent"], true);
  EXPECT_TRUE(t[0]["error"].is_null());
  EXPECT_FALSE(hook.wait_for([](const json& r) { return r["path"] == "/hook"; }, 15s).is_null());
}

TEST_F(Cli, DaemonLogsOnlyRealChangesOfACrontab) {
  write("root/etc/cron.d/app", "0 1 * * * root /opt/app/report\n*/5 * * * * root /opt/app/poll\n",
        fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
  std::ofstream(config()) << "state_dir: " << (dir_ / "state").string() << "\nsocket: " << socket()
                          << "\nspool_dir: " << (dir_ / "spool").string() << "\nhostname: cli-host\n"
                          << "discovery: {root: " << (dir_ / "root").string()
                          << ", systemd: false, auto_wrap: false}\n";
  ASSERT_TRUE(daemon_.start(config(), socket())) << daemon_.log();
  ASSERT_TRUE(daemon_.wait_for_log("listening on")) << daemon_.log();  // the watches are set
  // One edit: a comment on top moves both lines, and a line is added. Before, this logged
  // "1 added, 2 changed" for two jobs nobody touched.
  std::ofstream(dir_ / "root/etc/cron.d/app")
      << "# billing\n\n0 1 * * * root /opt/app/report\n*/5 * * * * root /opt/app/poll\n0 3 * * * root /opt/app/x\n";
  EXPECT_TRUE(daemon_.wait_for_log("discovery: 1 added, 0 changed, 0 removed")) << daemon_.log();
  EXPECT_FALSE(std::regex_search(daemon_.log(), std::regex("discovery: [0-9]+ added, [1-9]"))) << daemon_.log();
}

TEST_F(Cli, DiscoverListsWhatRunsAndNamesThatTellJobsApart) {
  const auto exec = fs::perms::owner_all;
  write("root/etc/crontab", "17 * * * * root cd / && run-parts --report /etc/cron.hourly\n");
  write("root/etc/cron.hourly/.placeholder", "# DO NOT EDIT OR REMOVE\n");
  write("root/etc/cron.hourly/tidy", "#!/bin/sh\ntrue\n", exec);
  write("root/etc/systemd/system/fstrim.timer", "[Timer]\nOnCalendar=weekly\n");
  write("root/etc/systemd/system/fstrim.service", "[Service]\nExecStart=/sbin/fstrim -a\n");
  write("root/etc/cron.d/walk",
        "# cronitor: grace=5m name=walk-e-hung\n*/5 * * * * root echo walk > /tmp/w\n"
        "0 1 * * * root echo one > /tmp/o\n0 2 * * * root echo two > /tmp/t\n");
  const std::string root = (dir_ / "root").string();
  auto r = agent({"discover", "--root", root});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(has(r.out, "placeholder")) << r.out;
  EXPECT_FALSE(has(r.out, "fstrim.timer")) << r.out;
  EXPECT_TRUE(has(r.out, "tidy")) << r.out;
  EXPECT_TRUE(has(r.out, "(1 systemd timer(s) not listed: systemd is not running on this host; --all lists them)"))
      << r.out;
  EXPECT_TRUE(has(r.out, "(1 file(s) in run-parts folders not listed: run-parts never runs them; --all lists them)"))
      << r.out;
  EXPECT_TRUE(has(r.out, "walk-e-hung")) << r.out;
  // Named by what they act on (issue 17 item 9), not "echo" and a line number.
  EXPECT_TRUE(has(r.out, "echo-o ")) << r.out;
  EXPECT_TRUE(has(r.out, "echo-t ")) << r.out;
  auto all = agent({"discover", "--root", root, "--all"});
  EXPECT_TRUE(has(all.out, "placeholder")) << all.out;
  EXPECT_TRUE(has(all.out, "fstrim.timer")) << all.out;
  EXPECT_FALSE(has(all.out, "not listed")) << all.out;
  auto j = agent({"discover", "--root", root, "--json"});
  EXPECT_TRUE(has(j.out, ".placeholder")) << "JSON lists every job, each with its reason";
}

// Issue 18 item 8: a user's `# cronitor: name=` with terminal escapes reaches root's `discover`
// escaped (it printed them raw: the screen cleared, the title set).
TEST_F(Cli, DiscoverShowsNamesWithEscapesEscaped) {
  write("root/etc/cron.d/evil", "# cronitor: name=\x1b[2J\x1b]0;OWNED\x07x\n* * * * * root echo \x1b[31mred\n");
  const std::string root = (dir_ / "root").string();
  auto r = agent({"discover", "--root", root});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << r.out;
  EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find('\x07'), std::string::npos) << r.out;
  EXPECT_TRUE(has(r.out, "\\e[2J\\e]0;OWNED")) << r.out;
}

// Timers found in unit files say whether the agent sees their runs: here no manager answers on
// the system bus (as in containers), and the reason is given. (tests/e2e/systemd_timers_test.cpp
// has the live case against a real manager.)
TEST_F(Cli, DiscoverSaysWhyTimersAreUnobserved) {
  write("root/etc/systemd/system/fstrim.timer", "[Timer]\nOnCalendar=weekly\n");
  write("root/etc/systemd/system/fstrim.service", "[Service]\nExecStart=/sbin/fstrim -a\n");
  fs::create_directories(dir_ / "root/etc/systemd/system/timers.target.wants");
  fs::create_symlink("../fstrim.timer", dir_ / "root/etc/systemd/system/timers.target.wants/fstrim.timer");
  fs::create_directories(dir_ / "root/run/systemd/system");
  write("root/etc/cron.d/walk", "*/5 * * * * root echo walk > /tmp/w\n");
  const std::string root = (dir_ / "root").string();
  ::setenv("DBUS_SYSTEM_BUS_ADDRESS", ("unix:path=" + (dir_ / "no-bus").string()).c_str(), 1);
  auto r = agent({"discover", "--root", root});
  auto j = agent({"discover", "--root", root, "--json"});
  ::unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string timer_row, cron_row;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (has(line, "fstrim.timer")) timer_row = line;
    if (has(line, "walk")) cron_row = line;
  }
  EXPECT_TRUE(has(timer_row, "unobserved: cannot reach the system bus: No such file or directory")) << r.out;
  EXPECT_FALSE(has(cron_row, "unobserved")) << "crontab lines are not the manager's: " << r.out;
  auto arr = nlohmann::json::parse(j.out, nullptr, false);
  ASSERT_TRUE(arr.is_array()) << j.out;
  bool seen = false;
  for (const auto& job : arr)
    if (job["unit"] == "fstrim.timer") {
      seen = true;
      EXPECT_TRUE(job["reported_by"].is_null()) << job.dump();
      EXPECT_EQ(job.value("unobserved", ""), "cannot reach the system bus: No such file or directory") << job.dump();
    }
  EXPECT_TRUE(seen) << j.out;
}

}  // namespace
