// The OOM part (agent/sources/oom_watch.h) reading a file in place of /dev/kmsg, with /proc faked:
// a failed run killed by SIGKILL whose process group held the victim is an OOM kill, another
// group's run is not (its hint is overruled), a run that did not die by SIGKILL is not judged, and
// without a readable log the wrapper's hint stands.
#include "agent/sources/oom_watch.h"

#include <gtest/gtest.h>
#include <time.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "tests/agent/eval_helpers.h"
#include "tests/support/test_dir.h"

namespace cronitor::agent {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

uint64_t mono_usec() {
  struct timespec ts {};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

class OomWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = cronitor::testing::test_dir("agent-oom-watch");
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "kmsg") << "6,1,1,-;an older record, before the watch\n";
  }
  void TearDown() override { fs::remove_all(dir_); }
  // One record appended and read, as read() on /dev/kmsg returns one record at a time.
  void print(const std::string& text) {
    std::ofstream(dir_ / "kmsg", std::ios::app) << "6," << seq_++ << "," << mono_usec() << ",-;" << text << "\n";
    watch_.read();
  }
  void oom_kill(int64_t pid, const std::string& name) {
    print("memory: usage 65536kB, limit 65536kB, failcnt 0");
    print(
        "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/system.slice/"
        "cron.service,task_memcg=/system.slice/cron.service,task=" +
        name + ",pid=" + std::to_string(pid) + ",uid=0");
    print("Memory cgroup out of memory: Killed process " + std::to_string(pid) + " (" + name +
          ") total-vm:276096kB, anon-rss:65024kB, file-rss:5408kB, shmem-rss:0kB, UID:0");
  }
  RunEvent killed_run(int64_t pgid, bool hint) {
    RunEvent ev = testing::event("job", "r1", RunEvent::State::kFail, now_ + 1s, 137, 10000);
    ev.signal = "SIGKILL";
    ev.pid = pgid;
    ev.oom_hint = hint;
    ev.oom = hint;
    return ev;
  }

  fs::path dir_;
  int seq_ = 100;
  Instant now_ = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
  std::map<int64_t, int64_t> groups_;  // pid -> process group, as /proc would say
  OomWatch watch_{[this] { return now_; },
                  [this](int64_t pid) -> std::optional<int64_t> {
                    auto it = groups_.find(pid);
                    if (it == groups_.end()) return std::nullopt;
                    return it->second;
                  },
                  [](int64_t) { return std::vector<int64_t>{}; }};
};

TEST_F(OomWatchTest, TheRunWhoseGroupHeldTheVictimWasOomKilled) {
  now_ -= 30s;  // the watch starts before the run (10 s long, ending now)
  watch_.start(nullptr, (dir_ / "kmsg").string());
  ASSERT_TRUE(watch_.live());
  now_ += 30s;
  groups_[6217] = 6200;
  oom_kill(6217, "python3");

  RunEvent mine = killed_run(6200, /*hint=*/false);
  watch_.attribute(mine);
  EXPECT_TRUE(mine.oom) << "its cgroup counter did not say so; the kernel's log does";
  EXPECT_EQ(mine.oom_victim, "python3 (pid 6217)");

  RunEvent other = killed_run(4242, /*hint=*/true);  // the same cgroup counted a kill: not its own
  watch_.attribute(other);
  EXPECT_FALSE(other.oom);
  EXPECT_EQ(other.oom_other, "python3 (pid 6217)");

  RunEvent failed = killed_run(6200, /*hint=*/false);
  failed.signal = {};
  failed.exit_code = 1;
  watch_.attribute(failed);
  EXPECT_FALSE(failed.oom) << "only a SIGKILL can be the OOM killer's";
}

TEST_F(OomWatchTest, WithoutTheKernelsLogTheHintStands) {
  watch_.start(nullptr, (dir_ / "missing").string());
  EXPECT_FALSE(watch_.live());
  RunEvent ev = killed_run(6200, /*hint=*/true);
  watch_.attribute(ev);
  EXPECT_TRUE(ev.oom);
  EXPECT_TRUE(ev.oom_victim.empty());

  OomWatch off([this] { return now_; });
  off.start(nullptr, "off");
  EXPECT_FALSE(off.live());
}

}  // namespace
}  // namespace cronitor::agent
