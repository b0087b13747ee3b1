// CronDaemonWatch (agent/sources/cron_daemon_watch.h): a running cron is watched by its pidfd with
// no timer; its exit is seen at once and looked at again after the confirm delay; while cron is
// down, or not watchable, a timer looks again. A real child process stands for cron.
#include "agent/sources/cron_daemon_watch.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/agent/test_values.h"
#include "tests/support/sd_loop.h"

namespace cronitor::agent {
namespace {

using test_values::kNoProcess;

const Instant kExitSeen = Instant{} + std::chrono::seconds(1'700'000'000);

struct Cron {
  pid_t pid = ::fork();
  Cron() {
    if (pid == 0)
      for (;;) ::pause();
  }
  void kill() {
    if (pid > 0 && ::kill(pid, SIGKILL) == 0) ::waitpid(pid, nullptr, 0);
    pid = 0;
  }
  ~Cron() { kill(); }
};

// The delay the timer was armed for, from the loop's now (µs); -1: off.
int64_t armed_for(const CronDaemonWatch& w, const cronitor::testing::SdLoop& loop) {
  auto at = w.next_look_usec();
  return at ? static_cast<int64_t>(*at) - static_cast<int64_t>(loop.mono_usec()) : -1;
}

TEST(CronDaemonWatch, ARunningCronIsWatchedByItsPidfdWithNoTimer) {
  cronitor::testing::SdLoop loop;
  int looks = 0;
  CronDaemonWatch w([&] { ++looks; }, [] { return kExitSeen; });
  w.attach(loop.ev);
  Cron cron;
  EXPECT_FALSE(w.observed(cron.pid, true));
  EXPECT_EQ(w.pid(), cron.pid);
  EXPECT_TRUE(w.pidfd_watched());
  EXPECT_FALSE(w.next_look_usec());  // idle: no wakeups while the pidfd watches
  loop.dispatch_ready();
  EXPECT_EQ(looks, 0);
}

TEST(CronDaemonWatch, ItsExitIsSeenAtOnceAndConfirmedTenSecondsLater) {
  cronitor::testing::SdLoop loop;
  int looks = 0;
  CronDaemonWatch w([&] { ++looks; }, [] { return kExitSeen; });
  w.attach(loop.ev);
  Cron cron;
  const pid_t was = cron.pid;
  w.observed(cron.pid, true);
  cron.kill();
  ASSERT_TRUE(loop.run_until([&] { return w.pid() == 0; }));
  EXPECT_FALSE(w.pidfd_watched());
  const int64_t delay = armed_for(w, loop);
  EXPECT_GT(delay, 9'000'000);  // a restart (stop, then start) within it is no outage
  EXPECT_LE(delay, 10'000'000);
  EXPECT_EQ(looks, 0);
  // The look finds it back (restarted under another pid): the outage counted from its exit, once.
  Cron again;
  ASSERT_NE(again.pid, was);
  EXPECT_EQ(w.observed(again.pid, true), kExitSeen);
  EXPECT_TRUE(w.pidfd_watched());
  EXPECT_FALSE(w.next_look_usec());
  EXPECT_FALSE(w.observed(again.pid, true));
}

TEST(CronDaemonWatch, TheConfirmDelayEndsInALook) {
  cronitor::testing::SdLoop loop;
  int looks = 0;
  CronDaemonWatch::Options o;
  o.gone_confirm_usec = 20'000;
  CronDaemonWatch w([&] { ++looks; }, [] { return kExitSeen; }, o);
  w.attach(loop.ev);
  Cron cron;
  w.observed(cron.pid, true);
  cron.kill();
  ASSERT_TRUE(loop.run_until([&] { return looks == 1; }));
  // Still down: looked at every 5 s for its return.
  EXPECT_EQ(w.observed(0, false), kExitSeen);
  const int64_t delay = armed_for(w, loop);
  EXPECT_GT(delay, 4'000'000);
  EXPECT_LE(delay, 5'000'000);
}

TEST(CronDaemonWatch, ACronWithNoPidfdIsLookedAtEveryMinute) {
  cronitor::testing::SdLoop loop;
  CronDaemonWatch w([] {}, [] { return kExitSeen; });
  w.attach(loop.ev);
  w.observed(kNoProcess, true);  // "running", but no pidfd of it can be had
  EXPECT_FALSE(w.pidfd_watched());
  const int64_t delay = armed_for(w, loop);
  EXPECT_GT(delay, 59'000'000);
  EXPECT_LE(delay, 60'000'000);
}

TEST(CronDaemonWatch, StopLeavesNothingWatched) {
  cronitor::testing::SdLoop loop;
  CronDaemonWatch w([] {}, [] { return kExitSeen; });
  w.attach(loop.ev);
  Cron cron;
  w.observed(cron.pid, true);
  w.observed(0, false);
  EXPECT_TRUE(w.next_look_usec());
  w.stop();
  EXPECT_EQ(w.pid(), 0);
  EXPECT_FALSE(w.pidfd_watched());
  EXPECT_FALSE(w.next_look_usec());
}

}  // namespace
}  // namespace cronitor::agent
