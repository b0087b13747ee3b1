// lost_forks (agent/sources/proc_adopt.h), read from the real /proc with this test process as cron:
// a process too young to tell whether its fork event is still queued is left out and judged again
// at the time the answer names, not forgotten (the run would be a false miss: issue 21's flaky
// ProcWatch.AJobStartedWhileEventsWereDroppedIsAdoptedFromProcNotMissed found it).
#include "agent/sources/proc_adopt.h"

#include <gtest/gtest.h>
#include <time.h>
#include <unistd.h>

#include "agent/sources/host_facts.h"
#include "tests/support/fake_cron_job.h"

namespace cronitor::agent {
namespace {

int64_t mono_now_ns() {
  timespec t{};
  ::clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

int64_t boot_ns() {
  timespec t{};
  ::clock_gettime(CLOCK_BOOTTIME, &t);
  return static_cast<int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

const LostFork* find(const LostForks& found, pid_t pid) {
  for (const auto& f : found.forks)
    if (f.pid == pid) return &f;
  return nullptr;
}

TEST(LostForks, AProcessTooYoungToJudgeIsLeftOutAndJudgedAgainLater) {
  cronitor::testing::FakeCronJob job("read x # proc-adopt-test");
  ASSERT_GT(job.child(), 0);
  const pid_t roots[] = {::getpid()};
  const auto follows_none = [](pid_t) { return false; };
  // Read as of a microsecond before a clock tick past the child's start (as /proc gives it, to the
  // tick): its fork may still be queued.
  const auto st = read_proc_stat(job.child());
  ASSERT_TRUE(st);
  const int64_t tick_ns = 1'000'000'000 / ::sysconf(_SC_CLK_TCK);
  const int64_t start_ns = static_cast<int64_t>(st->start_ticks) * tick_ns - (boot_ns() - mono_now_ns());
  const auto young = lost_forks(roots, follows_none, start_ns + tick_ns - 1'000);
  EXPECT_EQ(find(young, job.child()), nullptr) << "a process whose fork may still be queued was adopted";
  ASSERT_GT(young.judge_again_ns, start_ns + tick_ns) << "the young process was forgotten: it would never be adopted";
  // At the time named, it is judged: adopted (its fork was never read).
  const auto later = lost_forks(roots, follows_none, young.judge_again_ns);
  const auto* child = find(later, job.child());
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(child->parent, ::getpid());
  EXPECT_FALSE(child->exec) << "cron's child runs cron's program: no exec to replay";
  job.release();
  job.end_input();
  job.wait();
}

TEST(LostForks, AFollowedProcessIsNeitherAdoptedNorJudgedAgain) {
  cronitor::testing::FakeCronJob job("read x # proc-adopt-test-followed");
  ASSERT_GT(job.child(), 0);
  const pid_t roots[] = {::getpid()};
  const auto found = lost_forks(
      roots, [](pid_t) { return true; }, mono_now_ns());
  EXPECT_TRUE(found.forks.empty());
  EXPECT_EQ(found.judge_again_ns, 0);
  job.release();
  job.end_input();
  job.wait();
}

}  // namespace
}  // namespace cronitor::agent
