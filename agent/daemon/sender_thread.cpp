#include "agent/daemon/sender_thread.h"

#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "agent/state/state_json.h"
#include "uplink/notify_target.h"

namespace cronitor::agent {

SenderThread::SenderThread(std::string host)
    : sender_(std::move(host)), efd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)), thread_([this] { run(); }) {}

SenderThread::~SenderThread() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  sender_.cancel();  // a send in progress must not hold the agent's exit (it is retried at the next start)
  cv_.notify_all();
  thread_.join();
}

void SenderThread::submit(std::vector<OutboxItem> items) {
  {
    std::lock_guard lock(mu_);
    for (auto& i : items) queue_.push_back(std::move(i));
  }
  cv_.notify_one();
}

std::vector<SendOutcome> SenderThread::take() {
  uint64_t v;
  (void)!::read(efd_.get(), &v, sizeof v);
  std::lock_guard lock(mu_);
  return std::exchange(done_, {});
}

size_t SenderThread::in_flight() const {
  std::lock_guard lock(mu_);
  return queue_.size() + busy_ + done_.size();
}

void SenderThread::run() {
  pthread_setname_np(pthread_self(), "alert-sender");  // top -H, /proc/PID/task/TID/comm
  while (true) {
    OutboxItem item;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      item = std::move(queue_.front());
      queue_.pop_front();
      ++busy_;
    }
    SendResult r;
    auto target = uplink::NotifyTarget::parse(item.target);
    auto alert = alert_from_json(nlohmann::json::parse(item.alert_json, nullptr, false));
    if (!target)
      r = {false, false, target.error().message};
    else if (!alert)
      r = {false, false, alert.error().message};
    else
      r = sender_.send(*alert, *target);
    {
      std::lock_guard lock(mu_);
      --busy_;
      done_.push_back(SendOutcome{std::move(item), std::move(r)});
    }
    uint64_t one = 1;
    (void)!::write(efd_.get(), &one, sizeof one);
  }
}

}  // namespace cronitor::agent
