// A real OOM kill of an unwrapped cron job seen through the process events (issue 21: "OOM kills
// are attributed from the kernel log by pid"). The real Debian cron runs in a 64 MiB memory cgroup
// of the test's (as cron.service's cgroup holds every job on a systemd host), so the cgroup does
// not say whose process the OOM killer took. One job runs `timeout 120 python3 ...` (timeout puts
// itself and the job in a process group of their own, as GNU timeout does: the shell's group, which
// Debian's cron gives each job, is not the victim's); its python's child allocates past the limit
// and the kernel kills it. A second job's child is killed by `kill -9` meanwhile, a third ends
// well. The agent reads the kernel's record and the victim's ancestors from /proc, and records
// only the first job's run as killed by the OOM killer (OomKillLog::judge_process); the second is
// a plain exit code 137, the third ok. Needs root, /dev/kmsg, a v1 memory cgroup and
// /usr/sbin/cron; about one minute (cron starts jobs at second :01). It owns cron while it runs
// (`flock /work/.locks/cron` by hand).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "tests/support/http_recorder.h"
#include "tests/support/memory_cgroup.h"
#include "tests/support/proc_cron_test.h"

namespace {

using namespace cronitor::testing;

class ProcEventsOom : public ProcCronTest {
 protected:
  ProcEventsOom() : ProcCronTest("procoom-e2e") {}
  // Made before the fixture's cron and removed after it (members go after TearDown), with any job
  // of a failed test still in it.
  std::optional<MemoryCgroup> cgroup_;
};

// The victim is the job's python's own child: its parent reaps it only 2 s after the kill, so
// that its ancestors are still in /proc when the agent reads the kernel's record. (A victim reaped
// before that is "maybe by the OOM killer": the documented limit, agent/README.md "OOM kills".)
constexpr const char* kVictimScript = R"(import os, sys, time
child = os.fork()
if child == 0:
    b = bytearray(256 * 1024 * 1024)  # past the cgroup's 64 MiB: the OOM killer kills this process
    os._exit(0)
time.sleep(2)
_, status = os.waitpid(child, 0)
sys.exit(128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status))
)";

