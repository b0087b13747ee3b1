// The daemon's side of the uplink (upstreams.h): every stored run event is queued for each
// upstream in the same transaction (so it is durable before the wrapper's ack), discovered jobs
// are upserted (Cronitor), host-side faults go up as failures, and an upstream that refuses us
// for good raises a local alert. With an upstream set, the agent's own liveness (issue 17: "the
// agent is never down without someone knowing"): a heartbeat of its own monitor every
// `uplink.heartbeat.interval`, queued in state.db's outbox in place of any beat still waiting
// (uplink/self_heartbeat.h).
#include "agent/daemon/upstreams.h"

#include <spdlog/spdlog.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "agent/eval/user_limits.h"
#include "agent/state/uplink_outbox.h"
#include "common/run_id.h"
#include "uplink/healthchecks_api.h"
#include "uplink/self_heartbeat.h"

namespace cronitor::agent {
namespace {

int64_t unix_ms(Instant t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

uplink::MonitorInfo monitor_info(const MonitorConfig& m, const std::string& host, const uplink::UpstreamSchedule& us) {
  uplink::MonitorInfo i;
  i.key = m.key;
  i.name = m.name;
  i.schedule = us.schedule;
  i.timezone = us.timezone;
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
  i.cronitor_key = m.cronitor_key;
  i.healthchecks_uuid = m.healthchecks_uuid;
  i.healthchecks_slug = m.healthchecks_slug;
  i.sentry_slug = m.sentry_slug;
  i.note = "cronitor-agent on " + host + (m.source().empty() ? "" : ", defined in " + m.source());
  return i;
}

// Healthchecks' Management API: a job's check is created or updated with its schedule, zone and
// grace before its pings (the deliverer holds them back until the check is answered), and only
// when what it would send changed since it was last queued (`ledger`: the file in the state
// folder, read once by the daemon that owns it).
void queue_healthchecks_checks(uplink::Deliverer& deliverer, StateStore& store, uplink::CheckLedger& ledger,
                               const uplink::HealthchecksSettings& hs, const std::vector<uplink::MonitorInfo>& all,
                               int64_t now_us) {
  // Another project or server gets every check again (a hash of the key: never the key itself).
  const std::string where = hs.api_url + "|" + std::to_string(std::hash<std::string>{}(hs.api_key)) + "|";
  std::vector<uplink::MonitorInfo> list;
  std::vector<std::pair<std::string, std::string>> seen;
  for (const auto& info : all) {
    // An adopted check (runitor's UUID or slug, a curl ping) is its owner's, as it was set up.
    if (!info.healthchecks_uuid.empty() || !info.healthchecks_slug.empty()) continue;
    std::string why;
    auto body = uplink::healthchecks_check_body(info, &why);
    const std::string what =
        where + (body ? body->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) : "none: " + why);
    if (!ledger.changed(info.key, what)) continue;
    seen.emplace_back(info.key, what);
    if (body)
      list.push_back(info);
    else
      spdlog::warn("uplink: healthchecks: {} gets plain pings to its slug {}, no check through the API: {}", info.key,
                   uplink::healthchecks_slug(info), why);
  }
  if (seen.empty()) return;
  if (!list.empty()) {
    if (auto r = store.begin(); !r) return;
    auto r = deliverer.enqueue_checks(list, now_us);
    if (!r || !store.commit()) {
      store.rollback();
      spdlog::error("uplink: queueing the Healthchecks check upserts failed");
      return;
    }
    deliverer.kick();
    spdlog::info("uplink: healthchecks: {} checks queued for create or update", list.size());
  }
  for (const auto& [key, what] : seen) ledger.record(key, what);
  if (auto r = ledger.save(); !r) spdlog::warn("uplink: healthchecks: {}", r.error().message);
}

}  // namespace

uplink::MonitorInfo Upstreams::upstream_monitor(const MonitorConfig& m) {
  const bool from_end = m.heartbeat && m.heartbeat->anchor == Heartbeat::Anchor::kEnd;
  std::string sig = m.schedule ? m.schedule->text() : "";
  for (const auto& s : m.more_schedules) sig += "\n" + s.text();
  sig += "|" + m.zone.name() + (from_end ? "|end" : "");
  auto& [cached_sig, us] = upstream_schedules_[m.key];
  if (cached_sig != sig) {
    std::vector<const schedule::Schedule*> all;
    if (m.schedule) all.push_back(&*m.schedule);
    for (const auto& s : m.more_schedules) all.push_back(&s);
    const std::string before = cached_sig.empty() ? "" : us.why_not;
    us = uplink::upstream_schedule(all, m.zone, from_end);
    cached_sig = sig;
    if (!us.why_not.empty() && us.why_not != before && deliverer_)
      spdlog::warn("uplink: {} goes up without a schedule (plain check-ins, no monitor config): {}", m.key, us.why_not);
  }
  return monitor_info(m, host_, us);
}

void Upstreams::start(sd_event* ev) {
  ev_ = ev;
  self_beat_.reset();
  deliverer_.reset();
  upstream_schedules_.clear();  // the host's zone is read again
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
      [this](const uplink::Deliverer::Refusal& r) { reads_.stopped(r); },
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
  for (const auto& m : monitors_) (void)upstream_monitor(m);  // says now which jobs go up without a schedule
  start_self_heartbeat();
  if (config_.uplink.healthchecks && config_.uplink.healthchecks->create && !monitors_.empty()) {
    std::string keys;
    size_t n = 0;
    for (const auto& m : monitors_)
      if (++n <= 20) keys += (keys.empty() ? "" : ", ") + (m.slug.empty() ? uplink::slugify(m.key) : m.slug);
    if (n > 20) keys += " and " + std::to_string(n - 20) + " more";
    spdlog::warn(
        "uplink: healthchecks: create: true: checks that do not exist yet ({}) are created by their first ping "
        "with the server's default schedule (period 1 day, grace 1 hour), not the job's; create them in "
        "Healthchecks with their schedule to be told of a missed run in time",
        keys);
  }
}

void Upstreams::forward(const RunEvent& ev, const MonitorConfig& m) {
  // An unknown outcome goes nowhere upstream: a complete would be a success ping, a fail a
  // failure, and the upstream keeps the `run` it already had.
  if (!deliverer_ || ev.key.empty() || ev.state == RunEvent::State::kUnknown) return;
  // A user's own key would create a check under the host's API key that root never defined.
  if (users_own_key(m) && !config_.uplink.forward_user_keys) return;
  uplink::Telemetry t;
  t.key = ev.key;
  t.run_id = ev.run_id;
  t.state = ev.state == RunEvent::State::kRun        ? uplink::Telemetry::State::kRun
            : ev.state == RunEvent::State::kComplete ? uplink::Telemetry::State::kComplete
                                                     : uplink::Telemetry::State::kFail;
  t.ts_ms = unix_ms(ev.ts);
  // One host name for every event of the job: the agent's `hostname:`, whoever reported the run
  // (the wrapper's own uname may differ from it).
  t.host = host_;
  t.environment = !ev.environment.empty() ? ev.environment : m.environment;
  t.exit_code = ev.exit_code;
  t.signal = ev.signal;
  t.oom = ev.oom;
  t.timeout = ev.timeout;
  t.duration_ms = ev.duration_ms;
  t.output_tail = ev.output_tail;
  t.message = ev.message;
  t.metrics = ev.metrics;
  const uplink::MonitorInfo info = upstream_monitor(m);
  if (auto r = deliverer_->enqueue(t, &info, unix_ms(reads_.now()) * 1000); !r)
    spdlog::error("uplink: queueing an event of {}: {}", ev.key, r.error().message);
}

// Faults only the host sees reach the upstream as a failure of the affected monitor (Cronitor
// state=fail with a message, a Healthchecks /fail ping, a Sentry error check-in).
void Upstreams::forward_fault(const Action& a, const MonitorConfig* m) {
  if (!deliverer_ || config_.mode == "standalone" || a.type == Action::Type::kSuppressed) return;
  const Alert::Kind k = a.alert.kind;
  if (k != Alert::Kind::kCronDown && k != Alert::Kind::kRemoved && k != Alert::Kind::kHung) return;
  auto send = [&](const MonitorConfig& mc) {
    if (users_own_key(mc) && !config_.uplink.forward_user_keys) return;
    uplink::Telemetry t;
    t.key = mc.key;
    // Part of the run it concerns (Sentry's check_in_id, Healthchecks' rid, Cronitor's series),
    // or a run of its own: without an id Sentry would close whichever check-in is open.
    t.run_id = a.alert.run_id.empty() ? cronitor::new_run_id() : a.alert.run_id;
    t.state = uplink::Telemetry::State::kFail;
    t.ts_ms = unix_ms(a.alert.at);
    t.host = host_;
    t.environment = mc.environment;
    t.message = a.alert.summary + (a.alert.detail.empty() ? "" : ": " + a.alert.detail);
    const uplink::MonitorInfo info = upstream_monitor(mc);
    if (auto r = deliverer_->enqueue(t, &info, unix_ms(reads_.now()) * 1000); !r)
      spdlog::error("uplink: queueing a fault of {}: {}", mc.key, r.error().message);
    // Sent on the loop's next turn, after the caller's commit: a fault found by a timer has no
    // run event behind it to wake the deliverer.
    deliverer_->kick();
  };
  if (k == Alert::Kind::kCronDown) {
    for (const auto& mc : monitors_)
      if (mc.from_cron) send(mc);
  } else if (m) {
    send(*m);
  }
}

void Upstreams::sync_monitors() {
  if (deliverer_ && config_.uplink.healthchecks && !config_.uplink.healthchecks->api_key.empty()) {
    std::vector<uplink::MonitorInfo> all;
    for (const auto& m : monitors_)
      if (!users_own_key(m) || config_.uplink.forward_user_keys) all.push_back(upstream_monitor(m));
    if (config_.uplink.heartbeat.enabled) all.push_back(uplink::heartbeat_monitor(config_.uplink.heartbeat, host_));
    const std::string path = config_.state_dir + "/healthchecks-checks.json";
    if (!hc_ledger_ || hc_ledger_->path() != path) {
      hc_ledger_ = std::make_unique<uplink::CheckLedger>(path);
      hc_ledger_->load();
    }
    queue_healthchecks_checks(*deliverer_, store_, *hc_ledger_, *config_.uplink.healthchecks, all,
                              unix_ms(reads_.now()) * 1000);
  }
  if (!deliverer_ || !config_.uplink.cronitor || !config_.uplink.cronitor->sync_monitors) return;
  std::vector<uplink::MonitorInfo> list;
  size_t h = 0;
  for (const auto& m : monitors_) {
    if (users_own_key(m) && !config_.uplink.forward_user_keys) continue;
    if (!m.cronitor_key.empty()) continue;  // adopted from `cronitor exec`: its owner set it up in Cronitor
    list.push_back(upstream_monitor(m));
    h = h * 1000003 ^ std::hash<std::string>{}(
                          uplink::to_json(list.back()).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  if (config_.uplink.heartbeat.enabled) {  // the agent's own monitor, a heartbeat with its interval
    list.push_back(uplink::heartbeat_monitor(config_.uplink.heartbeat, host_));
    h = h * 1000003 ^ std::hash<std::string>{}(
                          uplink::to_json(list.back()).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  if (list.empty() || h == synced_hash_) return;
  if (auto r = store_.begin(); !r) return;
  auto r = deliverer_->enqueue_sync(list, unix_ms(reads_.now()) * 1000);
  if (!r || !store_.commit()) {
    store_.rollback();
    spdlog::error("uplink: queueing the monitor upsert failed");
    return;
  }
  synced_hash_ = h;
  deliverer_->kick();
  spdlog::info("uplink: {} monitors queued for upsert", list.size());
}

std::vector<uplink::UpstreamMetrics> Upstreams::metrics() {
  std::vector<uplink::UpstreamMetrics> out;
  if (deliverer_)
    for (const auto& st : deliverer_->stats()) {
      uplink::UpstreamMetrics u{st.name, 0, st.delivered, st.failures, st.rejected, st.dropped, st.stopped};
      u.held_jobs = st.held;
      if (uplink_outbox_)
        if (auto n = uplink_outbox_->depth(st.name)) u.depth = *n;
      out.push_back(u);
    }
  return out;
}

void Upstreams::start_self_heartbeat() {
  self_beat_.reset();
  const auto& hb = config_.uplink.heartbeat;
  if (!deliverer_ || !hb.enabled) return;
  // The first beat now: a restarted agent is seen up at once, and Sentry and Cronitor create the
  // monitor with its schedule before it can be missed.
  sd_event_source* s = nullptr;
  if (sd_event_add_time_relative(ev_, &s, CLOCK_MONOTONIC, 0, 1'000'000, on_self_beat_cb, this) < 0) {
    spdlog::error("uplink: heartbeat timer: cannot be armed; the agent's own liveness is not sent");
    return;
  }
  self_beat_.reset(s);
  const std::string key = uplink::heartbeat_key(hb, host_);
  spdlog::info("uplink: heartbeat {} every {} s (upstreams alert after {} s of silence; uplink.heartbeat)", key,
               hb.interval.count(), (hb.interval + hb.grace).count());
  if (config_.uplink.healthchecks)
    spdlog::info(
        "uplink: healthchecks: give the check {} a period of {} s and a grace of {} s in Healthchecks (a ping "
        "cannot set them{})",
        key, hb.interval.count(), hb.grace.count(),
        config_.uplink.healthchecks->create ? "; create: true makes it with period 1 day and grace 1 hour" : "");
}

int Upstreams::on_self_beat_cb(sd_event_source* s, uint64_t, void* ud) {
  auto* u = static_cast<Upstreams*>(ud);
  u->send_self_heartbeat();
  sd_event_source_set_time(
      s, u->reads_.mono_usec() + static_cast<uint64_t>(u->config_.uplink.heartbeat.interval.count()) * 1'000'000);
  sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
  return 0;
}

void Upstreams::send_self_heartbeat() {
  if (!deliverer_) return;
  const auto& hb = config_.uplink.heartbeat;
  const int64_t now_ms = unix_ms(reads_.now());
  if (auto r = store_.begin(); !r) return;
  auto r = deliverer_->enqueue_heartbeat(uplink::heartbeat_beat(hb, host_, now_ms),
                                         uplink::heartbeat_monitor(hb, host_), now_ms * 1000);
  if (!r || !store_.commit()) {
    store_.rollback();
    spdlog::error("uplink: queueing the heartbeat failed{}", r ? "" : ": " + r.error().message);
    return;
  }
  deliverer_->kick();
}

}  // namespace cronitor::agent
