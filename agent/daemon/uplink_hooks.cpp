// The daemon's side of the uplink: every stored run event is queued for each upstream in the
// same transaction (so it is durable before the wrapper's ack), discovered jobs are upserted
// (Cronitor), host-side faults go up as failures, and an upstream that refuses us for good
// raises a local alert.
#include <spdlog/spdlog.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "agent/daemon/daemon.h"
#include "agent/state/uplink_outbox.h"

namespace cronitor::agent {
namespace {

int64_t unix_ms(Instant t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

uplink::MonitorInfo monitor_info(const MonitorConfig& m, const std::string& host) {
  uplink::MonitorInfo i;
  i.key = m.key;
  i.name = m.name;
  if (m.schedule) {
    if (auto iv = m.schedule->interval())
      i.schedule = "every " + std::to_string(iv->count()) + " seconds";
    else if (std::holds_alternative<schedule::CronSpec>(m.schedule->spec()))
      i.schedule = m.schedule->text();
  }
  i.timezone = m.zone.name();
  i.grace_seconds = m.grace.count();
  i.failure_tolerance = m.failure_tolerance;
  i.schedule_tolerance = m.schedule_tolerance;
  i.consecutive_alert_threshold = m.consecutive_alert_threshold;
  i.recovery_threshold = m.recovery_threshold;
  if (auto mr = m.max_runtime()) i.max_runtime_seconds = std::chrono::duration_cast<std::chrono::seconds>(*mr).count();
  for (const auto& a : m.assertions) i.assertions.push_back(a.text);
  for (const auto& n : m.notify)
    if (n.find(':') == std::string::npos) i.notify.push_back(n);  // list names only: inline targets hold secrets
  i.slug = m.slug;
  i.note = "cronitor-agent on " + host + (m.source().empty() ? "" : ", defined in " + m.source());
  return i;
}

}  // namespace

void Daemon::start_uplink() {
  deliverer_.reset();
  if (!config_.uplink.any()) return;
  if (!uplink_outbox_) {
    auto o = SqlOutbox::open(store_.db());
    if (!o) {
      spdlog::error("uplink: {}; nothing is forwarded", o.error().message);
      return;
    }
    uplink_outbox_ = std::move(*o);
  }
  auto ups = uplink::make_upstreams(config_.uplink);
  if (!ups) {
    spdlog::error("uplink: {}; nothing is forwarded", ups.error().message);
    return;
  }
  std::vector<std::string> names;
  for (const auto& u : *ups) names.push_back(u->name());
  auto d = uplink::Deliverer::create(
      ev_, *uplink_outbox_, std::move(*ups), config_.uplink.delivery,
      [this](const std::string& up, long status, const std::string& url) { on_uplink_stopped(up, status, url); },
      [](int level, const std::string& m) {
        if (level == 0)
          spdlog::info("{}", m);
        else if (level == 1)
          spdlog::warn("{}", m);
        else
          spdlog::error("{}", m);
      });
  if (!d) {
    spdlog::error("uplink: {}; nothing is forwarded", d.error().message);
    return;
  }
  deliverer_ = std::move(*d);
  synced_hash_ = 0;
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  spdlog::info("uplink: forwarding to {} (mode {})", list, config_.mode);
}

void Daemon::forward(const RunEvent& ev, uint32_t i) {
  if (ev.state == RunEvent::State::kComplete) ++run_counts_[ev.key].first;
  if (ev.state == RunEvent::State::kFail) ++run_counts_[ev.key].second;
  if (metrics_src_) {  // a run changed the series: the textfile follows within a second
    uint64_t at = 0;
    sd_event_source_get_time(metrics_src_, &at);
    if (at > mono_usec() + 1'000'000) sd_event_source_set_time(metrics_src_, mono_usec() + 1'000'000);
  }
  if (!deliverer_ || ev.key.empty()) return;
  uplink::Telemetry t;
  t.key = ev.key;
  t.run_id = ev.run_id;
  t.state = ev.state == RunEvent::State::kRun        ? uplink::Telemetry::State::kRun
            : ev.state == RunEvent::State::kComplete ? uplink::Telemetry::State::kComplete
                                                     : uplink::Telemetry::State::kFail;
  t.ts_ms = unix_ms(ev.ts);
  t.host = ev.host.empty() ? host_ : ev.host;
  t.environment = !ev.environment.empty() ? ev.environment : monitors_[i].environment;
  t.exit_code = ev.exit_code;
  t.signal = ev.signal;
  t.oom = ev.oom;
  t.timeout = ev.timeout;
  t.duration_ms = ev.duration_ms;
  t.output_tail = ev.output_tail;
  t.message = ev.message;
  t.metrics = ev.metrics;
  const uplink::MonitorInfo info = monitor_info(monitors_[i], host_);
  if (auto r = deliverer_->enqueue(t, &info, unix_ms(now()) * 1000); !r)
    spdlog::error("uplink: queueing an event of {}: {}", ev.key, r.error().message);
}

// Faults only the host sees reach the upstream as a failure of the affected monitor (Cronitor
// state=fail with a message, a Healthchecks /fail ping, a Sentry error check-in).
void Daemon::forward_fault(const Action& a, const MonitorConfig* m) {
  if (!deliverer_ || config_.mode == "standalone" || a.type == Action::Type::kSuppressed) return;
  const Alert::Kind k = a.alert.kind;
  if (k != Alert::Kind::kCronDown && k != Alert::Kind::kRemoved && k != Alert::Kind::kHung) return;
  auto send = [&](const MonitorConfig& mc) {
    uplink::Telemetry t;
    t.key = mc.key;
    t.state = uplink::Telemetry::State::kFail;
    t.ts_ms = unix_ms(a.alert.at);
    t.host = host_;
    t.environment = mc.environment;
    t.message = a.alert.summary + (a.alert.detail.empty() ? "" : ": " + a.alert.detail);
    const uplink::MonitorInfo info = monitor_info(mc, host_);
    if (auto r = deliverer_->enqueue(t, &info, unix_ms(now()) * 1000); !r)
      spdlog::error("uplink: queueing a fault of {}: {}", mc.key, r.error().message);
  };
  if (k == Alert::Kind::kCronDown) {
    for (const auto& mc : monitors_)
      if (mc.from_cron) send(mc);
  } else if (m) {
    send(*m);
  }
}

void Daemon::sync_upstream_monitors() {
  if (!deliverer_ || !config_.uplink.cronitor || !config_.uplink.cronitor->sync_monitors) return;
  std::vector<uplink::MonitorInfo> list;
  size_t h = 0;
  for (const auto& m : monitors_) {
    list.push_back(monitor_info(m, host_));
    h = h * 1000003 ^ std::hash<std::string>{}(
                          uplink::to_json(list.back()).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  if (list.empty() || h == synced_hash_) return;
  if (auto r = store_.begin(); !r) return;
  auto r = deliverer_->enqueue_sync(list, unix_ms(now()) * 1000);
  if (!r || !store_.commit()) {
    store_.rollback();
    spdlog::error("uplink: queueing the monitor upsert failed");
    return;
  }
  synced_hash_ = h;
  deliverer_->kick();
  spdlog::info("uplink: {} monitors queued for upsert", list.size());
}

void Daemon::on_uplink_stopped(const std::string& upstream, long status, const std::string& url) {
  Action a;
  a.type = Action::Type::kNotice;
  a.alert.kind = Alert::Kind::kFailed;
  a.alert.key = "uplink:" + upstream;
  a.alert.name = "uplink to " + upstream;
  a.alert.at = now();
  a.alert.summary = "Forwarding to " + upstream + " stopped: it answered HTTP " + std::to_string(status);
  a.alert.detail = url + " answered " + std::to_string(status) +
                   " (bad key, or the project is gone); events stay queued until the config is fixed and "
                   "reloaded (systemctl reload cronitor-agent)";
  if (auto r = store_.begin(); !r) return;
  record_actions({a}, nullptr, a.alert.at);
  if (!store_.commit()) store_.rollback();
  pump_outbox();
}

}  // namespace cronitor::agent
