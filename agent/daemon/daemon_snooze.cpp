// Downtime, snooze and shutdown: the time the agent could not watch is told once as downtime
// (agent/eval/downtime.h); a snoozed or shutting-down host records every alert but sends none.
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "agent/control/status_view.h"
#include "agent/daemon/daemon.h"
#include "agent/eval/downtime.h"
#include "agent/sources/host_facts.h"
#include "agent/sources/shutdown_watch.h"
#include "agent/state/state_json.h"
#include "schedule/iso8601.h"

namespace cronitor::agent {
namespace {

/// last_seen is saved this often while the agent idles: the precision of a host-down window
/// when the host lost power (a clean shutdown or stop records its own time).
constexpr uint64_t kHeartbeatUsec = 60ull * 1000000;

std::string iso(Instant t) {
  return schedule::format_iso8601(std::chrono::floor<std::chrono::seconds>(t), schedule::Zone::utc());
}

}  // namespace

bool Daemon::quiet(Instant t) const {
  return shutting_down_ || (host_record_.state().snoozed_until && t < *host_record_.state().snoozed_until);
}

void Daemon::report_downtime(Instant t) {
  auto boot = host_boot_time();
  if (!boot) spdlog::warn("the kernel's boot time is unreadable (/proc/stat btime, CLOCK_BOOTTIME)");
  const auto windows = downtime_windows(host_record_.previous_run(), boot.value_or(Instant{}), t);
  host_record_.state().shutdown_at.reset();  // consumed: that shutdown is behind us
  host_record_.state().last_seen = t;
  host_record_.changed();
  if (windows.empty()) return;
  if (!store_.begin()) return;
  for (const auto& w : windows) {
    std::vector<uint32_t> changed;
    auto actions = evaluate_downtime(monitors_.configs(), monitors_.states(), w, host_,
                                     config_.defaults.alert_on_downtime, &changed);
    for (uint32_t i : changed) monitors_.touch(i);
    const char* what = w.cause == DowntimeWindow::Cause::kHostDown ? "the host was down" : "the agent was stopped";
    spdlog::info("{} from {} to {}: {} job(s) had runs due then (not counted as missed)", what, iso(w.from), iso(w.to),
                 changed.size());
    if (!changed.empty() && !config_.defaults.alert_on_downtime)
      spdlog::info("alert_on_downtime is false: no downtime notice sent");
    record_actions(actions, nullptr, t);
  }
  end_transaction();
}

void Daemon::start_host_watches() {
  sd_event_source* s = nullptr;
  sd_event_add_time_relative(ev_, &s, CLOCK_MONOTONIC, kHeartbeatUsec, kHeartbeatUsec / 6, on_heartbeat_cb, this);
  heartbeat_src_.reset(s);
  s = nullptr;
  sd_event_add_time(ev_, &s, CLOCK_REALTIME, UINT64_MAX, 1000, on_snooze_cb, this);
  snooze_src_.reset(s);
  sd_event_source_set_enabled(snooze_src_.get(), SD_EVENT_OFF);
  arm_snooze_timer();
  shutdown_ = std::make_unique<ShutdownWatch>(ev_, [this](bool active) { on_shutdown_signal(active); });
  shutdown_->start();
}

void Daemon::stop_host_watches() {
  heartbeat_src_.reset();
  snooze_src_.reset();
  shutdown_.reset();
}

int Daemon::on_heartbeat_cb(sd_event_source* s, uint64_t, void* ud) {
  auto* d = static_cast<Daemon*>(ud);
  d->host_record_.changed();  // flush_dirty stamps last_seen
  d->save_dirty();
  sd_event_source_set_time(s, d->mono_usec() + kHeartbeatUsec);
  sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
  return 0;
}

void Daemon::on_stop_signal() {
  // The unit's SIGTERM during a shutdown: systemd says "stopping" (a plain `systemctl stop` does not).
  if (!shutting_down_ && shutdown_ && shutdown_->system_stopping()) {
    spdlog::info("the system is stopping: recording the host's shutdown");
    shutting_down_ = true;
    host_record_.state().shutdown_at = now();
  }
  host_record_.changed();  // last_seen, stamped at the final save
}

void Daemon::on_shutdown_signal(bool active) {
  const Instant t = now();
  if (active == shutting_down_) return;
  shutting_down_ = active;
  if (active) {
    host_record_.state().shutdown_at = t;
    spdlog::info("host shutting down at {}: alerts are recorded, not sent; the time until the next boot is downtime",
                 iso(t));
  } else {
    host_record_.state().shutdown_at.reset();
    spdlog::info("the shutdown was cancelled: alerting again");
  }
  host_record_.changed();
  save_dirty();
}

void Daemon::arm_snooze_timer() {
  if (!snooze_src_) return;
  if (!host_record_.state().snoozed_until || *host_record_.state().snoozed_until == Instant::max()) {
    sd_event_source_set_enabled(snooze_src_.get(), SD_EVENT_OFF);
    return;
  }
  sd_event_source_set_time(snooze_src_.get(), clock_.timer_usec(*host_record_.state().snoozed_until));
  sd_event_source_set_enabled(snooze_src_.get(), SD_EVENT_ONESHOT);
}

int Daemon::on_snooze_cb(sd_event_source*, uint64_t, void* ud) {
  auto* d = static_cast<Daemon*>(ud);
  d->commit_pending();
  d->end_snooze(d->now());
  return 0;
}

void Daemon::end_snooze(Instant t) {
  if (!host_record_.state().snoozed_until) return;
  const Instant since = host_record_.state().snooze_since.value_or(t);
  const std::string reason = host_record_.state().snooze_reason;
  host_record_.state().snoozed_until.reset();
  host_record_.state().snooze_since.reset();
  host_record_.state().snooze_reason.clear();
  host_record_.changed();
  arm_snooze_timer();
  std::vector<OpenIncident> open;
  if (host_record_.state().cron_incident) open.push_back({"cron daemon", *host_record_.state().cron_incident});
  for (uint32_t i = 0; i < monitors_.size(); ++i)
    if (monitors_.state(i).incident && !monitors_.state(i).removed)
      open.push_back({monitors_.config(i).name.empty() ? monitors_.config(i).key : monitors_.config(i).name,
                      *monitors_.state(i).incident});
  spdlog::info("snooze ended: {} incident(s) still open", open.size());
  if (!store_.begin()) return;
  if (auto a = snooze_end_notice(t, since, reason, open, host_)) record_actions({*a}, nullptr, t);
  end_transaction();
  pump_outbox();
}

std::string Daemon::run_snooze(const Peer& c, const Request& req) {
  using nlohmann::json;
  const Instant t = now();
  if (!req.until_us) {
    const bool was = host_record_.state().snoozed_until.has_value();
    end_snooze(t);
    if (was) spdlog::info("snooze ended by uid {}", c.uid);
  } else {
    host_record_.state().snoozed_until = from_us(*req.until_us);
    if (!host_record_.state().snooze_since) host_record_.state().snooze_since = t;
    host_record_.state().snooze_reason = req.reason;
    host_record_.changed();
    if (!store_.begin()) return RequestHandler::control_error("state.db is busy");
    end_transaction();
    arm_snooze_timer();
    spdlog::info("host snoozed until {} by uid {}{}", iso(*host_record_.state().snoozed_until), c.uid,
                 req.reason.empty() ? "" : " (" + req.reason + ")");
  }
  return json({{"ok", true}, {"snooze", snooze_json(host_record_.state(), t)}})
             .dump(-1, ' ', false, json::error_handler_t::replace) +
         "\n";
}

}  // namespace cronitor::agent
