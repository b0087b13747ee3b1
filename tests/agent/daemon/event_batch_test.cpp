// The next transaction's events (agent/daemon/event_batch.h) on a loop of its own, without the
// daemon: a burst of events is committed once, when the loop has nothing else ready (after a
// source of normal priority that is ready too), the commit takes the whole batch, and full()
// says when the socket's events may wait no longer.
#include "agent/daemon/event_batch.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/support/sd_loop.h"

namespace cronitor::agent {
namespace {

cronitor::RunEvent run_of(const std::string& key) {
  cronitor::RunEvent e;
  e.key = key;
  return e;
}

class EventBatchTest : public ::testing::Test {
 protected:
  cronitor::testing::SdLoop loop_;
  std::vector<size_t> commits_;     // the size of each batch taken
  std::vector<std::string> order_;  // what the loop ran
  EventBatch batch_{[this] {
    order_.push_back("commit");
    commits_.push_back(batch_.take().size());
  }};
};

TEST_F(EventBatchTest, ABurstOfEventsIsCommittedOnceWhenTheLoopIdles) {
  batch_.attach(loop_.ev);
  // A source of normal priority, ready in the same turn: the commit waits for it.
  sd_event_source* other = nullptr;
  ASSERT_GE(sd_event_add_defer(
                loop_.ev, &other,
                [](sd_event_source*, void* ud) {
                  static_cast<std::vector<std::string>*>(ud)->push_back("other");
                  return 0;
                },
                &order_),
            0);
  EventSource other_src(other);
  sd_event_source_set_enabled(other, SD_EVENT_ONESHOT);
  for (int i = 0; i < 100; ++i) {
    batch_.push({run_of("job-" + std::to_string(i)), i % 2 ? 7 : -1});
    batch_.schedule();
  }
  EXPECT_FALSE(batch_.empty());
  EXPECT_TRUE(commits_.empty()) << "nothing is committed before the loop runs";
  loop_.dispatch_ready();
  ASSERT_EQ(commits_, std::vector<size_t>{100}) << "one commit for the burst";
  EXPECT_EQ(order_, (std::vector<std::string>{"other", "commit"})) << "the commit waits for what else is ready";
  EXPECT_TRUE(batch_.empty());

  loop_.dispatch_ready();
  EXPECT_EQ(commits_.size(), 1u) << "no commit without a new event";
  batch_.push({run_of("late"), -1});
  batch_.schedule();
  loop_.dispatch_ready();
  EXPECT_EQ(commits_, (std::vector<size_t>{100, 1}));
}

TEST_F(EventBatchTest, FullAtTheSocketsLimitAndTheEventsStayInOrder) {
  for (size_t i = 0; i + 1 < EventBatch::kMaxEvents; ++i) batch_.push({run_of("k" + std::to_string(i))});
  EXPECT_FALSE(batch_.full());
  batch_.push({run_of("last"), 3, 1000});
  EXPECT_TRUE(batch_.full());
  EXPECT_EQ(batch_.events().front().ev.key, "k0");
  EXPECT_EQ(batch_.events().back().conn_fd, 3);
  EXPECT_EQ(batch_.events().back().sender, 1000u);
  const auto taken = batch_.take();
  EXPECT_EQ(taken.size(), EventBatch::kMaxEvents);
  EXPECT_TRUE(batch_.empty());
  EXPECT_FALSE(batch_.full());
}

}  // namespace
}  // namespace cronitor::agent
