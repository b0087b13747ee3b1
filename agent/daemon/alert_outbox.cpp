// The alert outbox pumped to the sender thread: held back by the per-target throttle, handed to
// the sender, and retried or given up when it answers; Alertmanager's open incidents re-posted.
#include "agent/daemon/alert_outbox.h"

#include <poll.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "agent/daemon/loop_time.h"
#include "agent/state/alertmanager_rows.h"
#include "agent/state/state_json.h"
#include "uplink/alertmanager.h"

namespace cronitor::agent {
namespace {

constexpr std::chrono::seconds kStopSendBudget{1};  // what a stop waits for alerts being sent

bool is_alertmanager(const std::string& target) { return target.starts_with("alertmanager:"); }

}  // namespace

void AlertOutbox::configure(int rate_limit, std::chrono::seconds rate_window,
                            std::chrono::seconds alertmanager_resend) {
  throttle_.configure(rate_limit, rate_window);
  am_resend_.configure(alertmanager_resend);
  if (sender_) sender_->set_alertmanager_resend(alertmanager_resend);
}

void AlertOutbox::attach(sd_event* ev, std::unique_ptr<OutboxSender> sender) {
  timer_.reset();
  sent_.reset();
  sd_event_source* s = nullptr;
  if (sd_event_add_time(ev, &s, CLOCK_REALTIME, UINT64_MAX, 1000, on_timer_cb, this) >= 0) timer_.reset(s);
  sender_ = std::move(sender);
  sender_->set_alertmanager_resend(am_resend_.interval());
  resume_alertmanager_posts(reads_.now());
  s = nullptr;
  if (sd_event_add_io(ev, &s, sender_->fd(), EPOLLIN, on_sent_cb, this) >= 0) sent_.reset(s);
}

void AlertOutbox::pump() {
  dirty_ = false;
  if (!sender_) return;
  const Instant t = reads_.now();
  if (auto digests = throttle_.take_due(t); !digests.empty() && store_.begin()) {
    for (const auto& d : digests) {
      spdlog::warn("alert digest for {}: {}", d.target.substr(0, d.target.find(':')), d.alert.summary);
      if (auto r = store_.record_action(Action{Action::Type::kNotice, d.alert}, {d.target}, t); !r)
        spdlog::error("recording an alert digest: {}", r.error().message);
    }
    if (!store_.commit()) store_.rollback();
  }
  queue_alertmanager_posts(t);
  auto due = store_.due_outbox(t, 64);
  if (due && !due->empty()) {
    std::vector<OutboxItem> fresh;
    for (auto& item : *due)
      if (in_flight_.insert(item.id).second) {
        (void)store_.outbox_lease(item.id, t + std::chrono::minutes(2));
        fresh.push_back(std::move(item));
      }
    sender_->submit(std::move(fresh));
  }
  auto next = store_.next_outbox_time();
  if (auto d = throttle_.next_due(); d && next && (!*next || *d < **next)) *next = d;
  if (auto d = am_resend_.next_due(); d && next && (!*next || *d < **next)) *next = d;
  if (next && *next && timer_) {
    const Instant at = std::max(**next, t + std::chrono::milliseconds(10));
    sd_event_source_set_time(timer_.get(), reads_.timer_usec ? reads_.timer_usec(at) : to_realtime_usec(at));
    sd_event_source_set_enabled(timer_.get(), SD_EVENT_ONESHOT);
  }
}

bool AlertOutbox::record_sent() {
  const Instant t = reads_.now();
  auto outcomes = sender_->take();
  if (outcomes.empty()) return false;
  if (!store_.begin()) return false;
  for (auto& o : outcomes) {
    in_flight_.erase(o.item.id);
    if (o.result.ok) {
      (void)store_.outbox_sent(o.item.id);
      continue;
    }
    const bool give_up = !o.result.retry || o.item.attempts + 1 >= uplink::kMaxSendAttempts;
    spdlog::warn("sending alert to {}: {}{}", o.item.target.substr(0, o.item.target.find(':')), o.result.error,
                 give_up ? ", giving up" : ", will retry");
    (void)store_.outbox_retry(o.item.id, t + uplink::retry_delay(o.item.attempts, o.result), o.result.error, give_up);
    // A newer post of the same Alertmanager alert waits: this one is not tried again after it.
    if (is_alertmanager(o.item.target))
      if (auto alert = alert_from_json(nlohmann::json::parse(o.item.alert_json, nullptr, false)))
        (void)alertmanager_supersede(store_.db(), o.item.target, alert->key, in_flight_);
  }
  (void)store_.commit();
  return true;
}

// At a stop, the alerts already handed to the sender are let finish (bounded) and their outcome
// recorded: an alert that reached Slack just before a SIGTERM is not sent again at the next start.
// What is still unsent then stays in the outbox for the next start.
void AlertOutbox::finish_sends() {
  if (!sender_ || in_flight_.empty()) return;
  const auto until = std::chrono::steady_clock::now() + kStopSendBudget;
  while (!in_flight_.empty()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    pollfd p{sender_->fd(), POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    (void)record_sent();
  }
  if (!in_flight_.empty())
    spdlog::info("stopping with {} alert(s) still being sent; they are sent again at the next start",
                 in_flight_.size());
}

bool AlertOutbox::await_sent(int timeout_ms) {
  if (!sender_ || in_flight_.empty()) return false;
  pollfd p{sender_->fd(), POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) <= 0 || !record_sent()) return false;
  pump();
  return true;
}

// Alertmanager targets: Alertmanager ends an alert at its endsAt, so the alert of an open incident
// is posted again every defaults.alertmanager_resend (uplink/alertmanager_resend.h decides when)
// until the incident resolves; only the newest post per target and incident waits in the outbox
// (agent/state/alertmanager_rows.h).
void AlertOutbox::note_alertmanager_rows(const Action& a, const std::vector<std::string>& targets, Instant t) {
  if (a.type != Action::Type::kSuppressed)
    for (const auto& target : targets)
      if (is_alertmanager(target)) {
        am_resend_.posted(target, a.alert.key,
                          a.type != Action::Type::kResolve && uplink::alertmanager_keeps_firing(a.alert), t);
        if (auto r = alertmanager_supersede(store_.db(), target, a.alert.key, in_flight_); !r)
          spdlog::error("alert outbox: {}", r.error().message);
      }
  if (a.type == Action::Type::kResolve) am_resend_.forget(a.alert.key);  // the targets it was not sent to
}

void AlertOutbox::resume_alertmanager_posts(Instant t) {
  auto open = alertmanager_open(store_.db());
  if (!open) return spdlog::error("alert outbox: {}", open.error().message);
  for (const auto& o : *open)
    if (reads_.incident_opened(o.key) == o.opened) am_resend_.resume(o.target, o.key, t);
  if (am_resend_.open() > 0)
    spdlog::info("{} open incident(s) posted again to Alertmanager every {} s until they resolve", am_resend_.open(),
                 am_resend_.interval().count());
}

void AlertOutbox::queue_alertmanager_posts(Instant t) {
  auto due = am_resend_.take_due(t);
  if (due.empty() || !store_.begin()) return;
  for (const auto& d : due) {
    const auto opened = reads_.incident_opened(d.key);
    auto queued =
        opened ? alertmanager_repost(store_.db(), d.target, d.key, *opened, t, in_flight_) : Result<bool>(false);
    if (!queued)
      spdlog::error("alert outbox: {}", queued.error().message);
    else if (!*queued)
      am_resend_.forget(d.key);
  }
  if (!store_.commit()) store_.rollback();
}

int AlertOutbox::on_timer_cb(sd_event_source*, uint64_t, void* ud) {
  static_cast<AlertOutbox*>(ud)->pump();
  return 0;
}

int AlertOutbox::on_sent_cb(sd_event_source*, int, uint32_t, void* ud) {
  auto* o = static_cast<AlertOutbox*>(ud);
  if (o->record_sent()) o->pump();
  return 0;
}

}  // namespace cronitor::agent
