// Delivers one formatted alert: HTTP POST through libcurl (timeouts, no redirects to other
// schemes), or email through the local sendmail. Blocking; the daemon calls it from its sender thread.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "uplink/alert_format.h"
#include "uplink/retry_rule.h"

namespace cronitor::uplink {

struct SendResult {
  bool ok = false;
  bool retry = false;  // a temporary failure (network, 408, 425, 429, 5xx: retry_rule.h): try again later
  std::string error;
  std::chrono::seconds retry_after{0};  // the server's Retry-After (0: none), which the next try honours
};

class AlertSender {
 public:
  explicit AlertSender(std::string host, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~AlertSender();
  AlertSender(const AlertSender&) = delete;
  AlertSender& operator=(const AlertSender&) = delete;

  SendResult send(const Alert& alert, const NotifyTarget& target);
  /// In a child process when set_post_child() named one (uplink/post_child.h), else post_here.
  SendResult post(const OutgoingMessage& m);
  /// In this process, with libcurl.
  SendResult post_here(const OutgoingMessage& m);
  SendResult mail(const OutgoingMessage& m);
  const std::string& host() const { return host_; }
  /// From any thread: how often open incidents are posted again to Alertmanager (their endsAt).
  void set_alertmanager_resend(std::chrono::seconds interval) { am_resend_s_.store(interval.count()); }
  /// From any thread: a send in progress returns at once (a retryable failure), and so do
  /// later ones. For a prompt shutdown.
  void cancel();

 private:
  int perform(void* easy);  // CURLcode of the transfer, woken early by cancel()
  SendResult post_in_child(const std::string& exe, const OutgoingMessage& m);  // uplink/post_child.cpp
  struct Curl;
  std::string host_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<Curl> curl_;
  std::atomic<bool> cancelled_{false};
  std::mutex child_mu_;  // guards child_ against cancel() from another thread
  int child_ = -1;       // the pid of the sending child process, while one runs
  std::atomic<int64_t> am_resend_s_{kAlertmanagerResendDefault.count()};
};

/// The alert outbox's back-off in the one retry rule (retry_rule.h): 5 s doubling, at most 1 hour.
inline constexpr RetryBackoff kAlertBackoff{std::chrono::seconds(5), std::chrono::hours(1)};
/// The wait before attempt `attempts + 1` after `r` failed: its Retry-After, else the back-off.
std::chrono::milliseconds retry_delay(int attempts, const SendResult& r = {});
inline constexpr int kMaxSendAttempts = 20;

}  // namespace cronitor::uplink
