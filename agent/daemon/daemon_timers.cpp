// The daemon and the systemd manager: runs of timers' services enter the same ingest path as the
// wrapper's events; a manager that answers makes the timers live (and a monitor of each timer it
// runs that discovery does not: started only, or transient); a timer stopped or unloaded while
// monitored raises the removed alert, like a deleted crontab line; a start the manager skipped
// (a Condition*= failed) is recorded as skipped.
#include <spdlog/spdlog.h>

#include "agent/config/discovery_adapter.h"
#include "agent/daemon/daemon.h"
#include "agent/eval/skipped_run.h"
#include "agent/eval/timer_deadline.h"
#include "agent/sources/live_timer_job.h"
#include "agent/sources/systemd_run_source.h"
#include "agent/sources/systemd_watch.h"
#include "agent/state/skipped_runs.h"
#include "discovery/fs_root.h"
#include "discovery/scanner.h"

namespace cronitor::agent {

namespace {

/// A timer that went down (`what`: "stopped", "masked", "removed") as the evaluator's input.
RemovedInput timer_down(const LiveTimer& timer, const std::string& what, Instant t) {
  const std::string why = what == "stopped" ? "stopped: " + timer.unit + " is no longer active in the systemd manager"
                          : what == "masked"
                              ? "masked: " + timer.unit + " is masked in the systemd manager (systemctl unmask " +
                                    timer.unit + ", then daemon-reload and start it, to run it again)"
                              : "removed: the systemd manager unloaded " + timer.unit;
  RemovedInput removed{t, timer.unit, 0, false, why};
  if (what == "masked") {
    removed.as = "masked";
    removed.hint = "systemctl unmask " + timer.unit + ", systemctl daemon-reload, then systemctl start " + timer.unit;
  } else if (what == "stopped") {
    removed.as = "stopped";
    removed.hint = "systemctl start " + timer.unit;
  }
  return removed;
}

}  // namespace

std::unique_ptr<SystemdRunSource> Daemon::systemd_source() {
  SystemdWatch::Handler h;  // its runs go to the sink (take_runs)
  h.on_manager = [this](bool live, const std::string&, const std::vector<LiveTimer>&) {
    if (!live) return;  // monitors keep their deadlines: a manager away is a manager restarting
    apply_live_timers();
    save_dirty();
    rearm_deadline_timer();
  };
  h.on_timer_state = [this](const LiveTimer& t, const std::string& what) { on_timer_state(t, what); };
  // The manager moved a monotonic timer's next elapse: the slot its monitor waits for.
  h.on_elapse = [this](const LiveTimer& timer) {
    auto it = monitors_.find(timer.key);
    if (!it || monitors_.config(*it).awaits_first_run) return;
    const uint32_t i = *it;
    if (!adopt_next_elapse(monitors_.config(i), monitors_.state(i), elapse_instant(timer.next_elapse_usec), now()))
      return;
    monitors_.touch(i);
    save_dirty();
    rearm_deadline_timer();
  };
  // Before its run events arrive: the slots it catches up on are not missed, and no run from
  // before the boot is still open beside it.
  h.on_catch_up = [this](const LiveTimer& timer, uint64_t start_usec) {
    auto it = monitors_.find(timer.key);
    if (!it) return;
    const uint32_t i = *it;
    auto start = elapse_instant(start_usec);
    if (!start) return;
    const bool changed = absorb_catch_up(monitors_.config(i), monitors_.state(i), *start);
    if (timer.persistent)
      spdlog::info("systemd: {} runs to catch up on what it missed while the manager was down (Persistent=)",
                   timer.unit);
    else
      spdlog::info(
          "systemd: {} ran {} at once as it started, for a slot that passed while it was stopped: "
          "no run of the coming slot",
          timer.unit, timer.service);
    if (changed) monitors_.touch(i);
  };
  h.on_skip = [this](const LiveTimer& timer, uint64_t at_usec, const std::string& condition) {
    on_timer_skip(timer, at_usec, condition);
  };
  return std::make_unique<SystemdRunSource>(std::move(h));
}

void Daemon::apply_live_timers() {
  const SystemdWatch* sd = live_systemd();
  if (!sd) return;
  const Instant t = now();
  const auto timers = sd->timer_list();
  adopt_live_timers(timers, t);
  for (const LiveTimer& timer : timers) {
    auto it = monitors_.find(timer.key);
    if (!it) continue;
    const uint32_t i = *it;
    MonitorConfig& m = monitors_.config(i);
    // Not running in the manager (a monitor discovery made anew, e.g. for a timer unmasked but
    // not started): stopped or masked, silently (its change was told, or predates the agent).
    if (!monitors_.state(i).removed && timer.active_state != "active" && timer.active_state != "activating") {
      RemovedInput down = timer_down(timer, timer.load_state == "masked" ? "masked" : "stopped", t);
      down.by_unwrap = true;  // no alert
      (void)evaluate(m, monitors_.state(i), down, host_record_.state());
      monitors_.config_changed(i);
      monitors_.touch(i);
      continue;
    }
    bool changed = widen_grace(m, timer.accuracy_usec, timer.randomized_delay_usec);
    changed = skip_served_slots(m, monitors_.state(i), elapse_instant(timer.last_trigger_usec), timer.persistent, t) ||
              changed;
    if (m.awaits_first_run) {
      m.awaits_first_run = false;  // the manager reports every run from now on
      if (m.schedule && (!monitors_.state(i).expected || *monitors_.state(i).expected < t))
        monitors_.state(i).expected = m.next_slot(t);
      changed = true;
    }
    changed = adopt_next_elapse(m, monitors_.state(i), elapse_instant(timer.next_elapse_usec), t) || changed;
    if (!changed) continue;
    monitors_.config_changed(i);
    monitors_.touch(i);
  }
}

// A timer the manager runs whose monitor discovery did not make (no *.wants link: started with
// `systemctl start`; no unit file it reads: `systemd-run --on-calendar`) is a monitor named after
// its unit, with the manager's schedule. One learnt from its runs (named by its key) becomes it.
void Daemon::adopt_live_timers(const std::vector<LiveTimer>& timers, Instant t) {
  std::optional<std::unordered_map<std::string, MonitorState>> stored;  // state.db's, read once if needed
  std::optional<std::unordered_map<std::string, int>> names;            // monitors per name, counted if needed
  std::string zone;
  for (const LiveTimer& timer : timers) {
    if (!timer_runs(timer)) continue;
    const MonitorEntry* entry = nullptr;
    for (const auto& e : config_.monitors)
      if (e.key == timer.key) entry = &e;
    auto it = monitors_.find(timer.key);
    bool live = false;
    if (it) {
      const MonitorConfig& have = monitors_.config(*it);
      live = is_live_timer_source(have.source_file);
      const bool learnt = have.source_file.empty() && have.name == have.key && !entry;
      if (!live && !learnt) continue;  // discovered (enabled) or from agent.yaml: watched already
    }
    if (zone.empty()) zone = discovery_.on() ? discovery::read_host_zone(*discovery_.root()) : "UTC";
    std::vector<std::string> warnings;
    DiscoveredJob dj = to_discovered(live_timer_job(timer, zone), &warnings);
    for (const auto& w : warnings) spdlog::warn("systemd: {}", w);
    auto m = resolve_monitor(config_, &dj, entry, zones_);
    if (!m) {
      spdlog::warn("systemd: {}: {}, not monitored", timer.unit, m.error().message);
      continue;
    }
    m->awaits_first_run = false;  // the manager reports its runs
    if (m->name == dj.name) {     // not named by hand: unique per host (live_timer_name)
      if (!names) {
        names.emplace();
        for (const auto& mc : monitors_) ++(*names)[mc.name];
      }
      const std::string* mine = it ? &monitors_.config(*it).name : nullptr;
      m->name = live_timer_name(timer.unit, [&](const std::string& n) {
        auto c = names->find(n);
        return c != names->end() && c->second - (mine && *mine == n ? 1 : 0) > 0;
      });
      if (!mine || *mine != m->name) {
        if (mine) --(*names)[*mine];
        ++(*names)[m->name];
      }
    }
    if (!it) {
      if (!stored) {
        stored.emplace();
        if (auto rows = store_.jobs())
          for (auto& r : *rows) stored->emplace(r.key, std::move(r.state));
      }
      MonitorState s = initial_state(*m, t);
      if (auto st = stored->find(timer.key); st != stored->end() && !st->second.removed) {
        s = std::move(st->second);  // a reload or a restart: its runs, incidents and slot go on
        if (!m->schedule) s.expected.reset();
        if (m->schedule && !s.expected) s.expected = m->next_slot(t);
      }
      spdlog::info("systemd: {} is monitored as {} (run by the manager, not enabled by a unit file), schedule {}",
                   timer.unit, m->name, dj.schedule.empty() ? dj.heartbeat ? dj.heartbeat->what : "none" : dj.schedule);
      monitors_.add(std::move(*m), std::move(s));
      continue;
    }
    const uint32_t i = *it;
    if (live && m->schedule_text() == monitors_.config(i).schedule_text() && m->name == monitors_.config(i).name)
      continue;
    if (m->name != monitors_.config(i).name)
      spdlog::info("systemd: {} is monitored as {} now, not {}: names are unique per host", timer.unit, m->name,
                   monitors_.config(i).name);
    if (m->schedule_text() != monitors_.config(i).schedule_text())  // a daemon-reload with a new OnCalendar=
      monitors_.state(i).expected = m->schedule ? m->next_slot(t) : std::nullopt;
    monitors_.config(i) = std::move(*m);
    monitors_.config_changed(i);
    monitors_.touch(i);
  }
}

void Daemon::on_timer_skip(const LiveTimer& timer, uint64_t at_usec, const std::string& condition) {
  apply_live_timers();  // a timer run only by the manager is a monitor before its first skip is told
  auto it = monitors_.find(timer.key);
  const auto at = elapse_instant(at_usec);
  if (!it || !at) return;
  const uint32_t i = *it;
  const Instant t = now();
  const std::string status = skipped_status(condition);
  if (!store_.begin()) return;
  auto fresh = record_skipped_run(store_.db(), timer.key, skip_run_id(timer.service, at_usec), *at, status, host_);
  if (!fresh) {
    spdlog::error("state.db: {}", fresh.error().message);
  } else if (*fresh) {  // not seen before (a resync or a restart tells a skip again)
    auto actions = absorb_skip(monitors_.config(i), monitors_.state(i), *at, condition);
    (void)adopt_next_elapse(monitors_.config(i), monitors_.state(i), elapse_instant(timer.next_elapse_usec), t);
    record_actions(actions, &monitors_.config(i), t);
    monitors_.touch(i);
    spdlog::info("systemd: {} did not start {}: {}", timer.unit, timer.service, status);
  }
  end_transaction();
  rearm_deadline_timer();
  pump_outbox();
}

void Daemon::on_timer_state(const LiveTimer& timer, const std::string& what) {
  if (what.empty()) apply_live_timers();  // started: a timer that no unit file enables becomes a monitor
  auto it = monitors_.find(timer.key);
  if (!it) return;
  const uint32_t i = *it;
  const Instant t = now();
  MonitorState& s = monitors_.state(i);
  if (!store_.begin()) return;
  if (what.empty()) {  // started again
    if (s.removed) {
      const auto catch_up = s.catch_up_start;  // the run it makes as it starts may be told first
      s = initial_state(monitors_.config(i), t);
      s.catch_up_start = catch_up;
      monitors_.touch(i);
      spdlog::info("systemd: {} started again", timer.unit);
    }
  } else if (!monitors_.config(i).paused && !(s.paused_until && *s.paused_until > t)) {
    auto actions = evaluate(monitors_.config(i), s, timer_down(timer, what, t), host_record_.state());
    record_actions(actions, &monitors_.config(i), t);
    monitors_.touch(i);
    spdlog::info("systemd: {} {}", timer.unit, what);
  }
  end_transaction();
  rearm_deadline_timer();
  pump_outbox();
}

}  // namespace cronitor::agent
