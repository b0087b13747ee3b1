// The process events source under the real Debian cron daemon, nothing wrapped and cron's default
// of no END lines needed (issue 21): a failing job (exit 5), a healthy one, and a run-parts line
// over a folder with a failing script (3) and a healthy one, each seen with its own exit code from
// the kernel's process events; the same command line started by this test (not by cron) is not a
// run. The lines are @reboot lines, which cron starts as it starts (a minutely line would wait up
// to a minute for cron's tick): a few seconds. Needs root and /usr/sbin/cron. It owns cron while it
// runs (run it under `flock /work/.locks/cron` by hand).
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>

#include "agent/sources/proc_events.h"
#include "agent/sources/process_tracker.h"

namespace cronitor::agent {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kHostFile = "/etc/cron.d/cronitor-procev-e2e";
// Unique commands: only this test's lines match them. The sleep keeps each job's argv in /proc
// long enough to be read at its exec (microseconds are needed, a second is given).
const std::string kFail = "sleep 1; exit 5 # cronitor-procev-e2e-fail";
const std::string kOk = "sleep 1 # cronitor-procev-e2e-ok";

bool pid_alive(const std::string& pidfile) {
  std::ifstream in(pidfile);
  long pid = 0;
  return (in >> pid) && pid > 0 && ::kill(static_cast<pid_t>(pid), 0) == 0;
}

class ProcEventsCron : public ::testing::Test {
 protected:
  void TearDown() override {
    std::error_code ec;
    fs::remove(kHostFile, ec);
    if (cron_ > 0) {
      ::kill(cron_, SIGTERM);
      ::waitpid(cron_, nullptr, 0);
    }
    if (lookalike_ > 0) ::waitpid(lookalike_, nullptr, 0);
    fs::remove("/run/crond.pid", ec);
    fs::remove("/run/crond.reboot", ec);
    fs::remove_all(dir_, ec);
  }
  fs::path dir_ = fs::temp_directory_path() / ("cronitor-procev-e2e-" + std::to_string(::getpid()));
  pid_t cron_ = -1, lookalike_ = -1;
};

TEST_F(ProcEventsCron, UnwrappedJobsAndRunPartsScriptsEndWithTheirOwnExitCodes) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (the connector, /etc/cron.d, cron)";
  ASSERT_TRUE(fs::exists("/usr/sbin/cron")) << "install Debian's cron (REAL-COMPONENTS.md)";
  ASSERT_FALSE(pid_alive("/run/crond.pid")) << "a cron daemon already runs here";
  fs::create_directories(dir_);
  for (auto [name, code] : {std::pair{"a-fails", 3}, std::pair{"b-works", 0}}) {
    std::ofstream(dir_ / name) << "#!/bin/sh\nsleep 1\nexit " << code << "\n";
    fs::permissions(dir_ / name, fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read);
  }
  const std::string parts = "run-parts " + dir_.string();
  std::ofstream(kHostFile) << "SHELL=/bin/sh\n@reboot root " << kFail << "\n@reboot root " << kOk << "\n@reboot root "
                           << parts << "\n";
  std::error_code ec;
  fs::remove("/run/crond.reboot", ec);  // @reboot runs at this start

  auto connector = ProcConnector::open();
  ASSERT_TRUE(connector.has_value()) << connector.error().message;
  const std::map<std::string, std::string> lines = {{kFail, "fail"}, {kOk, "ok"}, {parts, "parts"}};
  ProcessTracker tracker({.job = [&](uid_t uid, std::string_view cmd) -> std::optional<std::string> {
                            auto it = lines.find(std::string(cmd));
                            if (uid != 0 || it == lines.end()) return std::nullopt;
                            return it->second;
                          },
                          .script =
                              [&](uid_t uid, std::string_view key, std::string_view script) {
                                std::optional<std::string> k;
                                if (uid == 0 && key == "parts") k = fs::path(script).filename().string();
                                return k;
                              }});

  cron_ = ::fork();
  ASSERT_GE(cron_, 0);
  if (cron_ == 0) {
    ::execl("/usr/sbin/cron", "cron", "-f", static_cast<char*>(nullptr));  // Debian's default -L 1
    ::_exit(127);
  }
  const pid_t roots[] = {cron_};
  tracker.set_roots(roots);
  // A user's look-alike of the failing job, not started by cron.
  lookalike_ = ::fork();
  ASSERT_GE(lookalike_, 0);
  if (lookalike_ == 0) {
    ::execl("/bin/sh", "/bin/sh", "-c", kFail.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }

  std::map<std::string, ProcRun> ended;
  std::vector<pid_t> run_pids;
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (ended.size() < 5 && Clock::now() < deadline) {
    auto d = connector->drain([&](const ProcEvent& e) { tracker.feed(e, read_exec_facts); });
    ASSERT_TRUE(d.has_value()) << d.error().message;
    EXPECT_EQ(d->losses, 0u);
    for (auto& r : tracker.take_runs()) {
      run_pids.push_back(r.pid);
      if (r.phase == ProcRun::Phase::ended) ended.try_emplace(r.key, r);
    }
    pollfd p{connector->fd(), POLLIN, 0};
    ::poll(&p, 1, 500);
  }
  ASSERT_EQ(ended.size(), 5u) << "unreadable execs: " << tracker.counters().unreadable;
  auto code = [&](const std::string& key) {
    EXPECT_EQ(ended[key].outcome, ProcRun::Outcome::exited) << key;
    return ended[key].exit_code;
  };
  EXPECT_EQ(code("fail"), 5);
  EXPECT_EQ(code("ok"), 0);
  EXPECT_EQ(code("a-fails"), 3);
  EXPECT_EQ(code("b-works"), 0);
  EXPECT_NE(code("parts"), 0);  // run-parts says a script failed
  EXPECT_GE(ended["a-fails"].duration_ns(), 1'000'000'000);
  EXPECT_EQ(std::count(run_pids.begin(), run_pids.end(), lookalike_), 0);
}

}  // namespace
}  // namespace cronitor::agent
