// The evaluator's actions become alerts: recorded in state.db's alert outbox (or only recorded,
// while the host is snoozed or shutting down), held back by the per-target throttle, handed to the
// sender thread, and retried or given up when it answers.
#include <poll.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>

#include "agent/daemon/daemon.h"
#include "agent/eval/user_limits.h"
#include "agent/state/alertmanager_rows.h"
#include "agent/state/state_json.h"

namespace cronitor::agent {
namespace {

constexpr std::chrono::seconds kStopSendBudget{1};  // what a stop waits for alerts being sent

}  // namespace

void Daemon::record_actions(const Actions& actions, const MonitorConfig* m, Instant t) {
  for (const auto& action : actions) {
    // A user's own job says whose it is in every headline: "user alice: backup failed: ...".
    std::optional<Action> owned;
    if (m && users_own_job(*m)) {
      owned = action;
      owned->alert.summary = owned_summary(*m, action.alert.summary);
    }
    const Action& a = owned ? *owned : action;
    std::vector<std::string> targets;
    const bool hushed = quiet(t);  // snoozed or shutting down: the record only
    auto resolved = config_.targets(m ? m->notify : config_.defaults.notify);
    const int64_t owner = m && m->uid > 0 ? m->uid : 0;  // host alerts and root's jobs: root's allowance
    if (!resolved)
      spdlog::warn("{}: {}", a.alert.key, resolved.error().message);
    else
      for (const auto& tg : *resolved)
        // Counted per owner: a user's flood of failures never holds back root's alert (or another user's).
        if (a.type == Action::Type::kSuppressed || (!hushed && throttle_.admit(tg.text(), a.alert.key, t, owner)))
          targets.push_back(tg.text());
    // upstream: the upstream evaluates and alerts; only the uplink's own failure is told here.
    const bool upstream_only =
        config_.mode == "upstream" && config_.uplink.any() && !a.alert.key.starts_with("uplink:");
    if (upstream_only || hushed) targets.clear();
    forward_fault(a, m);
    if (hushed)
      spdlog::info("alert ({}: recorded, not sent): {}", shutting_down_ ? "host shutting down" : "host snoozed",
                   a.alert.summary);
    else if (upstream_only)
      spdlog::info("alert (mode upstream: the upstream alerts): {}", a.alert.summary);
    else if (a.type == Action::Type::kSuppressed)
      spdlog::info("alert (recorded, not sent: flapping or consecutive_alert_threshold): {}", a.alert.summary);
    else if (!resolved || resolved->empty())
      spdlog::warn("alert (not sent: no target): {}", a.alert.summary);
    else if (targets.size() < resolved->size())
      spdlog::info("alert (rate limit reached for {} of {} targets: recorded, in the next digest): {}",
                   resolved->size() - targets.size(), resolved->size(), a.alert.summary);
    else
      spdlog::warn("alert: {}", a.alert.summary);
    if (auto r = store_.record_action(a, targets, t); !r)
      spdlog::error("recording an alert: {}", r.error().message);
    else
      note_alertmanager_rows(a, targets, t);
    outbox_dirty_ = true;
  }
}

void Daemon::pump_outbox() {
  outbox_dirty_ = false;
  if (!sender_) return;
  const Instant t = now();
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
  if (next && *next && outbox_src_) {
    sd_event_source_set_time(outbox_src_, clock_.timer_usec(std::max(**next, t + std::chrono::milliseconds(10))));
    sd_event_source_set_enabled(outbox_src_, SD_EVENT_ONESHOT);
  }
}

void Daemon::on_sent() {
  if (record_sent()) pump_outbox();
}

bool Daemon::record_sent() {
  const Instant t = now();
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
    (void)store_.outbox_retry(o.item.id, t + uplink::retry_delay(o.item.attempts), o.result.error, give_up);
    // A newer post of the same Alertmanager alert waits: this one is not tried again after it.
    if (o.item.target.starts_with("alertmanager:"))
      if (auto alert = alert_from_json(nlohmann::json::parse(o.item.alert_json, nullptr, false)))
        (void)alertmanager_supersede(store_.db(), o.item.target, alert->key, in_flight_);
  }
  (void)store_.commit();
  return true;
}

// At a stop, the alerts already handed to the sender are let finish (bounded) and their outcome
// recorded: an alert that reached Slack just before a SIGTERM is not sent again at the next start.
// What is still unsent then stays in the outbox for the next start.
void Daemon::finish_sends() {
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

int Daemon::on_outbox_cb(sd_event_source*, uint64_t, void* ud) {
  static_cast<Daemon*>(ud)->pump_outbox();
  return 0;
}

int Daemon::on_sent_cb(sd_event_source*, int, uint32_t, void* ud) {
  static_cast<Daemon*>(ud)->on_sent();
  return 0;
}

}  // namespace cronitor::agent
