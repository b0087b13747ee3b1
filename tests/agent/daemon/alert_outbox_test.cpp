// The alert outbox (agent/daemon/alert_outbox.h) without the daemon: state.db, a fake sender and
// a simulated clock. An alert due goes to the sender once, however often the pump runs; a failed
// send is tried again after its delay and given up when the sender says so; a sent one leaves the
// outbox; an Alertmanager incident is posted again each interval while it is open, never after.
#include "agent/daemon/alert_outbox.h"

#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <filesystem>

#include "common/unique_fd.h"
#include "tests/agent/eval_helpers.h"
#include "tests/agent/test_values.h"
#include "tests/support/state_db.h"
#include "tests/support/test_dir.h"
#include "uplink/alert_sender.h"

namespace cronitor::agent {
namespace {

using test_values::kAm;
using test_values::kSlack;

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::at;

// Takes what the pump hands over; the test answers in its place.
class FakeSender final : public OutboxSender {
 public:
  int fd() const override { return efd_.get(); }
  void submit(std::vector<OutboxItem> items) override {
    for (auto& i : items) submitted.push_back(std::move(i));
  }
  std::vector<SendOutcome> take() override { return std::exchange(answers, {}); }
  void set_alertmanager_resend(std::chrono::seconds interval) override { resend = interval; }

  std::vector<OutboxItem> submitted;
  std::vector<SendOutcome> answers;
  std::chrono::seconds resend{0};

 private:
  UniqueFd efd_{::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)};
};

class AlertOutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = cronitor::testing::test_dir("agent-alert-outbox");
    ASSERT_NO_FATAL_FAILURE(cronitor::testing::open_fresh_state_db(dir_, store_));
    ASSERT_GE(sd_event_new(&ev_), 0);
    outbox_.emplace(*store_, AlertOutbox::Reads{
                                 [this] { return now_; },
                                 [this](const std::string& key) { return key == "backup" ? opened_ : std::nullopt; }});
    outbox_->configure(20, 600s, 300s);
    auto sender = std::make_unique<FakeSender>();
    sender_ = sender.get();
    outbox_->attach(ev_, std::move(sender));
  }
  void TearDown() override {
    outbox_.reset();
    store_.reset();
    sd_event_unref(ev_);
    fs::remove_all(dir_);
  }
  /// An alert of "backup" recorded for `targets`, as the daemon's record_actions does.
  void record(Action::Type type, const std::vector<std::string>& targets) {
    Action a{type, {}};
    a.alert.kind = type == Action::Type::kResolve ? Alert::Kind::kRecovered : Alert::Kind::kFailed;
    a.alert.key = "backup";
    a.alert.name = "Nightly backup";
    a.alert.summary = "backup failed";
    a.alert.at = now_;
    a.alert.incident_opened = *opened_;
    auto id = store_->record_action(a, targets, now_);
    ASSERT_TRUE(id) << id.error().message;
    outbox_->note_alertmanager_rows(a, targets, now_);
    outbox_->mark_dirty();
  }
  void answer(size_t submitted, bool ok, bool retry, std::chrono::seconds retry_after = 0s) {
    sender_->answers.push_back(
        {sender_->submitted.at(submitted), uplink::SendResult{ok, retry, ok ? "" : "HTTP 503", retry_after}});
    ASSERT_TRUE(outbox_->record_sent());
  }

  fs::path dir_;
  std::optional<StateStore> store_;
  sd_event* ev_ = nullptr;
  std::optional<AlertOutbox> outbox_;
  FakeSender* sender_ = nullptr;
  Instant now_ = at("2026-03-01T04:00:00Z");
  std::optional<Instant> opened_ = at("2026-03-01T04:00:00Z");
};

TEST_F(AlertOutboxTest, AnAlertDueGoesToTheSenderOnce) {
  EXPECT_EQ(sender_->resend, 300s);  // the sender's Alertmanager endsAt follows the config
  record(Action::Type::kOpen, {kSlack});
  outbox_->pump_if_dirty();
  ASSERT_EQ(sender_->submitted.size(), 1u);
  EXPECT_EQ(sender_->submitted[0].target, kSlack);
  EXPECT_EQ(outbox_->in_flight(), 1u);
  // Pumped again while the sender has not answered, even past the row's 2-minute lease: not
  // handed over twice.
  now_ += 3min;
  outbox_->pump();
  outbox_->pump_if_dirty();
  EXPECT_EQ(sender_->submitted.size(), 1u);
  EXPECT_FALSE(outbox_->record_sent());  // no answer yet
}

