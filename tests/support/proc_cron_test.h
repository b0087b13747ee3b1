// The running daemon with `observe: auto` beside the real Debian cron (issue 21): cron runs in a
// mount namespace of its own where the test's crontab, cron.d and cron.hourly (under a --root copy
// the agent reads) are bound over the host's, so the host's files are never written. Tests using
// it need root and /usr/sbin/cron, and own cron while they run (`flock /work/.locks/cron` by hand,
// RESOURCE_LOCK cron_daemon in ctest).
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/daemon_test.h"
#include "tests/support/memory_cgroup.h"

namespace cronitor::testing {

/// Whether the pid written in `pidfile` is a live process.
inline bool pid_alive(const std::string& pidfile) {
  std::ifstream in(pidfile);
  long pid = 0;
  return (in >> pid) && pid > 0 && ::kill(static_cast<pid_t>(pid), 0) == 0;
}

class ProcCronTest : public ::testing::Test {
 protected:
  explicit ProcCronTest(const std::string& prefix) : dir_(test_dir(prefix)) {}
  void TearDown() override {
    agent_.stop(SIGTERM);
    if (cron_ > 0) {
      ::kill(cron_, SIGTERM);
      ::waitpid(cron_, nullptr, 0);
    }
    std::error_code ec;
    fs::remove("/run/crond.pid", ec);
    fs::remove("/run/crond.reboot", ec);
    fs::remove_all(dir_, ec);
  }
  std::string config() const { return (dir_ / "agent.yaml").string(); }
  json status() {
    auto r = run_command({kAgent, "status", "--json", "--config", config()});
    return json::parse(r.out, nullptr, false);
  }
  static json monitor(const json& st, const std::string& where) {
    if (!st.is_object()) return {};
    for (const auto& m : st["monitors"])
      if (m["source"] == where) return m;
    return {};
  }
  /// cron started over `root` (its pid file copied there: the --root host's cron is this one), then
  /// the agent as `host` with `observe: auto`, cron's log `cron_log` ("off" or a file) and `more`
  /// lines of config; back once it follows cron's jobs. Call it in ASSERT_NO_FATAL_FAILURE.
  void start_cron_and_agent(const fs::path& root, const std::string& host, const std::string& cron_log,
                            const std::string& more = "") {
    cron_ = start_cron(root);
    ASSERT_GT(cron_, 0);
    ASSERT_TRUE(wait_until([] { return pid_alive("/run/crond.pid"); }, std::chrono::seconds(15)))
        << "cron did not start";
    fs::copy_file("/run/crond.pid", root / "run/crond.pid");
    std::ofstream(config()) << "state_dir: " << (dir_ / "state").string()
                            << "\nsocket: " << (dir_ / "agent.sock").string()
                            << "\nspool_dir: " << (dir_ / "spool").string() << "\nhostname: " << host << "\n"
                            << "observe: auto\n"
                            << "discovery: {root: " << root.string()
                            << ", systemd: false, auto_wrap: false, cron_log: " << cron_log << "}\n"
                            << more;
    ASSERT_TRUE(agent_.start(config(), (dir_ / "agent.sock").string())) << agent_.log();
    ASSERT_TRUE(agent_.wait_for_log("process events: following", std::chrono::seconds(5))) << agent_.log();
  }

  // cron in a mount namespace of its own: the copy's crontab, cron.d and cron.hourly over the host's.
  pid_t start_cron(const fs::path& root) {
    const pid_t pid = ::fork();
    if (pid != 0) return pid;
    const int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    if (cron_cgroup_ && !cron_cgroup_->join()) ::_exit(124);
    if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) ::_exit(126);
    for (const char* p : {"/etc/crontab", "/etc/cron.d", "/etc/cron.hourly"})
      if (::mount((root.string() + p).c_str(), p, nullptr, MS_BIND, nullptr) != 0) ::_exit(125);
    ::execl("/usr/sbin/cron", "cron", "-f", static_cast<char*>(nullptr));  // Debian's default -L 1
    ::_exit(127);
  }

  fs::path dir_;
  const MemoryCgroup* cron_cgroup_ = nullptr;  // cron (and so its jobs) runs in it, as in cron.service's
  AgentProcess agent_{kAgent, (dir_ / "daemon.log").string()};
  pid_t cron_ = -1;
};

}  // namespace cronitor::testing
