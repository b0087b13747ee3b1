#include "uplink/retry_rule.h"

#include <algorithm>
#include <cstdint>

namespace cronitor::uplink {

Verdict classify(long status) {
  if (status >= 200 && status < 300) return Verdict::kDone;
  if (status == 0 || status >= 500 || status == 408 || status == 425 || status == 429) return Verdict::kRetry;
  // A bad key will not heal by itself: stop instead of losing telemetry silently for weeks (a
  // local alert names the upstream).
  if (status == 401 || status == 403) return Verdict::kPermanent;
  // One check the upstream does not know or take (Healthchecks answers 404 for an unknown slug or
  // an account at its check limit, 409 for an ambiguous one): that job waits, the others flow.
  if (status == 404 || status == 409 || status == 410) return Verdict::kHold;
  if (status >= 400) return Verdict::kReject;
  return Verdict::kRetry;  // 1xx/3xx: not expected from these APIs; keep the row
}

std::chrono::milliseconds retry_wait(const RetryBackoff& backoff, int failures, std::chrono::seconds retry_after,
                                     double jitter) {
  if (retry_after.count() > 0) return std::min(retry_after, kMaxRetryAfter);
  const int64_t first = std::max<int64_t>(backoff.first.count(), 0);
  const int64_t cap = std::max<int64_t>(backoff.cap.count(), 0);
  const int64_t d = std::min(first << std::clamp(failures - 1, 0, 20), cap);
  const double j = std::clamp(jitter, 0.0, 1.0);
  return std::chrono::milliseconds(d - static_cast<int64_t>(static_cast<double>(d / 2) * j));
}

}  // namespace cronitor::uplink
