// RequestHandler without a daemon: every control and event line gets a decision; bad types get
// a JSON error; the owner and rate rules hold.
#include "agent/control/request_handler.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/agent/test_values.h"

namespace cronitor::agent {
namespace {

using nlohmann::json;

std::optional<int64_t> owners(std::string_view key) {
  if (key == "alice-job") return 1000;
  if (key == "root-job") return 0;
  if (key == "orphan") return -1;
  return std::nullopt;
}

cronitor::RunEvent ev(const std::string& key, int64_t uid) { return test_values::wrapper_event(key, uid); }

class Handler : public ::testing::Test {
 protected:
  RateLimiter rate_{200, 3};
  RequestHandler h_{owners, rate_, 4242};
  Request as(uid_t uid, const std::string& line, uint64_t t = 1) { return h_.handle(line, Peer{uid, 1}, t); }
};

TEST_F(Handler, WrongTypesGetAJsonErrorNotACrash) {
  for (const char* line :
       {R"({"control":"status","key":5})", R"({"control":"history","key":"alice-job","limit":"x"})",
        R"({"control":"history","key":5})", R"({"control":"pause","key":"alice-job","until_us":"x"})",
        R"({"control":"pause","key":"alice-job","until_us":-5})", R"({"control":7})", R"({"control":"frobnicate"})",
        R"({"control":"history"})", R"({ "control" : [] })", R"({"key":"alice-job","control":3})"}) {
    Request r = as(1000, line);
    if (r.kind == Request::Kind::kStatus) continue;  // status ignores unknown fields
    ASSERT_EQ(r.kind, Request::Kind::kReply) << line;
    auto j = json::parse(r.reply, nullptr, false);
    EXPECT_TRUE(j.is_object() && j["ok"] == false && j["error"].is_string()) << line << " -> " << r.reply;
  }
}

TEST_F(Handler, ControlsAreTyped) {
  Request r = as(1000, R"({"control":"history","key":"alice-job","limit":999999})");
  ASSERT_EQ(r.kind, Request::Kind::kHistory);
  EXPECT_EQ(r.limit, 10000);
  r = as(0, R"({"key":"root-job","control":"pause","until_us":1790000000000000})");
  ASSERT_EQ(r.kind, Request::Kind::kPause);
  EXPECT_EQ(r.until_us, 1790000000000000);
  EXPECT_TRUE(as(0, R"({"control":"status"})").sees_all);
  EXPECT_TRUE(as(4242, R"({"control":"status"})").sees_all);
  EXPECT_FALSE(as(1000, R"({"control":"status"})").sees_all);
}

TEST_F(Handler, OthersJobsAreNotYours) {
  EXPECT_EQ(as(1000, R"({"control":"history","key":"root-job"})").kind, Request::Kind::kReply);
  EXPECT_EQ(as(1000, R"({"control":"pause","key":"orphan"})").kind, Request::Kind::kReply);
  EXPECT_EQ(as(1000, R"({"control":"resume","key":"unknown-key"})").kind, Request::Kind::kReply);
  EXPECT_EQ(as(1000, cronitor::encode(ev("root-job", 1000))).reply.rfind("err job \"root-job\"", 0), 0u);
  EXPECT_EQ(as(1000, cronitor::encode(ev("orphan", 1000))).kind, Request::Kind::kReply);
  EXPECT_EQ(as(1000, cronitor::encode(ev("alice-job", 0))).reply.rfind("err uid 0 does not match", 0), 0u);
  EXPECT_EQ(as(1000, cronitor::encode(ev("alice-job", 1000))).kind, Request::Kind::kEvent);
  EXPECT_EQ(as(1000, cronitor::encode(ev("new-key", 1000))).kind, Request::Kind::kEvent);
  EXPECT_EQ(as(0, cronitor::encode(ev("alice-job", 1000))).kind, Request::Kind::kEvent);
  EXPECT_EQ(as(0, cronitor::encode(ev("orphan", 0))).kind, Request::Kind::kEvent);
}

TEST_F(Handler, RateLimitIsPerUidAndABusyReply) {
  const std::string line = cronitor::encode(ev("alice-job", 1000));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(as(1000, line, 10).kind, Request::Kind::kEvent);
  Request r = as(1000, line, 10);
  EXPECT_EQ(r.reply, "busy rate limit for uid 1000\n");
  EXPECT_EQ(as(0, cronitor::encode(ev("root-job", 0)), 10).kind, Request::Kind::kEvent);
  EXPECT_EQ(as(1000, line, 10 + 5000).kind, Request::Kind::kEvent);  // 5 ms at 200/s: one token back
}

TEST_F(Handler, OnlyRootAndTheAgentsUidSnoozeTheHost) {
  auto denied = as(1000, R"({"control":"snooze","until_us":1900000000000000})");
  EXPECT_EQ(denied.kind, Request::Kind::kReply);
  EXPECT_NE(denied.reply.find("permission denied: only root may snooze the host"), std::string::npos);
  auto on = as(0, R"({"control":"snooze","until_us":1900000000000000,"reason":"kernel\nupgrade"})");
  ASSERT_EQ(on.kind, Request::Kind::kSnooze);
  EXPECT_EQ(on.until_us, 1900000000000000);
  EXPECT_EQ(on.reason, "kernel upgrade");                                       // one line in logs and alerts
  EXPECT_EQ(as(4242, R"({"control":"snooze"})").kind, Request::Kind::kSnooze);  // no until: off
  EXPECT_FALSE(as(0, R"({"control":"snooze"})").until_us.has_value());
  auto long_reason = as(0, R"({"control":"snooze","until_us":1,"reason":")" + std::string(5000, 'x') + "\"}");
  EXPECT_EQ(long_reason.reason.size(), kMaxReasonBytes);
  for (const char* bad : {R"({"control":"snooze","until_us":"soon"})", R"({"control":"snooze","until_us":-5})",
                          R"({"control":"snooze","until_us":1,"reason":7})"})
    EXPECT_EQ(as(0, bad).kind, Request::Kind::kReply) << bad;
}

// The simulated clock's "advance" (tests only): unknown unless the daemon runs on a simulated
// clock, and then root's alone: not a user's, nor the agent's own admin uid's.
TEST_F(Handler, AdvanceExistsOnlyOnASimulatedClockAndOnlyForRoot) {
  const std::string line = R"({"control":"advance","by_us":3600000000})";
  for (uid_t uid : {0u, 4242u, 1000u}) {
    Request r = as(uid, line);
    EXPECT_EQ(r.kind, Request::Kind::kReply);
    EXPECT_NE(r.reply.find("unknown request"), std::string::npos) << r.reply;
  }
  h_.accept_clock_advance();
  Request r = as(0, line);
  EXPECT_EQ(r.kind, Request::Kind::kAdvance);
  EXPECT_EQ(r.by_us, 3600000000);
  for (uid_t uid : {4242u, 1000u}) {
    Request denied = as(uid, line);
    EXPECT_EQ(denied.kind, Request::Kind::kReply);
    EXPECT_NE(denied.reply.find("permission denied"), std::string::npos) << denied.reply;
  }
  for (const char* bad :
       {R"({"control":"advance"})", R"({"control":"advance","by_us":-1})", R"({"control":"advance","by_us":"1h"})"})
    EXPECT_EQ(as(0, bad).kind, Request::Kind::kReply) << bad;
}

}  // namespace
}  // namespace cronitor::agent
