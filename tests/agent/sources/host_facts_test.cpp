// Host facts (agent/sources/host_facts.h): /proc/PID/stat parsed the one way the daemon parses it,
// and the boot time a test states through CRONITOR_BOOT_TIME instead of this machine's uptime.
#include "agent/sources/host_facts.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace cronitor::agent {
namespace {

using std::chrono::seconds;

/// Sets an environment variable for one test and restores it after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(ProcStat, NamesWithSpacesAndParenthesesEndAtTheLastParenthesis) {
  const std::string tail = " 236 0 0 0 0 0 0 0 20 0 1 0 98765 1000 10 18446744073709551615";
  auto s = parse_proc_stat("4242 (a) b (c)) S 17 4242 4242 0 -1 4194560" + tail);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->comm, "a) b (c)");
  EXPECT_EQ(s->state, 'S');
  EXPECT_EQ(s->ppid, 17);
  EXPECT_EQ(s->pgrp, 4242);
  EXPECT_EQ(s->start_ticks, 98765u);
  EXPECT_TRUE(s->alive());
  auto z = parse_proc_stat("7 (cron) Z 1 7 7 0 -1 4194560" + tail);
  ASSERT_TRUE(z.has_value());
  EXPECT_FALSE(z->alive());
  // Cut short, or a name that never closes: no answer rather than a wrong one.
  EXPECT_FALSE(parse_proc_stat("7 (cron) S 1 7 7 0").has_value());
  EXPECT_FALSE(parse_proc_stat("7 (cron S 1 7 7 0 -1 4194560" + tail).has_value());
  EXPECT_FALSE(parse_proc_stat("7 (cron) S x 7 7 0 -1 4194560" + tail).has_value());
}

TEST(ProcStat, ReadsTheCpuTimeInUserAndKernelMode) {
  // Fields 14 and 15 (utime, stime), after minflt, cminflt, majflt and cmajflt.
  auto s = parse_proc_stat("4242 (agent) S 1 4242 4242 0 -1 4194560 236 0 0 0 115 148 0 0 20 0 3 0 98765");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->utime_ticks, 115u);
  EXPECT_EQ(s->stime_ticks, 148u);
  EXPECT_EQ(s->start_ticks, 98765u);
}

TEST(ProcStat, ThisProcessAsTheKernelShowsIt) {
  auto self = read_proc_stat(::getpid());
  ASSERT_TRUE(self.has_value());
  EXPECT_EQ(self->ppid, ::getppid());
  EXPECT_EQ(self->pgrp, ::getpgrp());
  EXPECT_EQ(proc_uid(::getpid()), ::getuid());
  auto argv = proc_cmdline(::getpid());
  ASSERT_FALSE(argv.empty());
  EXPECT_NE(argv[0].find("agent_tests"), std::string::npos) << argv[0];
  // This process started within the last hour, and not in the future, whatever the uptime.
  auto started = process_started_at(*self);
  ASSERT_TRUE(started.has_value());
  const auto now = std::chrono::system_clock::now();
  EXPECT_LE(*started, now);
  EXPECT_GT(*started, now - std::chrono::hours(1));
  EXPECT_FALSE(read_proc_stat(0).has_value());
  // Its program, as the adoption of lost forks compares it with its parent's.
  EXPECT_EQ(proc_exe(::getpid()), std::filesystem::read_symlink("/proc/self/exe").string());
  EXPECT_EQ(proc_exe(0), "");
  // The host's OOM kills: a number wherever /proc/vmstat is readable (Linux 4.13 and later).
  EXPECT_EQ(host_oom_kills().has_value(), ::access("/proc/vmstat", R_OK) == 0);
}

TEST(BootTime, FromTheKernelsStatFileElseItsClocks) {
  const std::string path = ::testing::TempDir() + "/host_facts_stat";
  std::ofstream(path) << "cpu  1 2 3\nintr 5\nbtime 1780000000\nprocesses 9\n";
  EXPECT_EQ(kernel_boot_time(path), Instant(seconds(1780000000)));
  auto real = kernel_boot_time();
  ASSERT_TRUE(real.has_value());
  EXPECT_LT(*real, std::chrono::system_clock::now());
  // Without /proc/stat: CLOCK_REALTIME - CLOCK_BOOTTIME, within a second of the kernel's btime.
  auto fallback = kernel_boot_time(path + ".missing");
  ASSERT_TRUE(fallback.has_value());
  EXPECT_LT(std::chrono::abs(*fallback - *real), seconds(2));
  std::remove(path.c_str());
}

TEST(BootTime, ATestStatesItThroughTheEnvironment) {
  {
    ScopedEnv env("CRONITOR_BOOT_TIME", "1780000000");
    EXPECT_EQ(host_boot_time(), Instant(seconds(1780000000)));
  }
  const auto kernel = kernel_boot_time();
  ASSERT_TRUE(kernel.has_value());
  {
    ScopedEnv env("CRONITOR_BOOT_TIME", nullptr);
    EXPECT_EQ(host_boot_time(), kernel);
  }
  // Not a time in the past: the kernel's answer, not a guess.
  for (const char* bad : {"soon", "-5", "0", "1780000000x", "99999999999"}) {
    ScopedEnv env("CRONITOR_BOOT_TIME", bad);
    EXPECT_EQ(host_boot_time(), kernel) << bad;
  }
}

}  // namespace
}  // namespace cronitor::agent
