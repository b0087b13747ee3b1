// Retention as runs come (agent/daemon/run_retention.h) against a real state.db: a key's runs are
// pruned to `retention.runs` every 64 runs it stores, not before; a key nothing defines of a user
// other than root keeps at most 100 runs, root's keeps what retention says; every stored event
// is counted; the daily pruning applies `retention.days`.
#include "agent/daemon/run_retention.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/agent/eval_helpers.h"
#include "tests/support/state_db.h"
#include "tests/support/test_dir.h"

namespace cronitor::agent {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::at;

class RunRetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = cronitor::testing::test_dir("agent-run-retention");
    ASSERT_NO_FATAL_FAILURE(cronitor::testing::open_fresh_state_db(dir_, store_));
    retention_.emplace(config_, *store_, [this] { return now_; });
  }
  void TearDown() override {
    retention_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }
  // `n` runs of `m`, each stored and counted as the daemon does.
  void store_runs(const MonitorConfig& m, int n) {
    for (int i = 0; i < n; ++i) {
      const std::string id = m.key + "-" + std::to_string(next_++);
      ASSERT_TRUE(store_->record_event(testing::event(m.key, id, RunEvent::State::kComplete, now_), now_));
      retention_->stored(m);
      now_ += 1s;
    }
  }
  size_t runs_of(const std::string& key) {
    auto h = store_->history(key, 10000, 0);
    EXPECT_TRUE(h) << h.error().message;
    return h ? h->size() : 0;
  }

  fs::path dir_;
  Config config_;
  std::optional<StateStore> store_;
  std::optional<RunRetention> retention_;
  Instant now_ = at("2025-12-01T00:00:00Z");
  int next_ = 0;
};

TEST_F(RunRetentionTest, AKeysRunsArePrunedEvery64RunsItStores) {
  config_.retention.runs = 10;
  MonitorConfig m = testing::monitor("backup", "@hourly");
  m.uid = 0;
  m.source_file = "/etc/cron.d/backup";
  store_runs(m, 63);
  EXPECT_EQ(runs_of("backup"), 63u) << "not before the 64th";
  store_runs(m, 1);
  EXPECT_EQ(runs_of("backup"), 10u);
  store_runs(m, 63);
  EXPECT_EQ(runs_of("backup"), 73u);
  store_runs(m, 1);
  EXPECT_EQ(runs_of("backup"), 10u);
  EXPECT_EQ(retention_->events_stored(), 128u);
}

TEST_F(RunRetentionTest, AUsersOwnKeyKeeps100RunsRootsWhatRetentionSays) {
  MonitorConfig users = testing::monitor("alice-own", "@hourly");
  users.uid = 1000;  // no source file: a key nothing defines, first reported by alice
  MonitorConfig roots = testing::monitor("root-own", "@hourly");
  roots.uid = 0;
  MonitorConfig alices_crontab = testing::monitor("alice-cron", "@hourly");
  alices_crontab.uid = 1000;
  alices_crontab.source_file = "/var/spool/cron/crontabs/alice";
  for (const MonitorConfig* m : {&users, &roots, &alices_crontab}) store_runs(*m, 128);
  EXPECT_EQ(runs_of("alice-own"), 100u);
  EXPECT_EQ(runs_of("root-own"), 128u);
  EXPECT_EQ(runs_of("alice-cron"), 128u);
  EXPECT_EQ(retention_->events_stored(), 3u * 128);
}

TEST_F(RunRetentionTest, TheDailyPruningDeletesRunsOlderThanRetentionDays) {
  config_.retention.days = 2;
  MonitorConfig m = testing::monitor("old", "@hourly");
  m.uid = 0;
  store_runs(m, 3);
  now_ += 72h;
  store_runs(m, 2);
  retention_->prune_all();
  EXPECT_EQ(runs_of("old"), 2u);
}

}  // namespace
}  // namespace cronitor::agent
