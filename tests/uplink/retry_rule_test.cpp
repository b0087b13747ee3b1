// The one retry rule of the alert sender and the upstream deliverer (uplink/retry_rule.h): which
// answers are tried again and how long each sender waits, with time and the jitter as inputs.
#include "uplink/retry_rule.h"

#include <gtest/gtest.h>

#include "uplink/alert_sender.h"
#include "uplink/post_child.h"

namespace cronitor::uplink {
namespace {

using namespace std::chrono_literals;

TEST(RetryRule, NetworkErrors408425429And5xxAreTriedAgainOtherClientErrorsAreNot) {
  for (long status : {0L, 408L, 425L, 429L, 500L, 502L, 503L, 504L})
    EXPECT_EQ(classify(status), Verdict::kRetry) << status;
  for (long status : {200L, 201L, 202L, 204L}) EXPECT_EQ(classify(status), Verdict::kDone) << status;
  for (long status : {400L, 405L, 413L, 422L}) EXPECT_EQ(classify(status), Verdict::kReject) << status;
  for (long status : {401L, 403L}) EXPECT_EQ(classify(status), Verdict::kPermanent) << status;
  for (long status : {404L, 409L, 410L}) EXPECT_EQ(classify(status), Verdict::kHold) << status;
}

TEST(RetryRule, TheBackOffDoublesUpToItsCap) {
  const RetryBackoff b{1s, 300s};  // the upstreams' defaults (uplink.retry_min, retry_max)
  EXPECT_EQ(retry_wait(b, 1, 0s, 0), 1s);
  EXPECT_EQ(retry_wait(b, 2, 0s, 0), 2s);
  EXPECT_EQ(retry_wait(b, 9, 0s, 0), 256s);
  EXPECT_EQ(retry_wait(b, 10, 0s, 0), 300s);
  EXPECT_EQ(retry_wait(b, 1000, 0s, 0), 300s);  // no overflow however long it fails
  EXPECT_EQ(retry_wait(b, 0, 0s, 0), 1s);       // before any failure: the first wait
}

TEST(RetryRule, JitterTakesUpToHalfTheBackOffOff) {
  const RetryBackoff b{100ms, 400ms};
  EXPECT_EQ(retry_wait(b, 3, 0s, 1.0), 200ms);
  EXPECT_EQ(retry_wait(b, 3, 0s, 0.5), 300ms);
  EXPECT_EQ(retry_wait(b, 3, 0s, 7.0), 200ms);  // a draw out of range is clamped
}

TEST(RetryRule, RetryAfterWinsOverTheBackOffUpToAnHour) {
  const RetryBackoff b{1s, 300s};
  EXPECT_EQ(retry_wait(b, 1, 7s, 1.0), 7s);  // longer than the back-off, and never jittered
  EXPECT_EQ(retry_wait(b, 9, 2s, 0), 2s);    // shorter too: the server said when
  EXPECT_EQ(retry_wait(b, 1, 86400s, 0), 3600s);
}

// The alert outbox's figures (5 s doubling, at most an hour) in the same rule, and the server's
// Retry-After carried from the sending child to the outbox.
TEST(RetryRule, AlertsWaitFiveSecondsDoublingOrWhatTheServerSaid) {
  EXPECT_EQ(retry_delay(0), 5s);
  EXPECT_EQ(retry_delay(3), 40s);
  EXPECT_EQ(retry_delay(30), 3600s);
  SendResult limited{false, true, "HTTP 429", 30s};
  EXPECT_EQ(retry_delay(0, limited), 30s);
  const auto back = decode_send_result(encode_send_result(limited));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->retry_after, 30s);
  EXPECT_TRUE(back->retry);
}

}  // namespace
}  // namespace cronitor::uplink
