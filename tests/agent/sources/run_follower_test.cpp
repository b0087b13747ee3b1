// RunFollower (agent/sources/run_follower.h): a run's wrapper followed with a pidfd, then its job's
// process group, and the run said lost once both are gone; each user's share of the pidfds.
// Real child processes stand for the wrapper and the job (no daemon).
#include "agent/sources/run_follower.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "agent/sources/host_facts.h"
#include "tests/agent/test_values.h"
#include "tests/support/sd_loop.h"

namespace cronitor::agent {
namespace {

using test_values::kNoProcess;

using SteadyClock = std::chrono::steady_clock;

// A child that waits to be killed, in the process group `pgid` (0: a group of its own).
pid_t spawn_in_group(pid_t pgid) {
  const pid_t p = ::fork();
  if (p == 0) {
    ::setpgid(0, pgid);
    for (;;) ::pause();
  }
  ::setpgid(p, pgid);  // also here: the follower must not see it before it joined
  return p;
}

void kill_and_reap(pid_t p) {
  ::kill(p, SIGKILL);
  ::waitpid(p, nullptr, 0);
}

// Children killed at the test's end, whatever happened.
struct Children {
  std::vector<pid_t> pids;
  ~Children() {
    for (pid_t p : pids)
      if (::kill(p, SIGKILL) == 0) ::waitpid(p, nullptr, 0);
  }
};

struct FollowRecorder : RunFollower::Handler {
  int waiting_taken = 0;
  std::function<void()> on_take;  // what arrives when the waiting events are taken
  bool open = true;
  struct Lost {
    std::string key, run_id;
    int64_t pgid;
    SteadyClock::time_point at;
  };
  std::vector<Lost> lost;
  void take_waiting_events() override {
    ++waiting_taken;
    if (on_take) on_take();
  }
  bool run_open(const std::string&, const std::string&) override { return open; }
  void run_lost(const std::string& key, const std::string& run_id, int64_t pgid) override {
    lost.push_back({key, run_id, pgid, SteadyClock::now()});
  }
};

RunFollower::Run run_of(pid_t wrapper, pid_t pgid, std::string run_id = "r1", int64_t uid = 0) {
  return {"job", std::move(run_id), uid, pgid, wrapper, 0};
}

TEST(RunFollower, AKilledWrapperWithAnEmptyGroupIsLostAfterTheSettle) {
  cronitor::testing::SdLoop loop;
  FollowRecorder h;
  RunFollower f(h);
  f.attach(loop.ev);
  Children kids;
  const pid_t w = spawn_in_group(0);
  kids.pids.push_back(w);
  const uint64_t start = f.follow(run_of(w, w));
  EXPECT_EQ(start, read_proc_stat(w)->start_ticks);  // learnt for the caller to keep
  EXPECT_EQ(f.watched("r1"), w);
  EXPECT_EQ(f.followed_of_key("job"), 1u);
  loop.dispatch_ready();
  EXPECT_TRUE(h.lost.empty());  // alive: nothing
  const auto killed = SteadyClock::now();
  kill_and_reap(w);
  ASSERT_TRUE(loop.run_until([&] { return !h.lost.empty(); }));
  ASSERT_EQ(h.lost.size(), 1u);
  EXPECT_EQ(h.lost[0].key, "job");
  EXPECT_EQ(h.lost[0].run_id, "r1");
  EXPECT_EQ(h.lost[0].pgid, w);
  EXPECT_EQ(h.waiting_taken, 1);  // its last event had its chance first
  // Not before the settle: the wrapper's end event may still be on its way.
  EXPECT_GE(h.lost[0].at - killed, std::chrono::microseconds(RunFollower::kSettleUsec - 10'000));
  EXPECT_EQ(f.followed(), 0u);
  EXPECT_EQ(f.followed_of_key("job"), 0u);
}

TEST(RunFollower, ALiveMemberOfTheGroupIsFollowedUntilItExits) {
  cronitor::testing::SdLoop loop;
  FollowRecorder h;
  RunFollower f(h);
  f.attach(loop.ev);
  Children kids;
  const pid_t w = spawn_in_group(0);
  const pid_t job = spawn_in_group(w);
  kids.pids = {w, job};
  f.follow(run_of(w, w));
  kill_and_reap(w);
  ASSERT_TRUE(loop.run_until([&] { return f.watched("r1") == job; }));
  EXPECT_TRUE(h.lost.empty());
  EXPECT_TRUE(f.follows("r1"));
  kill_and_reap(job);
  ASSERT_TRUE(loop.run_until([&] { return !h.lost.empty(); }));
  EXPECT_EQ(h.lost[0].run_id, "r1");
  EXPECT_EQ(h.waiting_taken, 1);  // once, after the wrapper; the group's member needs no settle
  EXPECT_FALSE(f.follows("r1"));
}

TEST(RunFollower, AnEndEventArrivingDuringTheSettleWins) {
  cronitor::testing::SdLoop loop;
  FollowRecorder h;
  RunFollower f(h);
  f.attach(loop.ev);
  Children kids;
  const pid_t w = spawn_in_group(0);
  kids.pids.push_back(w);
  f.follow(run_of(w, w));
  h.on_take = [&] { f.unfollow("r1"); };  // the core ingests the run's end event
  kill_and_reap(w);
  ASSERT_TRUE(loop.run_until([&] { return h.waiting_taken == 1; }));
  loop.dispatch_ready();
  EXPECT_TRUE(h.lost.empty());
  EXPECT_EQ(f.followed(), 0u);
}

TEST(RunFollower, ARunNoLongerOpenEndsItsFollowAndIsNotLost) {
  cronitor::testing::SdLoop loop;
  FollowRecorder h;
  h.open = false;  // closed meanwhile (the evaluator let it go)
  RunFollower f(h);
  f.attach(loop.ev);
  f.follow(run_of(kNoProcess, kNoProcess));
  ASSERT_TRUE(loop.run_until([&] { return f.followed() == 0; }));
  EXPECT_TRUE(h.lost.empty());
}

TEST(RunFollower, AnotherProcessUnderTheWrappersPidIsNotTakenForIt) {
  cronitor::testing::SdLoop loop;
  FollowRecorder h;
  RunFollower f(h);
  f.attach(loop.ev);
  Children kids;
  const pid_t w = spawn_in_group(0);
  kids.pids.push_back(w);
  RunFollower::Run r = run_of(w, kNoProcess);
  r.wrapper_start = read_proc_stat(w)->start_ticks + 1;  // the run's wrapper started at another time
  EXPECT_EQ(f.follow(r), 0u);
  EXPECT_EQ(f.watched("r1"), 0);                                 // settling: not the live process of that pid
  ASSERT_TRUE(loop.run_until([&] { return !h.lost.empty(); }));  // and its group is empty
}

TEST(RunFollower, EachUserHasAShareOfThePidfdsAndRootKeepsItsOwn) {
  cronitor::testing::SdLoop loop;
  FollowRecorder h;
  RunFollower f(h);
  f.attach(loop.ev);
  auto follow = [&](int64_t uid, size_t n) {
    for (size_t i = 0; i < n; ++i)
      f.follow(run_of(kNoProcess, kNoProcess, std::to_string(uid) + "-" + std::to_string(f.followed()), uid));
  };
  follow(1000, RunFollower::kMaxFollowsPerUser + 5);
  EXPECT_EQ(f.followed(), RunFollower::kMaxFollowsPerUser);  // one user: its share
  // Users together leave root its part.
  for (int64_t uid = 1001; uid < 1010; ++uid) follow(uid, RunFollower::kMaxFollowsPerUser);
  EXPECT_EQ(f.followed(), RunFollower::kMaxFollows - RunFollower::kRootFollows);
  follow(0, RunFollower::kRootFollows + 5);
  EXPECT_EQ(f.followed(), RunFollower::kMaxFollows);
  f.unfollow_key("job");
  EXPECT_EQ(f.followed(), 0u);
}

TEST(RunFollower, RunsTheEvaluatorLetGoAreFollowedNoLonger) {
  cronitor::testing::SdLoop loop;
  FollowRecorder h;
  RunFollower f(h);
  f.attach(loop.ev);
  for (const char* id : {"a", "b", "c"}) f.follow(run_of(kNoProcess, kNoProcess, id));
  // Fewer follows than open runs: nothing looked at.
  f.retain("job", 4, [](std::string_view) { return false; });
  EXPECT_EQ(f.followed(), 3u);
  // As many: those not open end.
  f.retain("job", 3, [](std::string_view id) { return id != "a"; });
  EXPECT_FALSE(f.follows("a"));
  EXPECT_TRUE(f.follows("b"));
  EXPECT_EQ(f.followed_of_key("job"), 2u);
}

TEST(RunFollower, NothingIsFollowedBeforeTheLoop) {
  FollowRecorder h;
  RunFollower f(h);
  EXPECT_EQ(f.follow(run_of(::getpid(), ::getpgrp())), 0u);
  EXPECT_EQ(f.followed(), 0u);
}

}  // namespace
}  // namespace cronitor::agent
