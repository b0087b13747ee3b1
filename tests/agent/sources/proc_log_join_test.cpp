// The fast-exit gap of the process events (agent/sources/proc_log_join.h): a job shell gone before
// its /proc was read (`exit 4`, a missing wrapper's 127) is a nameless run, named by cron's CMD
// line of its pid; a CMD line with no run at all is a run with its outcome unknown, never a miss.
// Times are injected (ms of the monotonic clock for the waits).
#include "agent/sources/proc_log_join.h"

#include <gtest/gtest.h>

namespace cronitor::agent {
namespace {

using Phase = ProcRun::Phase;
using Outcome = ProcRun::Outcome;

ProcRun nameless_start(pid_t pid, int64_t t_ns) {
  ProcRun r;
  r.pid = pid;
  r.uid = static_cast<uid_t>(-1);
  r.start_ns = t_ns;
  return r;
}

ProcRun nameless_end(pid_t pid, int64_t start_ns, int64_t end_ns, int code) {
  ProcRun r = nameless_start(pid, start_ns);
  r.phase = Phase::ended;
  r.end_ns = end_ns;
  r.outcome = Outcome::exited;
  r.exit_code = code;
  return r;
}

ProcLogJoin::CmdLine cmd(pid_t pid, std::string key, uid_t uid = 0) { return {pid, std::move(key), uid, 1000}; }

TEST(ProcLogJoin, ARunGoneBeforeItsCommandWasReadIsNamedByCronsLineOfItsPidWithItsExitCode) {
  for (bool line_first : {false, true}) {
    ProcLogJoin j;
    if (line_first) j.cmd(cmd(4026, "fast", 1000), 0);
    j.nameless(nameless_start(4026, 10), 1);
    j.nameless(nameless_end(4026, 10, 1'000'010, 4), 1);
    if (!line_first) j.cmd(cmd(4026, "fast", 1000), 3);
    auto out = j.take(4);
    ASSERT_EQ(out.named.size(), 2u) << line_first;
    EXPECT_EQ(out.named[0].phase, Phase::started);
    EXPECT_EQ(out.named[0].key, "fast");
    EXPECT_EQ(out.named[0].uid, 1000u);
    EXPECT_EQ(out.named[1].phase, Phase::ended);
    EXPECT_EQ(out.named[1].key, "fast");
    EXPECT_EQ(out.named[1].exit_code, 4);
    EXPECT_EQ(out.named[1].duration_ns(), 1'000'000);
    EXPECT_TRUE(out.log_only.empty());
    EXPECT_TRUE(out.unnamed.empty());
    EXPECT_EQ(j.waiting(), 0u);
    EXPECT_FALSE(j.next_due_ms());
  }
}

TEST(ProcLogJoin, ANamedRunsEndThatComesLaterIsNamedToo) {
  ProcLogJoin j;
  j.nameless(nameless_start(300, 0), 0);
  j.cmd(cmd(300, "slow"), 1);
  auto out = j.take(2);
  ASSERT_EQ(out.named.size(), 1u);
  EXPECT_EQ(out.named[0].phase, Phase::started);
  EXPECT_FALSE(j.next_due_ms()) << "named: it waits for its end, not for a line";
  EXPECT_TRUE(j.take(1'000'000).unnamed.empty());
  j.nameless(nameless_end(300, 0, 5, 127), 1'000'001);
  out = j.take(1'000'002);
  ASSERT_EQ(out.named.size(), 1u);
  EXPECT_EQ(out.named[0].key, "slow");
  EXPECT_EQ(out.named[0].exit_code, 127);
}

TEST(ProcLogJoin, ACmdLineWithNoRunOfItsPidIsARunWithItsOutcomeUnknownAfterTheWait) {
  ProcLogJoin j(ProcLogJoin::Options{.wait_ms = 10'000});
  j.cmd(cmd(500, "lost"), 100);
  EXPECT_EQ(j.next_due_ms(), 10'100);
  EXPECT_TRUE(j.take(10'099).log_only.empty());
  auto out = j.take(10'100);
  ASSERT_EQ(out.log_only.size(), 1u);
  EXPECT_EQ(out.log_only[0].key, "lost");
  EXPECT_EQ(out.log_only[0].pid, 500);
  EXPECT_EQ(j.waiting(), 0u);
}

TEST(ProcLogJoin, ACmdLineOfARunTheProcessEventsNamedIsCovered) {
  ProcLogJoin j;
  j.named(600, "seen", 0);
  j.cmd(cmd(600, "seen"), 5);  // the line read after the run
  j.cmd(cmd(700, "other"), 5);
  j.named(700, "other", 6);  // the run read after the line
  j.cmd(cmd(801, "seen-elsewhere"), 7);
  j.named(800, "seen-elsewhere", 8);  // a cron that logs another pid: covered by the key
  auto out = j.take(1'000'000);
  EXPECT_TRUE(out.log_only.empty());
  EXPECT_TRUE(out.named.empty());
}

TEST(ProcLogJoin, ANamelessRunNoLineNamesIsGivenBackUnnamedAfterTheWait) {
  ProcLogJoin j(ProcLogJoin::Options{.wait_ms = 10'000});
  j.nameless(nameless_start(900, 0), 50);
  j.nameless(nameless_end(900, 0, 7, 0), 50);
  EXPECT_EQ(j.next_due_ms(), 10'050);
  EXPECT_TRUE(j.take(10'049).unnamed.empty());
  auto out = j.take(10'050);
  ASSERT_EQ(out.unnamed.size(), 1u);
  EXPECT_EQ(out.unnamed[0].phase, Phase::ended);
  EXPECT_EQ(out.unnamed[0].pid, 900);
  // Its line read too late is then a run of its own, outcome unknown: never a miss.
  j.cmd(cmd(900, "late"), 10'060);
  EXPECT_EQ(j.take(20'060).log_only.size(), 1u);
}

}  // namespace
}  // namespace cronitor::agent
