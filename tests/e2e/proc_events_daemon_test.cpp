// The running daemon with `observe: auto` and the real Debian cron, nothing wrapped and cron's log
// off (issue 21): a failing line (exit 5) of a cron.d file is alerted on Slack (a recorder on
// 127.0.0.1) as failed with exit code 5, a healthy line is ok, and /etc/crontab's run-parts line
// over a folder with a failing (3) and a healthy script records each script under its own key; the
// failing command started by the test itself (not by cron) is not a run. cron runs in a mount
// namespace of its own (tests/support/proc_cron_test.h): the host's files are never written.
// Needs root and /usr/sbin/cron; about one minute (cron starts jobs at second :01). Run it under
// `flock /work/.locks/cron` by hand.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "tests/support/http_recorder.h"
#include "tests/support/proc_cron_test.h"
#include "tests/support/syslog_sink.h"

namespace {

using namespace cronitor::testing;

const std::string kFail = "sleep 1; exit 5 # cronitor-procwire-e2e-fail";
const std::string kOk = "sleep 1 # cronitor-procwire-e2e-ok";
const std::string kParts = "cd / && run-parts --report /etc/cron.hourly";

class ProcEventsDaemon : public ProcCronTest {
 protected:
  ProcEventsDaemon() : ProcCronTest("procwire-e2e") {}
  void TearDown() override {
    if (lookalike_ > 0) ::waitpid(lookalike_, nullptr, 0);
    ProcCronTest::TearDown();
  }
  pid_t lookalike_ = -1;
};

TEST_F(ProcEventsDaemon, UnwrappedJobsAndRunPartsScriptsAreRunsWithTheirExitCodes) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (the connector, mount namespaces, cron)";
  ASSERT_TRUE(fs::exists("/usr/sbin/cron")) << "install Debian's cron (REAL-COMPONENTS.md)";
  ASSERT_TRUE(fs::is_directory("/etc/cron.hourly") && fs::is_directory("/etc/cron.d"));
  ASSERT_FALSE(pid_alive("/run/crond.pid")) << "a cron daemon already runs here";
  fs::remove_all(dir_);
  const fs::path root = dir_ / "root";
  for (const char* d : {"etc/cron.d", "etc/cron.hourly", "run"}) fs::create_directories(root / d);
  std::ofstream(root / "etc/crontab") << "SHELL=/bin/sh\nMAILTO=\"\"\n* * * * * root " << kParts << "\n";
  std::ofstream(root / "etc/cron.d/procwire")
      << "SHELL=/bin/sh\nMAILTO=\"\"\n* * * * * root " << kFail << "\n* * * * * root " << kOk << "\n";
  for (auto [name, code] : {std::pair{"a-fails", 3}, std::pair{"b-works", 0}}) {
    std::ofstream(root / "etc/cron.hourly" / name) << "#!/bin/sh\nsleep 1\nexit " << code << "\n";
    fs::permissions(root / "etc/cron.hourly" / name, fs::perms::owner_all | fs::perms::group_read |
                                                         fs::perms::group_exec | fs::perms::others_read |
                                                         fs::perms::others_exec);
  }
  for (const auto& p : {root / "etc/crontab", root / "etc/cron.d/procwire"})
    fs::permissions(p, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);

  HttpRecorder slack(kRecorder, dir_.string());
  ASSERT_GT(slack.port(), 0);
  ASSERT_NO_FATAL_FAILURE(start_cron_and_agent(
      root, "procwire-host", "off",
      "notify:\n  ops: [\"slack:" + slack.url("/services/T/B/X") + "\"]\ndefaults:\n  notify: [ops]\n"));