TEST_F(AlertOutboxTest, AFailedSendIsRetriedAfterItsDelayAndGivenUpWhenTheSenderSaysSo) {
  record(Action::Type::kOpen, {kSlack});
  outbox_->pump();
  answer(0, false, true);
  EXPECT_EQ(outbox_->in_flight(), 0u);
  outbox_->pump();  // not due yet: the first retry waits retry_delay(0)
  EXPECT_EQ(sender_->submitted.size(), 1u);
  now_ += uplink::retry_delay(0);
  outbox_->pump();
  ASSERT_EQ(sender_->submitted.size(), 2u);
  EXPECT_EQ(sender_->submitted[1].id, sender_->submitted[0].id);
  EXPECT_EQ(sender_->submitted[1].attempts, 1);
  answer(1, false, false);  // a permanent failure (a 4xx): given up
  now_ += 24h;
  outbox_->pump();
  EXPECT_EQ(sender_->submitted.size(), 2u);
}

// A webhook rate-limited (Slack's 429 with Retry-After: 30): the next try waits what the server
// said, not the 5 s of the back-off (uplink/retry_rule.h, the upstreams' rule too).
TEST_F(AlertOutboxTest, AServersRetryAfterSetsTheNextTry) {
  record(Action::Type::kOpen, {kSlack});
  outbox_->pump();
  answer(0, false, true, 30s);
  now_ += uplink::retry_delay(0);
  outbox_->pump();
  EXPECT_EQ(sender_->submitted.size(), 1u) << "tried again before the server's Retry-After";
  now_ += 25s;
  outbox_->pump();
  EXPECT_EQ(sender_->submitted.size(), 2u);
}

TEST_F(AlertOutboxTest, ASentAlertLeavesTheOutbox) {
  record(Action::Type::kOpen, {kSlack});
  outbox_->pump();
  answer(0, true, false);
  now_ += 24h;
  outbox_->pump();
  EXPECT_EQ(sender_->submitted.size(), 1u);
  auto due = store_->due_outbox(now_, 10);
  ASSERT_TRUE(due);
  EXPECT_TRUE(due->empty());
}

TEST_F(AlertOutboxTest, AlertsPastTheRateLimitGoOutAsOneDigest) {
  outbox_->configure(1, 600s, 300s);
  EXPECT_TRUE(outbox_->admit(kSlack, "backup", now_, 0));
  EXPECT_FALSE(outbox_->admit(kSlack, "backup", now_ + 1s, 0));
  EXPECT_FALSE(outbox_->admit(kSlack, "backup", now_ + 2s, 0));
  EXPECT_EQ(outbox_->held_total(), 2u);
  outbox_->pump();
  EXPECT_TRUE(sender_->submitted.empty());
  now_ += 601s;
  outbox_->pump();  // the window ended: the held alerts are recorded as a digest and sent
  ASSERT_EQ(sender_->submitted.size(), 1u);
  EXPECT_EQ(sender_->submitted[0].target, kSlack);
}

TEST_F(AlertOutboxTest, AnOpenAlertmanagerIncidentIsPostedAgainUntilItCloses) {
  record(Action::Type::kOpen, {kAm});
  outbox_->pump();
  ASSERT_EQ(sender_->submitted.size(), 1u);
  answer(0, true, false);
  now_ += 299s;
  outbox_->pump();
  EXPECT_EQ(sender_->submitted.size(), 1u);
  now_ += 1s;
  outbox_->pump();  // the interval passed: the incident's alert again
  ASSERT_EQ(sender_->submitted.size(), 2u);
  EXPECT_EQ(sender_->submitted[1].target, kAm);
  answer(1, true, false);
  opened_.reset();  // the incident closed in memory: no post after it
  now_ += 300s;
  outbox_->pump();
  EXPECT_EQ(sender_->submitted.size(), 2u);
}

}  // namespace
}  // namespace cronitor::agent
