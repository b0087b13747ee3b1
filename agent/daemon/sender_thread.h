// Sends outbox items off the event loop: the loop submits items, the thread POSTs them and hands
// the results back through an eventfd the loop watches. The loop alone touches state.db.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "agent/state/state_store.h"
#include "uplink/alert_sender.h"

namespace cronitor::agent {

using uplink::AlertSender;
using uplink::SendResult;

struct SendOutcome {
  OutboxItem item;
  SendResult result;
};

class SenderThread {
 public:
  explicit SenderThread(std::string host);
  ~SenderThread();
  SenderThread(const SenderThread&) = delete;
  SenderThread& operator=(const SenderThread&) = delete;

  /// Readable when outcomes wait; the loop then calls take().
  int fd() const { return efd_; }
  void submit(std::vector<OutboxItem> items);
  std::vector<SendOutcome> take();
  size_t in_flight() const;
  /// How often open incidents are posted again to Alertmanager (the endsAt of their alerts).
  void set_alertmanager_resend(std::chrono::seconds interval) { sender_.set_alertmanager_resend(interval); }

 private:
  void run();

  AlertSender sender_;
  int efd_ = -1;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<OutboxItem> queue_;
  std::vector<SendOutcome> done_;
  size_t busy_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace cronitor::agent