  json st = status();
  ASSERT_TRUE(st.is_object()) << agent_.log();
  EXPECT_EQ(monitor(st, "/etc/cron.d/procwire:3")["reported_by"], "process events") << st.dump(2);
  EXPECT_EQ(monitor(st, "/etc/cron.hourly/a-fails")["reported_by"], "process events") << st.dump(2);
  EXPECT_EQ(st["process_events"]["live"], true) << st.dump(2);
  auto text = run_command({kAgent, "status", "--config", config()});
  EXPECT_NE(text.out.find("observed (process events)"), std::string::npos) << text.out;

  // A look-alike of the failing line, started by the test (not by cron) between cron's minutes:
  // its second is 15..50, cron's runs start at :01.
  ASSERT_TRUE(wait_until(
      [] {
        const std::time_t t = std::time(nullptr);
        const int sec = std::gmtime(&t)->tm_sec;
        return sec >= 15 && sec <= 48;
      },
      65s));
  lookalike_ = ::fork();
  if (lookalike_ == 0) {
    ::execl("/bin/sh", "/bin/sh", "-c", kFail.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }

  const bool ran = wait_until(
      [&] {
        st = status();
        auto state = [&](const std::string& where) { return monitor(st, where).value("state", json()); };
        return state("/etc/cron.d/procwire:3") == "failing" && state("/etc/cron.d/procwire:4") == "ok" &&
               state("/etc/cron.hourly/a-fails") == "failing" && state("/etc/cron.hourly/b-works") == "ok";
      },
      130s);
  ASSERT_TRUE(ran) << st.dump(2) << "\nagent:\n" << agent_.log();
  const json bad = monitor(st, "/etc/cron.d/procwire:3");
  EXPECT_EQ(bad["last_run"]["exit_code"], 5) << bad.dump(2);
  EXPECT_EQ(bad["incident"]["kind"], "failed") << bad.dump(2);
  EXPECT_GE(bad["last_run"].value("duration_ms", 0), 1000) << bad.dump(2);
  EXPECT_EQ(monitor(st, "/etc/cron.d/procwire:4")["last_run"]["exit_code"], 0);
  EXPECT_EQ(monitor(st, "/etc/cron.hourly/a-fails")["last_run"]["exit_code"], 3);
  EXPECT_EQ(monitor(st, "/etc/cron.hourly/b-works")["last_run"]["exit_code"], 0);

  // Slack heard of the failure, with its exit code.
  const json alert = slack.wait_for(
      [](const json& r) {
        const std::string body = r.value("body", std::string());
        return body.find("procwire-e2e-fail") != std::string::npos || body.find("exit code 5") != std::string::npos;
      },
      20s);
  ASSERT_FALSE(alert.is_null()) << agent_.log();
  EXPECT_NE(alert["body"].get<std::string>().find("5"), std::string::npos) << alert.dump();

  // The look-alike is no run: every run of the failing line started in cron's seconds.
  auto hist = run_command({kAgent, "history", bad["key"].get<std::string>(), "--json", "--config", config()});
  const json runs = json::parse(hist.out, nullptr, false);
  ASSERT_TRUE(runs.is_object() || runs.is_array()) << hist.out;
  const json& list = runs.is_object() ? runs["runs"] : runs;
  ASSERT_FALSE(list.empty()) << hist.out;
  for (const auto& r : list) {
    const std::string started = r.value("started", std::string());
    ASSERT_GE(started.size(), 19u) << r.dump();
    const int sec = std::stoi(started.substr(17, 2));
    EXPECT_LT(sec, 15) << "a run that cron did not start: " << r.dump();
  }
}

// The fast-exit gap (issue 21): `exit 4` ends about a millisecond after cron's shell execs it,
// before a batched read of its /proc, and a wrapped line whose wrapper binary is missing ends as
// fast with 127. Both are still runs with their exit codes: the process events saw their pids,
// starts and exits, and cron's CMD line of the same pid (its log as Debian logs it by default,
// through /dev/log to a file the agent follows) names them. Neither is ever called missed.
// `discover` says which jobs the running daemon observes this way.
TEST_F(ProcEventsDaemon, JobsGoneBeforeTheirCommandWasReadAreRunsWithTheirExitCodesNeverMisses) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (the connector, mount namespaces, cron)";
  ASSERT_TRUE(fs::exists("/usr/sbin/cron")) << "install Debian's cron (REAL-COMPONENTS.md)";
  ASSERT_FALSE(pid_alive("/run/crond.pid")) << "a cron daemon already runs here";
  ASSERT_FALSE(fs::exists("/dev/log")) << "something else owns /dev/log";
  ASSERT_FALSE(fs::exists("/usr/bin/cronitor-exec")) << "the wrapper must be missing for this test";
  fs::remove_all(dir_);
  const fs::path root = dir_ / "root";
  for (const char* d : {"etc/cron.d", "etc/cron.hourly", "run"}) fs::create_directories(root / d);
  std::ofstream(root / "etc/crontab") << "SHELL=/bin/sh\nMAILTO=\"\"\n";
  std::ofstream(root / "etc/cron.d/procfast")
      << "SHELL=/bin/sh\nMAILTO=\"\"\n* * * * * root exit 4 # cronitor-procfast-e2e\n"
      << "* * * * * root /usr/bin/cronitor-exec procfast-nowrapper -- 'true'\n";
  for (const auto& p : {root / "etc/crontab", root / "etc/cron.d/procfast"})
    fs::permissions(p, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);

