// Per-uid token buckets: how many events a non-root user may have stored per second, whether
// they come over the socket or through the spool (one budget for both paths).
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <cstdint>
#include <unordered_map>

namespace cronitor::agent {

class RateLimiter {
 public:
  /// `rate` events per second, up to `burst` at once. Root (uid 0) is never limited.
  explicit RateLimiter(double rate = 200, double burst = 2000) : rate_(rate), burst_(burst) {}

  /// True when `uid` has at least one token at `mono_usec` (CLOCK_MONOTONIC).
  [[nodiscard]] bool available(uid_t uid, uint64_t mono_usec) { return uid == 0 || refill(uid, mono_usec).tokens >= 1; }

  /// Takes one token; false (and nothing taken) when there is none.
  [[nodiscard]] bool take(uid_t uid, uint64_t mono_usec) {
    if (uid == 0) return true;
    Bucket& b = refill(uid, mono_usec);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /// Charges `n` events already admitted as a group (a spool file read whole): the bucket may go
  /// below zero by at most a file's few lines, which the next refill pays back.
  void charge(uid_t uid, uint64_t mono_usec, double n) {
    if (uid == 0) return;
    Bucket& b = refill(uid, mono_usec);
    b.tokens -= n;
  }

  /// Microseconds until `uid` has a token again (0: now).
  [[nodiscard]] uint64_t wait_usec(uid_t uid, uint64_t mono_usec) {
    if (uid == 0) return 0;
    Bucket& b = refill(uid, mono_usec);
    return b.tokens >= 1 ? 0 : static_cast<uint64_t>((1 - b.tokens) / rate_ * 1e6) + 1;
  }

 private:
  struct Bucket {
    double tokens = 0;
    uint64_t at_usec = 0;
    bool fresh = true;
  };
  Bucket& refill(uid_t uid, uint64_t t) {
    if (buckets_.size() > 65536) {  // forget buckets that are full again by now: nothing is lost
      const double full_after_usec = burst_ / rate_ * 1e6;
      std::erase_if(buckets_, [&](const auto& kv) {
        return static_cast<double>(t - std::min(t, kv.second.at_usec)) >= full_after_usec;
      });
    }
    Bucket& b = buckets_[uid];
    if (b.fresh) {
      b.fresh = false;
      b.tokens = burst_;
      b.at_usec = t;
    }
    if (t > b.at_usec) b.tokens = std::min(burst_, b.tokens + static_cast<double>(t - b.at_usec) / 1e6 * rate_);
    b.at_usec = std::max(b.at_usec, t);
    return b;
  }
  double rate_, burst_;
  std::unordered_map<uid_t, Bucket> buckets_;
};

}  // namespace cronitor::agent
