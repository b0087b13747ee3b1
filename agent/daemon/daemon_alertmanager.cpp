// Alertmanager targets: Alertmanager ends an alert at its endsAt, so the alert of an open incident
// is posted again every defaults.alertmanager_resend (uplink/alertmanager_resend.h decides when)
// until the incident resolves; only the newest post per target and incident waits in the outbox
// (agent/state/alertmanager_rows.h).
#include <spdlog/spdlog.h>

#include "agent/daemon/daemon.h"
#include "agent/state/alertmanager_rows.h"
#include "uplink/alertmanager.h"

namespace cronitor::agent {
namespace {

bool is_alertmanager(const std::string& target) { return target.starts_with("alertmanager:"); }

}  // namespace

std::optional<Instant> Daemon::incident_opened(const std::string& key) const {
  if (auto it = index_.find(key); it != index_.end()) {
    const auto& inc = states_[it->second].incident;
    return inc ? std::optional<Instant>(inc->opened) : std::nullopt;
  }
  if (key == "host:cron" && host_state_.cron_incident) return host_state_.cron_incident->opened;
  if (key == "host:timezone") return host_state_.cron_zone.warned;
  return std::nullopt;  // a job no longer monitored: its incident stays as state.db has it
}

void Daemon::note_alertmanager_rows(const Action& a, const std::vector<std::string>& targets, Instant t) {
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

void Daemon::resume_alertmanager_posts(Instant t) {
  am_resend_.configure(config_.defaults.alertmanager_resend);
  if (sender_) sender_->set_alertmanager_resend(config_.defaults.alertmanager_resend);
  auto open = alertmanager_open(store_.db());
  if (!open) return spdlog::error("alert outbox: {}", open.error().message);
  for (const auto& o : *open)
    if (incident_opened(o.key) == o.opened) am_resend_.resume(o.target, o.key, t);
  if (am_resend_.open() > 0)
    spdlog::info("{} open incident(s) posted again to Alertmanager every {} s until they resolve", am_resend_.open(),
                 am_resend_.interval().count());
}

void Daemon::queue_alertmanager_posts(Instant t) {
  auto due = am_resend_.take_due(t);
  if (due.empty() || !store_.begin()) return;
  for (const auto& d : due) {
    const auto opened = incident_opened(d.key);
    auto queued =
        opened ? alertmanager_repost(store_.db(), d.target, d.key, *opened, t, in_flight_) : Result<bool>(false);
    if (!queued)
      spdlog::error("alert outbox: {}", queued.error().message);
    else if (!*queued)
      am_resend_.forget(d.key);
  }
  if (!store_.commit()) store_.rollback();
}

}  // namespace cronitor::agent
