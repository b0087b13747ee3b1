// Is cron up? (agent/sources/cron_check.h) Only root's process named cron counts: a local user's
// process called "cron" (here a copy of sleep run as nobody) must not hide a cron outage.
#include "agent/sources/cron_check.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <utility>

#include "tests/support/subprocess.h"

namespace cronitor::agent {
namespace {

namespace fs = std::filesystem;

class CronCheck : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "run");
    fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
    fs::copy_file("/bin/sleep", dir_ / "cron");
  }
  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    fs::remove_all(dir_);
  }
  /// A process whose name is "cron", as `uid`, written into run/crond.pid.
  void start_cron_named(uid_t uid) {
    // The pid file once the process is named "cron" (the exec has happened), as cron writes its own.
    pid_ = cronitor::testing::spawn_exec((dir_ / "cron").string(), {"cron", "60"}, [uid] {
      if (uid != 0 && (::setgid(uid) != 0 || ::setuid(uid) != 0)) ::_exit(126);
    });
    ASSERT_GT(pid_, 0);
    std::ofstream(dir_ / "run/crond.pid") << pid_ << "\n";
  }
  fs::path dir_ = fs::temp_directory_path() / ("cron-check-" + std::to_string(::getpid()));
  pid_t pid_ = -1;
};

// The one reader of cron's pid file: under the root as given ("/" is the host's own), a pid only
// when the file holds one the kernel could have given.
TEST_F(CronCheck, ThePidFileNamesAPidOrNothing) {
  EXPECT_EQ(cron_pid_file("/"), "/run/crond.pid");
  EXPECT_EQ(cron_pid_file(""), "/run/crond.pid");
  EXPECT_EQ(cron_pid_file("/srv/copy//"), "/srv/copy/run/crond.pid");
  EXPECT_EQ(cron_pid_file(dir_.string()), (dir_ / "run/crond.pid").string());
  EXPECT_EQ(read_cron_pid(dir_.string()), std::nullopt) << "no file";
  const std::pair<const char*, std::optional<pid_t>> cases[] = {{"1234\n", 1234},         {"  77", 77},
                                                                {"4194304\n", 4194304},   {"0\n", std::nullopt},
                                                                {"-5\n", std::nullopt},   {"4194305\n", std::nullopt},
                                                                {"cron\n", std::nullopt}, {"", std::nullopt}};
  for (const auto& [text, pid] : cases) {
    std::ofstream(dir_ / "run/crond.pid", std::ios::trunc) << text;
    EXPECT_EQ(read_cron_pid(dir_.string()), pid) << "\"" << text << "\"";
    EXPECT_EQ(read_cron_pid(dir_.string() + "/"), pid) << "\"" << text << "\"";
  }
}

TEST_F(CronCheck, RootsCronProcessIsTheDaemon) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  start_cron_named(0);
  pid_t found = 0;
  auto obs = observe_cron(dir_.string(), Instant{}, "h", &found);
  EXPECT_TRUE(obs.running) << obs.cause;
  EXPECT_EQ(found, pid_);
}

TEST_F(CronCheck, AUsersProcessNamedCronIsNot) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run a process as nobody";
  start_cron_named(65534);
  pid_t found = 0;
  auto obs = observe_cron(dir_.string(), Instant{}, "h", &found);
  EXPECT_FALSE(obs.running) << "nobody's process named cron passed for the daemon";
  EXPECT_EQ(found, 0);
  EXPECT_NE(obs.cause.find("no live cron process behind"), std::string::npos) << obs.cause;
}

}  // namespace
}  // namespace cronitor::agent
