// The one retry rule of the agent's two HTTP senders: the alerts (AlertSender, whose failures the
// alert outbox in agent/daemon/alert_outbox.cpp schedules again per row) and the upstreams
// (Deliverer, per upstream). Which answers are worth another try, and how long to wait before it:
// the server's Retry-After when it gave one, else a back-off that doubles from `first` up to `cap`.
// The two senders differ only in their back-off's figures and in what they do with a failure that
// is not worth a retry (the Verdict). Pure: the jitter's random draw is an argument.
#pragma once

#include <chrono>

namespace cronitor::uplink {

/// What an HTTP answer means for the message or queued row.
enum class Verdict {
  kDone,       // delivered
  kRetry,      // try again later (network, 5xx, 408, 425, 429)
  kReject,     // this row will never be accepted (400, 413, 422...): drop it, count it
  kHold,       // this check/monitor/slug is unknown or refused (404, 409, 410): hold back its job only
  kPermanent,  // the upstream refuses us (401, 403: a bad key): stop it and raise a local alert
};
/// status 0: no HTTP answer (refused, timeout). An alert is tried again on kRetry only.
Verdict classify(long status);

/// A sender's back-off figures.
struct RetryBackoff {
  std::chrono::milliseconds first;  // the wait after the first failure
  std::chrono::milliseconds cap;    // the longest wait the back-off reaches
};

/// The longest Retry-After honoured: a server asking for longer is asked again after an hour.
inline constexpr std::chrono::seconds kMaxRetryAfter{3600};

/// The wait after `failures` failures in a row (1: the first). `retry_after` is the server's
/// Retry-After (0: none); it wins over the back-off, up to kMaxRetryAfter. `jitter` (0..1, drawn
/// by the caller) takes up to half the back-off off, so that hosts that failed together do not
/// retry together; 0 gives the back-off itself.
std::chrono::milliseconds retry_wait(const RetryBackoff& backoff, int failures, std::chrono::seconds retry_after,
                                     double jitter);

}  // namespace cronitor::uplink
