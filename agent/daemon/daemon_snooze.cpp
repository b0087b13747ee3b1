// Downtime, snooze and shutdown: the time the agent could not watch is told once as downtime
// (agent/eval/downtime.h); a snoozed or shutting-down host (quiet_times.h) records every alert
// but sends none.
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "agent/control/status_view.h"
#include "agent/daemon/daemon.h"
#include "agent/eval/downtime.h"
#include "agent/sources/host_facts.h"
#include "agent/state/state_json.h"
#include "schedule/iso8601.h"

namespace cronitor::agent {
namespace {

std::string iso(Instant t) {
  return schedule::format_iso8601(std::chrono::floor<std::chrono::seconds>(t), schedule::Zone::utc());
}

}  // namespace

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

// The host's quiet times (quiet_times.h): what its heartbeat saves and what the snooze's end does.
QuietTimes::Hooks Daemon::quiet_hooks() {
  return {
      .save = [this] { save_dirty(); },
      .snooze_due =
          [this] {
            commit_pending();
            end_snooze(now());
          },
  };
}

void Daemon::end_snooze(Instant t) {
  if (!host_record_.state().snoozed_until) return;
  const Instant since = host_record_.state().snooze_since.value_or(t);
  const std::string reason = host_record_.state().snooze_reason;
  host_record_.state().snoozed_until.reset();
  host_record_.state().snooze_since.reset();
  host_record_.state().snooze_reason.clear();
  host_record_.changed();
  quiet_.arm_snooze();
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
    quiet_.arm_snooze();
    spdlog::info("host snoozed until {} by uid {}{}", iso(*host_record_.state().snoozed_until), c.uid,
                 req.reason.empty() ? "" : " (" + req.reason + ")");
  }
  return json({{"ok", true}, {"snooze", snooze_json(host_record_.state(), t)}})
             .dump(-1, ' ', false, json::error_handler_t::replace) +
         "\n";
}

}  // namespace cronitor::agent
