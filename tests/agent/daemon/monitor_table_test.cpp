// The monitor table (agent/daemon/monitor_table.h) without the daemon: a monitor is found by its
// key, also after a rekey; its deadline follows its state (the nearest one is the timer's, the due
// ones come nearest first, a paused or removed monitor has none); a transaction writes each
// changed monitor once (the whole row only when its config changed), and after a rollback the
// states are read back from state.db with their deadlines.
#include "agent/daemon/monitor_table.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "tests/agent/eval_helpers.h"
#include "tests/support/state_db.h"
#include "tests/support/test_dir.h"

namespace cronitor::agent {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::at;

MonitorState expecting(Instant slot) {
  MonitorState s;
  s.expected = slot;
  return s;
}

TEST(MonitorTable, FindsMonitorsByKeyAlsoAfterARekey) {
  MonitorTable t;
  EXPECT_TRUE(t.empty());
  const uint32_t a = t.add(testing::monitor("a", "@hourly"), MonitorState{});
  const uint32_t b = t.add(testing::monitor("b", "@daily"), MonitorState{}, /*adhoc=*/true);
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.find("a"), a);
  EXPECT_EQ(t.find("b"), b);
  EXPECT_FALSE(t.find("c"));
  EXPECT_EQ(t.adhoc_count(), 1u);

  EXPECT_FALSE(t.rekey(a, "b")) << "b is another monitor's";
  EXPECT_EQ(t.config(a).key, "a");
  EXPECT_TRUE(t.rekey(a, "a2"));
  EXPECT_EQ(t.find("a2"), a);
  EXPECT_FALSE(t.find("a"));
  EXPECT_EQ(t.config(a).key, "a2");
  std::vector<std::string> keys;
  for (const auto& m : t) keys.push_back(m.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"a2", "b"}));

  t.clear();
  EXPECT_TRUE(t.empty());
  EXPECT_FALSE(t.find("b"));
  EXPECT_EQ(t.adhoc_count(), 0u);
  EXPECT_FALSE(t.next_due());
}

TEST(MonitorTable, TheDeadlinesFollowTheStates) {
  MonitorTable t;
  const Instant t0 = at("2025-12-01T00:00:00Z");
  const uint32_t late = t.add(testing::monitor("late", "@hourly", "UTC", 60), expecting(t0 + 2h));
  const uint32_t soon = t.add(testing::monitor("soon", "@hourly", "UTC", 30), expecting(t0 + 1h));
  t.add(testing::monitor("idle", "@hourly"), MonitorState{});  // no slot awaited: no deadline

  EXPECT_EQ(t.deadline_of(soon), t0 + 1h + 30s);
  EXPECT_EQ(t.deadline_of(late), t0 + 2h + 60s);
  EXPECT_FALSE(t.deadline_of(2));
  EXPECT_EQ(t.next_due(), t0 + 1h + 30s);
  EXPECT_TRUE(t.due(t0 + 1h).empty());
  EXPECT_EQ(t.due(t0 + 3h), (std::vector<uint32_t>{soon, late})) << "nearest first";

  // The state moves on: touch() takes the deadline from it.
  t.state(soon).expected = t0 + 3h;
  t.touch(soon);
  EXPECT_EQ(t.next_due(), t0 + 2h + 60s);
  EXPECT_EQ(t.due(t0 + 2h + 60s), (std::vector<uint32_t>{late}));

  // Paused or removed: off the set.
  t.config(late).paused = true;
  t.touch(late);
  t.state(soon).removed = true;
  t.touch(soon);
  EXPECT_FALSE(t.next_due());
  EXPECT_TRUE(t.due(t0 + 24h).empty());
}

class MonitorTableStore : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = cronitor::testing::test_dir("agent-monitor-table");
    ASSERT_NO_FATAL_FAILURE(cronitor::testing::open_fresh_state_db(dir_, store_));
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  void flush() {
    ASSERT_TRUE(store_->begin());
    auto r = table_.flush(*store_);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_TRUE(store_->commit());
  }
  std::map<std::string, JobRow> rows() {
    std::map<std::string, JobRow> out;
    auto r = store_->jobs();
    EXPECT_TRUE(r) << r.error().message;
    if (r)
      for (auto& row : *r) out.emplace(row.key, std::move(row));
    return out;
  }

  fs::path dir_;
  std::optional<StateStore> store_;
  MonitorTable table_;
  const Instant t0_ = at("2025-12-01T00:00:00Z");
};

TEST_F(MonitorTableStore, ATransactionWritesEachChangedMonitorOnce) {
  MonitorConfig first = testing::monitor("a", "@hourly");
  first.name = "first";
  const uint32_t a = table_.add(first, expecting(t0_ + 1h));
  table_.add(testing::monitor("b", "@daily"), MonitorState{});
  EXPECT_EQ(table_.dirty_count(), 2u);
  flush();
  EXPECT_EQ(table_.dirty_count(), 0u);
  auto r = rows();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r["a"].state.expected, t0_ + 1h);

  // Touched twice, written once; the row's config stays until the config changes.
  table_.state(a).consecutive_misses = 2;
  table_.touch(a);
  table_.touch(a);
  EXPECT_EQ(table_.dirty_count(), 1u);
  table_.config(a).name = "renamed";
  flush();
  r = rows();
  EXPECT_EQ(r["a"].state.consecutive_misses, 2);
  EXPECT_EQ(r["a"].name, "first") << "only the state was written";

  table_.config_changed(a);
  table_.touch(a);
  flush();
  EXPECT_EQ(rows()["a"].name, "renamed");
}

TEST_F(MonitorTableStore, AfterARollbackTheStatesAreThoseOfStateDb) {
  const uint32_t a = table_.add(testing::monitor("a", "@hourly"), expecting(t0_ + 1h));
  flush();
  // A transaction that fails: the change is rolled back in state.db, then read back here.
  table_.state(a).expected = t0_ + 5h;
  table_.touch(a);
  const uint32_t b = table_.add(testing::monitor("b", "@hourly"), expecting(t0_ + 2h));
  ASSERT_TRUE(store_->begin());
  ASSERT_TRUE(table_.flush(*store_));
  store_->rollback();
  EXPECT_EQ(table_.next_due(), t0_ + 2h + 60s);

  auto stored = store_->jobs();
  ASSERT_TRUE(stored);
  table_.reread(std::move(*stored));
  EXPECT_EQ(table_.state(a).expected, t0_ + 1h);
  EXPECT_EQ(table_.deadline_of(a), t0_ + 1h + 60s);
  EXPECT_EQ(table_.next_due(), t0_ + 1h + 60s);
  EXPECT_EQ(table_.state(b).expected, t0_ + 2h) << "b has no row: kept as it is";
  EXPECT_EQ(table_.dirty_count(), 1u) << "b is still to be written, a is as state.db has it";
  flush();
  EXPECT_EQ(rows().size(), 2u);
}

}  // namespace
}  // namespace cronitor::agent
