// The daemon and the systemd manager: runs of timers' services enter the same ingest path as the
// wrapper's events; a manager that answers makes the timers live; a timer stopped or unloaded
// while monitored raises the removed alert, like a deleted crontab line.
#include <spdlog/spdlog.h>

#include "agent/daemon/daemon.h"
#include "agent/daemon/sd_systemd_bus.h"
#include "agent/daemon/systemd_watch.h"
#include "agent/eval/timer_deadline.h"

namespace cronitor::agent {

void Daemon::start_systemd_watch() {
  if (!config_.discovery.systemd || systemd_) return;
  SystemdWatch::Handler h;
  h.on_runs = [this](std::vector<cronitor::RunEvent> events) {
    for (auto& e : events) pending_.push_back(Pending{std::move(e), -1});
    sd_event_source_set_enabled(commit_src_, SD_EVENT_ONESHOT);
  };
  h.on_manager = [this](bool live, const std::string&, const std::vector<LiveTimer>&) {
    if (!live) return;  // monitors keep their deadlines: a manager away is a manager restarting
    apply_live_timers();
    save_dirty();
    rearm_deadline_timer();
  };
  h.on_timer_state = [this](const LiveTimer& t, const std::string& what) { on_timer_state(t, what); };
  // The manager moved a monotonic timer's next elapse: the slot its monitor waits for.
  h.on_elapse = [this](const LiveTimer& timer) {
    auto it = index_.find(timer.key);
    if (it == index_.end() || monitors_[it->second].awaits_first_run) return;
    const uint32_t i = it->second;
    if (!adopt_next_elapse(monitors_[i], states_[i], elapse_instant(timer.next_elapse_usec), now())) return;
    touch(i);
    save_dirty();
    rearm_deadline_timer();
  };
  // Before its run events arrive: the slots it catches up on are not missed, and no run from
  // before the boot is still open beside it.
  h.on_catch_up = [this](const LiveTimer& timer, uint64_t start_usec) {
    auto it = index_.find(timer.key);
    if (it == index_.end()) return;
    const uint32_t i = it->second;
    auto start = elapse_instant(start_usec);
    if (!start || !absorb_catch_up(monitors_[i], states_[i], *start)) return;
    spdlog::info("systemd: {} runs to catch up on what it missed while the manager was down (Persistent=)", timer.unit);
    touch(i);
  };
  SystemdWatch::Options options;
  systemd_ = std::make_unique<SystemdWatch>(std::make_unique<SdSystemdBus>(ev_, options.call_timeout_usec),
                                            SystemdHost::real(ev_), host_, std::move(h), options);
  systemd_->start();
}

void Daemon::apply_live_timers() {
  if (!systemd_ || !systemd_->live()) return;
  const Instant t = now();
  for (const LiveTimer& timer : systemd_->timer_list()) {
    auto it = index_.find(timer.key);
    if (it == index_.end()) continue;
    const uint32_t i = it->second;
    MonitorConfig& m = monitors_[i];
    bool changed = widen_grace(m, timer.accuracy_usec, timer.randomized_delay_usec);
    changed = skip_served_slots(m, states_[i], elapse_instant(timer.last_trigger_usec), timer.persistent, t) || changed;
    if (m.awaits_first_run) {
      m.awaits_first_run = false;  // the manager reports every run from now on
      if (m.schedule && (!states_[i].expected || *states_[i].expected < t)) states_[i].expected = m.next_slot(t);
      changed = true;
    }
    changed = adopt_next_elapse(m, states_[i], elapse_instant(timer.next_elapse_usec), t) || changed;
    if (!changed) continue;
    row_saved_[i] = 0;
    touch(i);
  }
}

void Daemon::on_timer_state(const LiveTimer& timer, const std::string& what) {
  auto it = index_.find(timer.key);
  if (it == index_.end()) return;
  const uint32_t i = it->second;
  const Instant t = now();
  MonitorState& s = states_[i];
  if (!store_.begin()) return;
  if (what.empty()) {  // started again
    if (s.removed) {
      s = initial_state(monitors_[i], t);
      touch(i);
      spdlog::info("systemd: {} started again", timer.unit);
    }
  } else if (!monitors_[i].paused && !(s.paused_until && *s.paused_until > t)) {
    const std::string why = what == "stopped" ? "stopped: " + timer.unit + " is no longer active in the systemd manager"
                                              : "removed: the systemd manager unloaded " + timer.unit;
    auto actions = evaluate(monitors_[i], s, RemovedInput{t, timer.unit, 0, false, why}, host_state_);
    record_actions(actions, &monitors_[i], t);
    touch(i);
    spdlog::info("systemd: {} {}", timer.unit, what);
  }
  end_transaction();
  rearm_deadline_timer();
  pump_outbox();
}

}  // namespace cronitor::agent
