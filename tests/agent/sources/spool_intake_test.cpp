// The spool folder on a loop, without the daemon (agent/sources/spool_intake.h): a temporary
// folder, a loop of its own, and a fake handler that stands for the rate budget, the owner rule
// and state.db.
#include "agent/sources/spool_intake.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <vector>

#include "tests/agent/test_values.h"

namespace cronitor::agent {
namespace {

using test_values::kNobody;
using test_values::kRunUuid1;
using test_values::kRunUuid2;

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

struct FakeSpoolHandler : SpoolIntake::Handler {
  bool spool_take(uid_t owner, uint64_t) override {
    ++takes[owner];
    return !broke.contains(owner);
  }
  void spool_charge(uid_t owner, uint64_t, double n) override { charged[owner] += n; }
  uint64_t spool_wait_usec(uid_t, uint64_t) override { return 0; }
  std::optional<std::string> spool_refuse(const cronitor::RunEvent& ev, uid_t) override {
    if (ev.key == refused_key) return "not yours";
    return std::nullopt;
  }
  bool spool_store(std::span<const SpoolIntake::Spooled> events) override {
    ++store_calls;
    if (fail) return false;
    for (const auto& [e, owner] : events) stored.push_back(e->key + "/" + e->ts + "/" + std::to_string(owner));
    return true;
  }
  void spool_stored() override { ++stored_calls; }

