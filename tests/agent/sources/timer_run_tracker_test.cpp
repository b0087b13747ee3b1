// TimerRunTracker: property snapshots of a timer's service in, wrapper-style run events out,
// one run and one end per invocation whatever order and how often snapshots arrive.
#include "agent/sources/timer_run_tracker.h"

#include <gtest/gtest.h>

#include "tests/agent/test_values.h"

namespace cronitor::agent {
namespace {

using test_values::kInvocationId1;
using test_values::kInvocationId2;

constexpr uint64_t kStart = 1'764'000'000'000'000;  // 2025-11-24T16:00:00Z, µs

ServiceSnapshot going(const char* id = kInvocationId1) {
  ServiceSnapshot s;
  s.invocation_id = id;
  s.active_state = "activating";
  s.start_usec = kStart;
  s.main_pid = 4242;
  s.result = "success";
  return s;
}

ServiceSnapshot ended(const std::string& state, const std::string& result, int code, int status,
                      const char* id = kInvocationId1) {
  ServiceSnapshot s = going(id);
  s.active_state = state;
  s.exit_usec = kStart + 2'500'000;
  s.exec_code = code;
  s.exec_status = status;
  s.result = result;
  return s;
}

TrackContext ctx() { return TrackContext{"host1", kStart + 3'000'000, false, ""}; }

TEST(TimerRunTracker, RunThenCompleteOncePerInvocation) {
  TimerRunTracker t;
  auto a = t.observe("k1", "a.service", going(), ctx());
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].state, RunState::kRun);
  EXPECT_EQ(a[0].key, "k1");
  EXPECT_EQ(a[0].run_id, "01234567-89ab-cdef-0123-456789abcdef");
  EXPECT_EQ(a[0].ts, "2025-11-24T16:00:00.000Z");
  EXPECT_EQ(a[0].pid, 4242);
  EXPECT_TRUE(t.observe("k1", "a.service", going(), ctx()).empty());  // the same snapshot again
  EXPECT_TRUE(t.running("a.service"));
  auto b = t.observe("k1", "a.service", ended("inactive", "success", 1, 0), ctx());
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].state, RunState::kComplete);
  EXPECT_EQ(b[0].exit_code, 0);
  EXPECT_EQ(b[0].duration_ms, 2500);
  EXPECT_EQ(b[0].ts, "2025-11-24T16:00:02.500Z");
  EXPECT_FALSE(t.running("a.service"));
  EXPECT_TRUE(t.observe("k1", "a.service", ended("inactive", "success", 1, 0), ctx()).empty());
}

TEST(TimerRunTracker, FirstSeenEndedGivesRunAndEnd) {
  TimerRunTracker t;
  auto e = t.observe("k", "a.service", ended("failed", "exit-code", 1, 3), ctx());
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].state, RunState::kRun);
  EXPECT_EQ(e[1].state, RunState::kFail);
  EXPECT_EQ(e[1].exit_code, 3);
  EXPECT_FALSE(e[1].signal);
  EXPECT_FALSE(e[1].error);
}

TEST(TimerRunTracker, ResultsInTheAlertsWords) {
  struct Case {
    std::string result;
    int code, status;
    bool oom_rose;
    int exit_code;
    std::optional<std::string> signal;
    bool oom, timeout;
    std::optional<std::string> error;
  };
  const Case cases[] = {
      {"signal", 2, 9, false, 137, "SIGKILL", false, false, std::nullopt},
      {"signal", 2, 9, true, 137, "SIGKILL", true, false, std::nullopt},  // cgroup v1 MemoryMax= kill
      {"oom-kill", 2, 9, false, 137, "SIGKILL", true, false, std::nullopt},
      {"timeout", 2, 15, false, 143, "SIGTERM", false, true, std::nullopt},
      {"core-dump", 3, 11, false, 139, "SIGSEGV", false, false, "dumped core"},
      {"watchdog", 2, 6, false, 134, "SIGABRT", false, false, "stopped answering the watchdog (WatchdogSec=)"},
      {"signal", 2, 15, true, 143, "SIGTERM", false, false, std::nullopt},  // only SIGKILL is the OOM killer's
  };
  for (const auto& c : cases) {
    TimerRunTracker t;
    TrackContext x = ctx();
    x.oom_counter_rose = c.oom_rose;
    auto e = t.observe("k", "a.service", ended("failed", c.result, c.code, c.status), x);
    ASSERT_EQ(e.size(), 2u) << c.result;
    EXPECT_EQ(e[1].state, RunState::kFail) << c.result;
    EXPECT_EQ(e[1].exit_code, c.exit_code) << c.result;
    EXPECT_EQ(e[1].signal, c.signal) << c.result;
    EXPECT_EQ(e[1].oom, c.oom) << c.result;
    EXPECT_EQ(e[1].timeout, c.timeout) << c.result;
    EXPECT_EQ(e[1].error, c.error) << c.result;
    EXPECT_TRUE(decode(encode(e[1]))) << c.result << ": the event is valid on the wire";
  }
}

TEST(TimerRunTracker, NewInvocationStartsANewRun) {
  TimerRunTracker t;
  (void)t.observe("k", "a.service", ended("inactive", "success", 1, 0), ctx());
  auto e = t.observe("k", "a.service", going(kInvocationId2), ctx());
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].run_id, "fedcba98-7654-3210-fedc-ba9876543210");
  // A run that ended while nobody listened (a reexec, a disconnect): read once, reported once.
  auto f = t.observe("k", "a.service", ended("inactive", "success", 1, 0, kInvocationId2), ctx());
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].state, RunState::kComplete);
}

TEST(TimerRunTracker, NeverStartedOrMalformedGivesNothing) {
  TimerRunTracker t;
  ServiceSnapshot s;
  s.active_state = "inactive";
  EXPECT_TRUE(t.observe("k", "a.service", s, ctx()).empty());
  s = going("not-hex");
  EXPECT_TRUE(t.observe("k", "a.service", s, ctx()).empty());
  s = ended("inactive", "success", 1, 0);
  s.start_usec = 0;  // condition failed: no process ran
  EXPECT_TRUE(t.observe("k", "a.service", s, ctx()).empty());
}

TEST(TimerRunTracker, FreshAndEndPendingTellWhatObserveWouldAdd) {
  TimerRunTracker t;
  EXPECT_TRUE(t.fresh("a.service", going()));
  EXPECT_FALSE(t.end_pending("a.service", going()));
  (void)t.observe("k", "a.service", going(), ctx());
  EXPECT_FALSE(t.fresh("a.service", going()));
  const auto done = ended("inactive", "success", 1, 0);
  EXPECT_TRUE(t.end_pending("a.service", done));  // the caller reads the journal only then
  (void)t.observe("k", "a.service", done, ctx());
  EXPECT_FALSE(t.end_pending("a.service", done));
  EXPECT_TRUE(t.fresh("a.service", going(kInvocationId2)));
  t.forget("a.service");
  EXPECT_TRUE(t.end_pending("a.service", done));
}

TEST(TimerRunTracker, ResultWords) {
  EXPECT_EQ(result_words("success"), "");
  EXPECT_EQ(result_words("exit-code"), "");
  EXPECT_EQ(result_words("start-limit-hit"), "started too often (start-limit-hit)");
  EXPECT_EQ(result_words("weird"), "systemd result \"weird\"");
  EXPECT_EQ(invocation_run_id("0123"), "");
}

}  // namespace
}  // namespace cronitor::agent
