// The host's row (agent/daemon/host_record.h) against a real state.db: what the previous run left
// stays readable while this run changes the row; a change is written with the next transaction,
// stamped with the time as a sign of life, and nothing is written without one; after a rollback
// the row is state.db's again.
#include "agent/daemon/host_record.h"

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

class HostRecordTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = cronitor::testing::test_dir("agent-host-record");
    ASSERT_NO_FATAL_FAILURE(cronitor::testing::open_fresh_state_db(dir_, store_));
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  void flush(HostRecord& h, Instant now) {
    ASSERT_TRUE(store_->begin());
    auto r = h.flush(*store_, now);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_TRUE(store_->commit());
  }
  HostState stored() {
    auto h = store_->host();
    EXPECT_TRUE(h) << h.error().message;
    return h ? *h : HostState{};
  }

  fs::path dir_;
  std::optional<StateStore> store_;
  const Instant t0_ = at("2025-12-01T00:00:00Z");
};

TEST_F(HostRecordTest, ThePreviousRunsRowStaysWhileThisRunChangesIt) {
  HostState before;
  before.last_seen = t0_;
  before.shutdown_at = t0_ - 10s;
  ASSERT_TRUE(store_->save_host(before));

  HostRecord h;
  h.load(*store_);
  EXPECT_EQ(h.state().last_seen, t0_);
  EXPECT_EQ(h.previous_run().shutdown_at, t0_ - 10s);
  EXPECT_FALSE(h.dirty());

  h.state().shutdown_at.reset();
  h.changed();
  flush(h, t0_ + 1h);
  EXPECT_EQ(h.previous_run().last_seen, t0_);
  EXPECT_EQ(h.previous_run().shutdown_at, t0_ - 10s);
  EXPECT_EQ(h.state().last_seen, t0_ + 1h) << "a write is a sign of life";
  EXPECT_EQ(stored().last_seen, t0_ + 1h);
  EXPECT_FALSE(stored().shutdown_at);
}

TEST_F(HostRecordTest, OnlyAChangeIsWritten) {
  HostRecord h;
  h.load(*store_);
  h.state().snooze_reason = "maintenance";
  flush(h, t0_);  // not marked changed: nothing written
  EXPECT_EQ(stored().snooze_reason, "");
  EXPECT_FALSE(stored().last_seen);

  h.changed();
  flush(h, t0_ + 1s);
  EXPECT_EQ(stored().snooze_reason, "maintenance");
  EXPECT_FALSE(h.dirty());

  // save(): written as it is (last_seen not stamped), changed or not.
  h.state().snooze_reason = "again";
  ASSERT_TRUE(h.save(*store_));
  EXPECT_EQ(stored().snooze_reason, "again");
  EXPECT_EQ(stored().last_seen, t0_ + 1s);
}

TEST_F(HostRecordTest, AfterARollbackTheRowIsStateDbs) {
  HostRecord h;
  h.load(*store_);
  h.state().cron_seen_running = true;
  h.changed();
  flush(h, t0_);

  h.state().cron_seen_running = false;
  h.state().snooze_reason = "lost";
  h.changed();
  ASSERT_TRUE(store_->begin());
  ASSERT_TRUE(h.flush(*store_, t0_ + 1s));
  store_->rollback();
  h.reread(*store_);
  EXPECT_TRUE(h.state().cron_seen_running);
  EXPECT_EQ(h.state().snooze_reason, "");
  EXPECT_EQ(h.state().last_seen, t0_);
}

}  // namespace
}  // namespace cronitor::agent
