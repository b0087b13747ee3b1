// Sends outbox items off the event loop: the loop submits items, the thread POSTs them and hands
// the results back through an eventfd the loop watches. The loop alone touches state.db.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "agent/state/state_store.h"
#include "common/unique_fd.h"
#include "uplink/alert_sender.h"

namespace cronitor::agent {

using uplink::AlertSender;
using uplink::SendResult;

struct SendOutcome {
  OutboxItem item;
  SendResult result;
};

/// What the alert outbox (alert_outbox.h) hands its items to: the sender thread, or a fake in tests.
class OutboxSender {
 public:
  virtual ~OutboxSender() = default;
  /// Readable when outcomes wait; the loop then calls take().
  virtual int fd() const = 0;
  virtual void submit(std::vector<OutboxItem> items) = 0;
  virtual std::vector<SendOutcome> take() = 0;
  /// How often open incidents are posted again to Alertmanager (the endsAt of their alerts).
  virtual void set_alertmanager_resend(std::chrono::seconds interval) = 0;
};

class SenderThread final : public OutboxSender {
 public:
  explicit SenderThread(std::string host);
  ~SenderThread() override;
  SenderThread(const SenderThread&) = delete;
  SenderThread& operator=(const SenderThread&) = delete;

  int fd() const override { return efd_.get(); }
  void submit(std::vector<OutboxItem> items) override;
  std::vector<SendOutcome> take() override;
  size_t in_flight() const;
  void set_alertmanager_resend(std::chrono::seconds interval) override { sender_.set_alertmanager_resend(interval); }

 private:
  void run();

  AlertSender sender_;
  UniqueFd efd_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<OutboxItem> queue_;
  std::vector<SendOutcome> done_;
  size_t busy_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace cronitor::agent
