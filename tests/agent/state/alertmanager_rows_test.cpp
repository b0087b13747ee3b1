// The alert outbox rows of Alertmanager targets: while Alertmanager is down, the re-posts of an
// open incident never pile up (one pending row per target and incident), a stale "firing" row
// never waits behind the resolution, and a start finds the incidents still open.
#include "agent/state/alertmanager_rows.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "agent/state/state_json.h"
#include "agent/state/state_store.h"
#include "tests/agent/eval_helpers.h"
#include "tests/agent/test_values.h"
#include "tests/support/state_db.h"

namespace cronitor::agent {
namespace {

using test_values::kAm;
using test_values::kSlack;

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::at;

class AlertmanagerRows : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("agent-amrows-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    ASSERT_NO_FATAL_FAILURE(cronitor::testing::open_fresh_state_db(dir_, store_));
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  Alert alert(Alert::Kind kind, Instant t) const {
    Alert a;
    a.kind = kind;
    a.key = "backup";
    a.name = "Nightly backup";
    a.summary = "backup: " + std::string(kind_name(kind));
    a.at = t;
    a.incident_opened = opened_;
    return a;
  }
  int64_t record(Action::Type type, Alert::Kind kind, Instant t, const std::vector<std::string>& targets) {
    auto id = store_->record_action(Action{type, alert(kind, t)}, targets, t);
    EXPECT_TRUE(id) << id.error().message;
    return id ? *id : 0;
  }
  /// The pending rows of the Alertmanager target: (row id, alert id).
  std::vector<std::pair<int64_t, int64_t>> pending(Instant now) {
    std::vector<std::pair<int64_t, int64_t>> out;
    auto due = store_->due_outbox(now + 24h, 1000);
    EXPECT_TRUE(due) << due.error().message;
    if (!due) return out;
    for (const auto& item : *due)
      if (item.target == kAm) out.emplace_back(item.id, item.alert_id);
    return out;
  }
  fs::path dir_;
  std::optional<StateStore> store_;
  Instant opened_ = at("2026-01-01T03:00:00Z");
};

TEST_F(AlertmanagerRows, RepostsWhileAlertmanagerIsDownKeepOneRowPerIncident) {
  const int64_t first = record(Action::Type::kOpen, Alert::Kind::kFailed, opened_, {kAm, kSlack});
  std::set<int64_t> in_flight;
  // Alertmanager is down for an hour: each attempt fails, a re-post falls due every minute.
  for (int minute = 1; minute <= 60; ++minute) {
    const Instant t = opened_ + std::chrono::minutes(minute);
    for (const auto& [id, alert] : pending(t))
      ASSERT_TRUE(store_->outbox_retry(id, t + 5s * minute, "connection refused", false));
    auto queued = alertmanager_repost(store_->db(), kAm, "backup", opened_, t, in_flight);
    ASSERT_TRUE(queued) << queued.error().message;
    EXPECT_TRUE(*queued);
    ASSERT_EQ(pending(t).size(), 1u) << "minute " << minute;
    // ... due at once, whatever its back-off said.
    EXPECT_EQ(store_->due_outbox(t, 100)->size(), 2u);  // and Slack's own row
  }
  EXPECT_EQ(pending(opened_ + 1h)[0].second, first);
  // A later fault of the incident: the re-post carries the newest alert.
  const int64_t update = record(Action::Type::kUpdate, Alert::Kind::kMissed, opened_ + 61min, {kAm});
  ASSERT_TRUE(alertmanager_supersede(store_->db(), kAm, "backup", in_flight));
  ASSERT_EQ(pending(opened_ + 61min).size(), 1u);
  EXPECT_EQ(pending(opened_ + 61min)[0].second, update);
  // Slack's message is a message of its own: it is never superseded.
  int slack = 0;
  auto all = store_->due_outbox(opened_ + 2h, 1000);
  ASSERT_TRUE(all) << all.error().message;
  for (const auto& item : *all) slack += item.target == kSlack;
  EXPECT_EQ(slack, 1) << all->size();
}

TEST_F(AlertmanagerRows, TheResolutionSupersedesAWaitingFiringRowButNotOneBeingSent) {
  record(Action::Type::kOpen, Alert::Kind::kFailed, opened_, {kAm});
  const auto firing = pending(opened_);
  ASSERT_EQ(firing.size(), 1u);
  // Being sent when the job recovers: it stays (its outcome is recorded by its id).
  std::set<int64_t> in_flight{firing[0].first};
  const int64_t resolved = record(Action::Type::kResolve, Alert::Kind::kRecovered, opened_ + 10min, {kAm});
  EXPECT_EQ(*alertmanager_supersede(store_->db(), kAm, "backup", in_flight), 0);
  EXPECT_EQ(pending(opened_).size(), 2u);
  // Its send failed: it is not tried again after the resolution.
  in_flight.clear();
  EXPECT_EQ(*alertmanager_supersede(store_->db(), kAm, "backup", in_flight), 1);
  ASSERT_EQ(pending(opened_).size(), 1u);
  EXPECT_EQ(pending(opened_)[0].second, resolved);
  // The incident is resolved: nothing is posted again, nothing is open at the next start.
  EXPECT_FALSE(*alertmanager_repost(store_->db(), kAm, "backup", opened_, opened_ + 11min, in_flight));
  EXPECT_TRUE(alertmanager_open(store_->db())->empty());
}

TEST_F(AlertmanagerRows, AStartFindsTheIncidentsToldToAlertmanagerThatAreStillOpen) {
  record(Action::Type::kOpen, Alert::Kind::kFailed, opened_, {kAm, kSlack});
  auto open = alertmanager_open(store_->db());
  ASSERT_TRUE(open) << open.error().message;
  ASSERT_EQ(open->size(), 1u);
  EXPECT_EQ((*open)[0].target, kAm);
  EXPECT_EQ((*open)[0].key, "backup");
  EXPECT_EQ((*open)[0].opened, opened_);
  // Sent, then re-posted: a row in flight is this interval's post.
  const auto rows = pending(opened_);
  ASSERT_TRUE(store_->outbox_sent(rows[0].first));
  ASSERT_TRUE(*alertmanager_repost(store_->db(), kAm, "backup", opened_, opened_ + 1min, {}));
  const auto again = pending(opened_ + 1min);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_NE(again[0].first, rows[0].first);
  EXPECT_TRUE(*alertmanager_repost(store_->db(), kAm, "backup", opened_, opened_ + 2min, {again[0].first}));
  EXPECT_EQ(pending(opened_ + 2min).size(), 1u);
  // An incident opened at another time is not this one.
  EXPECT_FALSE(*alertmanager_repost(store_->db(), kAm, "backup", opened_ + 1s, opened_ + 2min, {}));
}

}  // namespace
}  // namespace cronitor::agent
