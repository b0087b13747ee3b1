// Alerts out: state.db's alert outbox pumped to the sender thread on the daemon's loop. The part
// owns the pump's timer, the sender and the eventfd source it answers on, the alerts in flight,
// the per-target throttle (its digests) and the Alertmanager re-posts of open incidents. The
// daemon records alerts in its transactions (daemon_alerts.cpp), asks admit() per target, and
// calls pump() after its commits; the part reads state.db and, per incident, when the daemon
// opened it.
#pragma once

#include <systemd/sd-event.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/daemon/sender_thread.h"
#include "agent/eval/evaluator.h"
#include "agent/state/state_store.h"
#include "common/event_source.h"
#include "uplink/alert_throttle.h"
#include "uplink/alertmanager_resend.h"

namespace cronitor::agent {

class AlertOutbox {
 public:
  /// What the part reads of the daemon: the time, and when an incident of `key` opened (nullopt:
  /// none open in memory; its Alertmanager re-posts end).
  struct Reads {
    std::function<Instant()> now;
    std::function<std::optional<Instant>(const std::string& key)> incident_opened;
    /// The CLOCK_REALTIME usec its timer is armed at for an instant of `now`'s clock (clock.h;
    /// unset: the instant's own, as on the real clock).
    std::function<uint64_t(Instant)> timer_usec;
  };

  AlertOutbox(StateStore& store, Reads reads) : store_(store), reads_(std::move(reads)) {}
  AlertOutbox(const AlertOutbox&) = delete;
  AlertOutbox& operator=(const AlertOutbox&) = delete;

  /// defaults.alert_rate_limit, alert_rate_window and alertmanager_resend (at start and reload).
  void configure(int rate_limit, std::chrono::seconds rate_window, std::chrono::seconds alertmanager_resend);
  /// Starts sending: the pump's timer and `sender`'s answers on `ev`; the incidents still open
  /// resume their Alertmanager re-posts. Until then pump() does nothing (alerts stay recorded).
  void attach(sd_event* ev, std::unique_ptr<OutboxSender> sender);

  /// The throttle's verdict for one alert to one target (alert_throttle.h); held ones go in a digest.
  [[nodiscard]] bool admit(const std::string& target, const std::string& key, Instant t, int64_t owner) {
    return throttle_.admit(target, key, t, owner);
  }
  uint64_t held_total() const { return throttle_.held_total(); }
  /// After an alert was recorded for `targets`: its Alertmanager rows (only the newest waits).
  void note_alertmanager_rows(const Action& a, const std::vector<std::string>& targets, Instant t);
  /// Alerts were queued: the next pump_if_dirty() pumps.
  void mark_dirty() { dirty_ = true; }
  void pump_if_dirty() {
    if (dirty_) pump();
  }
  /// Digests and re-posts due are queued; what is due goes to the sender; the timer is set to
  /// the next due time.
  void pump();
  /// The sender's outcomes into the outbox (sent, retried later, or given up); false: none.
  bool record_sent();
  /// At a stop: the alerts being sent finish first (1 s at most), their outcome recorded.
  void finish_sends();
  size_t in_flight() const { return in_flight_.size(); }

  /// Tests on a simulated clock (daemon_clock.cpp): the pump's timer as advance_timers() fires it,
  /// and one wait of at most `timeout_ms` for the sender's answers (true: some were recorded).
  sd_event_source* timer_source() const { return timer_.get(); }
  static int fire_timer(sd_event_source* s, uint64_t usec, void* ud) { return on_timer_cb(s, usec, ud); }
  bool await_sent(int timeout_ms);

 private:
  void resume_alertmanager_posts(Instant t);
  void queue_alertmanager_posts(Instant t);
  static int on_timer_cb(sd_event_source*, uint64_t, void*);
  static int on_sent_cb(sd_event_source*, int, uint32_t, void*);

  StateStore& store_;
  Reads reads_;
  std::unique_ptr<OutboxSender> sender_;  // null until attach()
  EventSource timer_;                     // CLOCK_REALTIME: the next due row, digest or re-post
  EventSource sent_;                      // the sender's eventfd
  std::set<int64_t> in_flight_;           // outbox rows handed to the sender, not answered yet
  bool dirty_ = false;                    // alerts were queued since the last pump
  uplink::AlertThrottle throttle_;        // per-target rate limit; its digests are queued by pump()
  uplink::AlertmanagerResend am_resend_;  // open incidents posted again to Alertmanager targets
};

}  // namespace cronitor::agent
