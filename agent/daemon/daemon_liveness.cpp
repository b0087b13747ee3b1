// The agent's own liveness (issue 17: "the agent is never down without someone knowing"): with an
// upstream set, a heartbeat of the agent's own monitor every `uplink.heartbeat.interval`, queued in
// state.db's outbox in place of any beat still waiting (uplink/self_heartbeat.h); for Prometheus,
// the process's start time and the loop's last sign of life (agent/daemon/metrics_export.cpp).
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "agent/daemon/daemon.h"
#include "agent/sources/host_facts.h"
#include "uplink/self_heartbeat.h"

namespace cronitor::agent {

std::optional<Instant> Daemon::process_start_time() {
  // The kernel's own record (not the time init() ran): a restart loop shows in Prometheus as a
  // series of start times however fast it is.
  static const std::optional<Instant> started = [] {
    auto st = read_proc_stat(::getpid());
    return st ? process_started_at(*st) : std::nullopt;
  }();
  return started;
}

void Daemon::start_self_heartbeat() {
  self_beat_src_ = sd_event_source_disable_unref(self_beat_src_);
  const auto& hb = config_.uplink.heartbeat;
  if (!deliverer_ || !hb.enabled) return;
  // The first beat now: a restarted agent is seen up at once, and Sentry and Cronitor create the
  // monitor with its schedule before it can be missed.
  if (sd_event_add_time_relative(ev_, &self_beat_src_, CLOCK_MONOTONIC, 0, 1'000'000, on_self_beat_cb, this) < 0) {
    spdlog::error("uplink: heartbeat timer: cannot be armed; the agent's own liveness is not sent");
    return;
  }
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

int Daemon::on_self_beat_cb(sd_event_source* s, uint64_t, void* ud) {
  auto* d = static_cast<Daemon*>(ud);
  d->send_self_heartbeat();
  sd_event_source_set_time(
      s, d->mono_usec() + static_cast<uint64_t>(d->config_.uplink.heartbeat.interval.count()) * 1'000'000);
  sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
  return 0;
}

void Daemon::send_self_heartbeat() {
  if (!deliverer_) return;
  const auto& hb = config_.uplink.heartbeat;
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now().time_since_epoch()).count();
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