  std::set<uid_t> broke;  // out of budget
  std::string refused_key;
  bool fail = false;  // state.db cannot store
  std::map<uid_t, int> takes;
  std::map<uid_t, double> charged;
  std::vector<std::string> stored;  // key/ts/owner, in the order given
  int store_calls = 0, stored_calls = 0;
};

cronitor::RunEvent intake_event(const std::string& key, const std::string& run_id, RunState state, int64_t uid,
                                const std::string& ts) {
  cronitor::RunEvent e;
  e.key = key;
  e.run_id = run_id;
  e.state = state;
  e.ts = ts;
  e.host = "h";
  e.pid = 42;
  e.uid = uid;
  return e;
}

class SpoolIntakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GE(sd_event_new(&ev_), 0);
    char tmpl[] = "/tmp/spool-intake-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    intake_ = std::make_unique<SpoolIntake>(dir_.string(), handler_);
    intake_->attach(ev_);
  }
  void TearDown() override {
    intake_.reset();
    sd_event_unref(ev_);
    fs::remove_all(dir_);
  }
  fs::path write(const std::string& id, const std::string& text, uid_t owner = 0) {
    const fs::path p = dir_ / (id + ".jsonl");
    std::ofstream(p) << text;
    if (owner) {
      EXPECT_EQ(::chown(p.c_str(), owner, owner), 0);
    }
    return p;
  }
  bool run_until(const std::function<bool()>& done) {
    const auto deadline = SteadyClock::now() + std::chrono::seconds(5);
    while (!done() && SteadyClock::now() < deadline) sd_event_run(ev_, 20'000);
    return done();
  }

  sd_event* ev_ = nullptr;
  fs::path dir_;
  FakeSpoolHandler handler_;
  std::unique_ptr<SpoolIntake> intake_;
};

TEST_F(SpoolIntakeTest, APassStoresOldestFirstAndRemovesFinishedFiles) {
  const auto done =
      write(kRunUuid1, encode(intake_event("a", kRunUuid1, RunState::kRun, 0, "2026-01-01T00:00:10.000Z")) +
                           encode(intake_event("a", kRunUuid1, RunState::kComplete, 0, "2026-01-01T00:00:20.000Z")));
  const auto open =
      write(kRunUuid2, encode(intake_event("b", kRunUuid2, RunState::kRun, 0, "2026-01-01T00:00:05.000Z")));
  intake_->drain();
  EXPECT_EQ(handler_.stored, (std::vector<std::string>{"b/2026-01-01T00:00:05.000Z/0", "a/2026-01-01T00:00:10.000Z/0",
                                                       "a/2026-01-01T00:00:20.000Z/0"}));
  EXPECT_EQ(handler_.stored_calls, 1);
  EXPECT_FALSE(fs::exists(done));
  EXPECT_TRUE(fs::exists(open));  // its run goes on: read again once it grows
  intake_->drain();
  EXPECT_EQ(handler_.stored.size(), 3u);  // nothing read twice
}

TEST_F(SpoolIntakeTest, AFailedStoreKeepsTheFilesForTheNextPass) {
  const auto p =
      write(kRunUuid1, encode(intake_event("a", kRunUuid1, RunState::kComplete, 0, "2026-01-01T00:00:20.000Z")));
  handler_.fail = true;
  intake_->drain();
  EXPECT_EQ(handler_.store_calls, 1);
  EXPECT_EQ(handler_.stored_calls, 0);
  EXPECT_TRUE(fs::exists(p));
  handler_.fail = false;
  intake_->drain();
  EXPECT_EQ(handler_.stored, std::vector<std::string>{"a/2026-01-01T00:00:20.000Z/0"});
  EXPECT_FALSE(fs::exists(p));
}

TEST_F(SpoolIntakeTest, AFileBreakingTheOwnerRuleIsRemovedUnstored) {
  const auto theirs =
      write(kRunUuid1, encode(intake_event("theirs", kRunUuid1, RunState::kRun, 0, "2026-01-01T00:00:10.000Z")) +
                           encode(intake_event("ok", kRunUuid1, RunState::kComplete, 0, "2026-01-01T00:00:20.000Z")));
  const auto mine =
      write(kRunUuid2, encode(intake_event("ok", kRunUuid2, RunState::kComplete, 0, "2026-01-01T00:00:30.000Z")));
  handler_.refused_key = "theirs";
  intake_->drain();
  EXPECT_EQ(handler_.stored, std::vector<std::string>{"ok/2026-01-01T00:00:30.000Z/0"});  // judged whole
  EXPECT_FALSE(fs::exists(theirs));
  EXPECT_FALSE(fs::exists(mine));
}

TEST_F(SpoolIntakeTest, AUidOutOfBudgetWaitsUnreadAndIsRetried) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: a file of another uid";
  const auto p =
      write(kRunUuid1,
            encode(intake_event("n", kRunUuid1, RunState::kRun, kNobody, "2026-01-01T00:00:10.000Z")) +
                encode(intake_event("n", kRunUuid1, RunState::kComplete, kNobody, "2026-01-01T00:00:20.000Z")),
            kNobody);
  handler_.broke.insert(kNobody);
  EXPECT_TRUE(intake_->take_events());  // the write's events: the retry below is the timer's
  intake_->drain();
  EXPECT_EQ(handler_.takes[kNobody], 1);
  EXPECT_EQ(handler_.store_calls, 0);
  EXPECT_TRUE(fs::exists(p));
  // Its budget comes back: the retry timer (not a new write, not a call) drains it.
  handler_.broke.clear();
  const auto t0 = SteadyClock::now();
  ASSERT_TRUE(run_until([&] { return handler_.stored.size() == 2; }));
  EXPECT_GE(SteadyClock::now() - t0, std::chrono::milliseconds(150));  // 200 ms at the least
  EXPECT_EQ(handler_.charged[kNobody], 1.0);                           // one token taken to read it, one charged after
  EXPECT_FALSE(fs::exists(p));
}

TEST_F(SpoolIntakeTest, TheWatchDrainsWhatIsWrittenLater) {
  intake_->drain();  // the start's pass: nothing yet
  EXPECT_EQ(handler_.store_calls, 0);
  const auto p =
      write(kRunUuid1, encode(intake_event("a", kRunUuid1, RunState::kComplete, 0, "2026-01-01T00:00:20.000Z")));
  ASSERT_TRUE(run_until([&] { return handler_.stored.size() == 1; }));
  EXPECT_FALSE(fs::exists(p));
  EXPECT_EQ(handler_.stored_calls, 1);
}

TEST_F(SpoolIntakeTest, TakeEventsSaysWhetherADrainIsDue) {
  EXPECT_FALSE(intake_->take_events());
  write(kRunUuid1, encode(intake_event("a", kRunUuid1, RunState::kComplete, 0, "2026-01-01T00:00:20.000Z")));
  EXPECT_TRUE(intake_->take_events());
  intake_->drain(true);  // the short pass ahead of a socket batch: the names the watch gave
  EXPECT_EQ(handler_.stored.size(), 1u);
  EXPECT_FALSE(intake_->take_events());
}

}  // namespace
}  // namespace cronitor::agent