  SyslogSink syslog;
  const fs::path log = dir_ / "syslog";
  std::ofstream(log).flush();
  ASSERT_TRUE(syslog.start(log.string()));
  ASSERT_NO_FATAL_FAILURE(start_cron_and_agent(root, "procfast-host", log.string()));

  // discover asks the running daemon: the unwrapped line is observed through the process events.
  auto disc = run_command({kAgent, "discover", "--json", "--root", root.string(), "--config", config()});
  const json jobs = json::parse(disc.out, nullptr, false);
  ASSERT_TRUE(jobs.is_array()) << disc.out << disc.err;
  bool said = false;
  for (const auto& j : jobs)
    if (j["line"] == 3 && j["file"] == "/etc/cron.d/procfast") {
      EXPECT_EQ(j["reported_by"], "process events") << j.dump(2);
      said = true;
    }
  EXPECT_TRUE(said) << disc.out;
  auto table = run_command({kAgent, "discover", "--root", root.string(), "--config", config()});
  EXPECT_NE(table.out.find("observed (process events)"), std::string::npos) << table.out;

  json st;
  const bool ran = wait_until(
      [&] {
        st = status();
        auto state = [&](const std::string& where) { return monitor(st, where).value("state", json()); };
        return state("/etc/cron.d/procfast:3") == "failing" && state("/etc/cron.d/procfast:4") == "failing";
      },
      130s);
  ASSERT_TRUE(ran) << st.dump(2) << "\nagent:\n" << agent_.log();
  const json fast = monitor(st, "/etc/cron.d/procfast:3");
  EXPECT_EQ(fast["last_run"]["exit_code"], 4) << fast.dump(2);
  EXPECT_EQ(fast["incident"]["kind"], "failed") << fast.dump(2);
  const json nowrap = monitor(st, "/etc/cron.d/procfast:4");
  EXPECT_EQ(nowrap["last_run"]["exit_code"], 127) << nowrap.dump(2);
  EXPECT_EQ(nowrap["incident"]["kind"], "failed") << nowrap.dump(2);
  for (const auto& m : st["monitors"])
    if (m["incident"].is_object()) {
      EXPECT_NE(m["incident"].value("kind", std::string()), "missed") << m.dump(2);
    }
  // cron's log was used, and said so (which of the two raced the reader differs run to run).
  EXPECT_EQ(st["process_events"].value("unnamed", 0), 0) << st.dump(2) << agent_.log();
  std::cout << "process events: " << st["process_events"].dump() << "\n";
}

}  // namespace
