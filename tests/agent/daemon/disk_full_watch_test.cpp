// The full-disk part (agent/daemon/disk_full_watch.h) with its hooks faked and a simulated time:
// the first failure is the start of the outage and arms the retry timer; later ones are counted;
// a commit while the disk still has no room is no recovery; a retry writes only when there is
// room, counts a write that fails for lack of space, and once one succeeds the space is back
// (once), the timer is off and the daemon's hooks run.
#include "agent/daemon/disk_full_watch.h"

#include <gtest/gtest.h>

#include "tests/agent/eval_helpers.h"

namespace cronitor::agent {
namespace {

using namespace std::chrono_literals;
using testing::at;
using Write = DiskFullWatch::Write;

class DiskFullWatchTest : public ::testing::Test {
 protected:
  DiskFullWatchTest()
      : watch_(dir_, DiskFullWatch::Hooks{
                         [this] { return now_; },
                         [this] { return room_; },
                         [this] {
                           ++writes_;
                           return write_;
                         },
                         [this] { ++space_back_; },
                         [this] { ++retried_; },
                     }) {}

  const std::string dir_ = "/var/lib/cronitor-agent";
  Instant now_ = at("2025-12-01T00:00:00Z");
  bool room_ = false;
  Write write_ = Write::kFull;
  int writes_ = 0, space_back_ = 0, retried_ = 0;
  DiskFullWatch watch_;
};

TEST_F(DiskFullWatchTest, AnOutageStartsOnceAndEndsWhenAWriteProvesTheSpace) {
  EXPECT_FALSE(watch_.since());
  watch_.failed();
  now_ += 30s;
  watch_.failed();
  EXPECT_EQ(watch_.since(), at("2025-12-01T00:00:00Z")) << "the first failure starts it";
  EXPECT_EQ(watch_.failures(), 2u);

  watch_.ok();  // a small commit into pages state.db holds: the disk has no room yet
  EXPECT_TRUE(watch_.since());
  EXPECT_FALSE(watch_.retry()) << "no room: no write tried";
  EXPECT_EQ(writes_, 0);

  room_ = true;
  EXPECT_FALSE(watch_.retry());  // the write still fails for lack of space: counted
  EXPECT_EQ(writes_, 1);
  EXPECT_EQ(watch_.failures(), 3u);
  write_ = Write::kFailed;  // another error: not the disk's, not counted
  EXPECT_FALSE(watch_.retry());
  EXPECT_EQ(watch_.failures(), 3u);
  EXPECT_EQ(space_back_, 0);

  write_ = Write::kOk;
  EXPECT_TRUE(watch_.retry());
  EXPECT_FALSE(watch_.since());
  EXPECT_EQ(watch_.failures(), 0u);
  EXPECT_EQ(space_back_, 1);
  EXPECT_EQ(retried_, 1);
  EXPECT_TRUE(watch_.retry()) << "not full: nothing to do";
  EXPECT_EQ(writes_, 3);
}

TEST_F(DiskFullWatchTest, ACommitWithRoomEndsTheOutage) {
  watch_.ok();  // not full: nothing happens
  EXPECT_EQ(space_back_, 0);
  watch_.failed();
  room_ = true;
  watch_.ok();
  EXPECT_FALSE(watch_.since());
  EXPECT_EQ(space_back_, 1);
  EXPECT_EQ(retried_, 0) << "only a retry's write is a retry";
  EXPECT_EQ(writes_, 0);
}

TEST_F(DiskFullWatchTest, TheRetryTimerRunsOnlyWhileTheDiskIsFull) {
  sd_event* ev = nullptr;
  ASSERT_GE(sd_event_new(&ev), 0);
  watch_.attach(ev);
  EXPECT_FALSE(watch_.retry_armed());
  watch_.failed();
  EXPECT_TRUE(watch_.retry_armed());
  EXPECT_FALSE(watch_.retry());  // no room: armed again
  EXPECT_TRUE(watch_.retry_armed());
  room_ = true;
  write_ = Write::kOk;
  EXPECT_TRUE(watch_.retry());
  EXPECT_FALSE(watch_.retry_armed());
  sd_event_unref(ev);  // the timer holds its own reference to the loop
}

}  // namespace
}  // namespace cronitor::agent