TEST_F(ProcEventsOom, AnUnwrappedJobKilledByTheOomKillerIsToldAndItsNeighboursAreNot) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (the connector, memory cgroups, /dev/kmsg, cron)";
  if (::access("/dev/kmsg", R_OK) != 0) GTEST_SKIP() << "/dev/kmsg is not readable here";
  ASSERT_TRUE(fs::exists("/usr/sbin/cron")) << "install Debian's cron (REAL-COMPONENTS.md)";
  ASSERT_FALSE(pid_alive("/run/crond.pid")) << "a cron daemon already runs here";
  cgroup_.emplace("cronitor-procoom");
  if (!cgroup_->ok()) GTEST_SKIP() << "no v1 memory cgroup can be made here";
  cron_cgroup_ = &*cgroup_;
  fs::remove_all(dir_);
  const fs::path root = dir_ / "root";
  for (const char* d : {"etc/cron.d", "etc/cron.hourly", "run"}) fs::create_directories(root / d);
  std::ofstream(dir_ / "victim.py") << kVictimScript;
  const fs::path neighbour_pid = dir_ / "neighbour.pid";
  std::ofstream(root / "etc/crontab") << "SHELL=/bin/sh\nMAILTO=\"\"\n";
  std::ofstream(root / "etc/cron.d/procoom")
      << "SHELL=/bin/sh\nMAILTO=\"\"\n"
      << "* * * * * root timeout 120 /usr/bin/python3 " << (dir_ / "victim.py").string()
      << "; exit $? # cronitor-procoom-victim\n"
      << "* * * * * root sleep 60 & echo $! > " << neighbour_pid.string() << "; wait $! # cronitor-procoom-neighbour\n"
      << "* * * * * root sleep 1 # cronitor-procoom-ok\n";
  for (const auto& p : {root / "etc/crontab", root / "etc/cron.d/procoom"})
    fs::permissions(p, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);

  HttpRecorder hook(kRecorder, dir_.string());
  ASSERT_GT(hook.port(), 0);
  ASSERT_NO_FATAL_FAILURE(
      start_cron_and_agent(root, "procoom-host", "off",
                           "notify:\n  ops: [\"webhook:" + hook.url("/hook") + "\"]\ndefaults:\n  notify: [ops]\n"));
  ASSERT_TRUE(agent_.wait_for_log("OOM kills: reading the kernel's log", std::chrono::seconds(5))) << agent_.log();

  // cron starts the three at second :01; the victim's run ends about 2 s later, the neighbour's
  // sleep goes on until the test kills it, after the OOM kill.
  json st;
  auto state = [&](const std::string& where) { return monitor(st, where).value("state", json()); };
  ASSERT_TRUE(wait_until(
      [&] {
        st = status();
        return state("/etc/cron.d/procoom:3") == "failing" && pid_alive(neighbour_pid.string());
      },
      130s))
      << st.dump(2) << "\nagent:\n"
      << agent_.log();
  long sleeper = 0;
  std::ifstream(neighbour_pid) >> sleeper;
  ASSERT_GT(sleeper, 1);
  std::ifstream comm("/proc/" + std::to_string(sleeper) + "/comm");
  std::string name;
  comm >> name;
  ASSERT_EQ(name, "sleep");  // the neighbour's child, not a reused pid
  ASSERT_EQ(::kill(static_cast<pid_t>(sleeper), SIGKILL), 0);
  ASSERT_TRUE(wait_until(
      [&] {
        st = status();
        return state("/etc/cron.d/procoom:4") == "failing" && state("/etc/cron.d/procoom:5") == "ok";
      },
      30s))
      << st.dump(2) << "\nagent:\n"
      << agent_.log();

  // The kernel's OOM kill was this cgroup's, in the victim's job.
  std::ifstream oom_control(cgroup_->path() + "/memory.oom_control");
  const std::string counters((std::istreambuf_iterator<char>(oom_control)), {});
  EXPECT_EQ(counters.find("oom_kill 0"), std::string::npos) << counters;

  // Each job's first run, as history keeps it.
  auto first_run = [&](const json& m) {
    auto r = run_command({kAgent, "history", m["key"].get<std::string>(), "--json", "--config", config()});
    const json runs = json::parse(r.out, nullptr, false);
    const json& list = runs.is_object() ? runs["runs"] : runs;
    json first;
    if (list.is_array())
      for (const auto& run : list)
        if (first.is_null() || run.value("started", "") < first.value("started", "")) first = run;
    return first;
  };
  const json victim = monitor(st, "/etc/cron.d/procoom:3");
  const json victim_run = first_run(victim);
  EXPECT_EQ(victim_run["exit_code"], 137) << victim_run.dump(2);
  EXPECT_EQ(victim_run["oom"], true) << victim_run.dump(2) << "\nagent:\n" << agent_.log();
  const json neighbour = monitor(st, "/etc/cron.d/procoom:4");
  const json neighbour_run = first_run(neighbour);
  EXPECT_EQ(neighbour_run["exit_code"], 137) << neighbour_run.dump(2);
  EXPECT_EQ(neighbour_run["oom"], false) << neighbour_run.dump(2);
  const json ok_run = first_run(monitor(st, "/etc/cron.d/procoom:5"));
  EXPECT_EQ(ok_run["exit_code"], 0) << ok_run.dump(2);
  EXPECT_EQ(ok_run["oom"], false) << ok_run.dump(2);

  auto alert_of = [&](const std::string& key) {
    const json r = hook.wait_for(
        [&](const json& r) {
          auto body = json::parse(r["body"].get<std::string>(), nullptr, false);
          return body.is_object() && body["key"] == key && body["event"] == "failed";
        },
        20s);
    return r.is_null() ? r : json::parse(r["body"].get<std::string>());
  };
  const json v = alert_of(victim["key"].get<std::string>());
  ASSERT_FALSE(v.is_null()) << agent_.log();
  EXPECT_EQ(v["oom"], true) << v.dump();
  EXPECT_NE(v["summary"].get<std::string>().find("killed by the OOM killer (exit code 137)"), std::string::npos)
      << v.dump();
  EXPECT_EQ(v["memory_limit_bytes"], 64 * 1024 * 1024) << v.dump();
  EXPECT_TRUE(v["oom_victim"].get<std::string>().starts_with("python3 (pid ")) << v.dump();
  const json n = alert_of(neighbour["key"].get<std::string>());
  ASSERT_FALSE(n.is_null()) << agent_.log();
  EXPECT_EQ(n["oom"], false) << n.dump();
  // The kernel's kill was in its run's time and cgroup, of another job's process: its shell's
  // child was killed by a plain SIGKILL, and the shell said 137.
  EXPECT_TRUE(n["summary"].get<std::string>().ends_with("failed: exit code 137")) << n.dump();
  EXPECT_TRUE(n["oom_victim"].is_null()) << n.dump();
  std::cout << "victim: " << v["summary"] << " " << v["oom_victim"] << "\nneighbour: " << n["summary"] << "\n";
}

}  // namespace
