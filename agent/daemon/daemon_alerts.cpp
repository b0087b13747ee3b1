// The evaluator's actions become alerts: recorded in state.db's alert outbox (or only recorded,
// while the host is snoozed or shutting down), held back by the per-target throttle, and pumped
// to the sender thread by the alert outbox (alert_outbox.h). An upstream that refuses us for good
// raises a local alert. The parts of the daemon's outputs are given what they read of it here.
#include <spdlog/spdlog.h>

#include <optional>

#include "agent/daemon/daemon.h"
#include "agent/eval/user_limits.h"

namespace cronitor::agent {

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
        if (a.type == Action::Type::kSuppressed || (!hushed && alerts_.admit(tg.text(), a.alert.key, t, owner)))
          targets.push_back(tg.text());
    // upstream: the upstream evaluates and alerts; only the uplink's own failure is told here.
    const bool upstream_only =
        config_.mode == "upstream" && config_.uplink.any() && !a.alert.key.starts_with("uplink:");
    if (upstream_only || hushed) targets.clear();
    upstreams_.forward_fault(a, m);
    if (hushed)
      spdlog::info("alert ({}: recorded, not sent): {}", quiet_.shutting_down() ? "host shutting down" : "host snoozed",
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
      alerts_.note_alertmanager_rows(a, targets, t);
    alerts_.mark_dirty();
  }
}

std::optional<Instant> Daemon::incident_opened(const std::string& key) const {
  if (auto it = monitors_.find(key)) {
    const auto& inc = monitors_.state(*it).incident;
    return inc ? std::optional<Instant>(inc->opened) : std::nullopt;
  }
  if (key == "host:cron" && host_record_.state().cron_incident) return host_record_.state().cron_incident->opened;
  if (key == "host:timezone") return host_record_.state().cron_zone.warned;
  return std::nullopt;  // a job no longer monitored: its incident stays as state.db has it
}

void Daemon::on_uplink_stopped(const uplink::Deliverer::Refusal& r) {
  const std::string& up = r.upstream;
  const std::string code = std::to_string(r.status);
  Action a;
  a.type = Action::Type::kNotice;
  a.alert.kind = Alert::Kind::kFailed;
  a.alert.key = "uplink:" + up + (r.job.empty() ? "" : ":" + r.job);
  a.alert.name = "uplink to " + up;
  a.alert.at = now();
  if (r.job.empty()) {
    a.alert.summary = "Forwarding to " + up + " stopped: it answered HTTP " + code + " " + r.answer;
    a.alert.detail = r.url + " answered " + code + " " + r.answer +
                     " (bad key, or the project is gone); events stay queued until the config is fixed and "
                     "reloaded (systemctl reload cronitor-agent)";
  } else {
    a.alert.summary = up + " refuses the check of " + r.job + ": HTTP " + code + " " + r.answer;
    a.alert.detail = r.url + " answered " + code + " " + r.answer + "; " + r.job +
                     "'s events stay queued (the other jobs keep flowing) and are tried again every " +
                     std::to_string(config_.uplink.delivery.backoff_max.count() / 1000) +
                     " s: create the check upstream, or fix its slug or key";
  }
  if (auto b = store_.begin(); !b) return;
  record_actions({a}, nullptr, a.alert.at);
  if (!store_.commit()) store_.rollback();
  pump_outbox();
}

// What the parts of the daemon's outputs read of it (daemon.h builds them with these).
AlertOutbox::Reads Daemon::alert_reads() {
  return {[this] { return now(); }, [this](const std::string& key) { return incident_opened(key); },
          [this](Instant t) { return clock_.timer_usec(t); }};
}

Upstreams::Reads Daemon::upstream_reads() {
  return {[this] { return now(); }, [this] { return mono_usec(); },
          [this](const uplink::Deliverer::Refusal& r) { on_uplink_stopped(r); }};
}

Exports::Reads Daemon::export_reads() {
  Exports::Reads r;
  r.now = [this] { return now(); };
  r.mono_usec = [this] { return mono_usec(); };
  r.agent = [this] {
    uplink::AgentMetrics a;
    a.events_received = retention_.events_stored();
    a.inotify_rescans = discovery_.rescans();
    if (host_record_.state().last_seen)
      a.last_loop_s = static_cast<double>(host_record_.state().last_seen->time_since_epoch().count()) / 1e6;
    a.upstreams = upstreams_.metrics();
    return a;
  };
  r.dashboard_data = [this] { return dashboard_data(); };
  return r;
}

void Daemon::forward(const RunEvent& ev, uint32_t i) {
  exports_.count_run(ev);
  upstreams_.forward(ev, monitors_.config(i));
}

}  // namespace cronitor::agent
