// Upstreams: every stored run event queued for each upstream (Cronitor, Healthchecks, Sentry) in
// the daemon's transaction, so it is durable before the wrapper's ack; discovered jobs upserted;
// host-side faults sent up as failures; the agent's own heartbeat (issue 17). The part owns
// state.db's uplink outbox, the deliverer that drains it on the loop, the Healthchecks check
// ledger, the heartbeat timer and the per-job schedules as upstreams take them. It reads the
// daemon's config, host name, monitors and state.db; an upstream that refuses us for good is
// handed back to the daemon, which raises the local alert.
#pragma once

#include <systemd/sd-event.h>

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "agent/config/config.h"
#include "agent/daemon/monitor_table.h"
#include "agent/eval/evaluator.h"
#include "agent/state/state_store.h"
#include "common/event_source.h"
#include "uplink/delivery.h"
#include "uplink/healthchecks_api.h"
#include "uplink/prometheus.h"
#include "uplink/upstream_schedule.h"

namespace cronitor::agent {

class Upstreams {
 public:
  struct Reads {
    std::function<Instant()> now;
    std::function<uint64_t()> mono_usec;  // the loop's CLOCK_MONOTONIC time, for the heartbeat timer
    /// An upstream stopped taking our events (a bad key, a refused check): the daemon alerts.
    std::function<void(const uplink::Deliverer::Refusal&)> stopped;
  };

  Upstreams(const Config& config, const std::string& host, const MonitorTable& monitors, StateStore& store, Reads reads)
      : config_(config), host_(host), monitors_(monitors), store_(store), reads_(std::move(reads)) {}
  Upstreams(const Upstreams&) = delete;
  Upstreams& operator=(const Upstreams&) = delete;

  /// (Re)starts forwarding on `ev` as the config says (at start and reload: new keys and URLs, and
  /// a stopped upstream gets another chance); nothing when no upstream is set.
  void start(sd_event* ev);
  bool active() const { return deliverer_ != nullptr; }
  /// A stored run event of `m`, queued in the caller's transaction.
  void forward(const RunEvent& ev, const MonitorConfig& m);
  /// A fault only the host sees (cron down, a job removed, a hung run) as a failure upstream.
  void forward_fault(const Action& a, const MonitorConfig* m);
  /// The monitors as upstreams see them, upserted when they changed (Cronitor, Healthchecks).
  void sync_monitors();
  /// Events were committed: the deliverer sends them on the loop's next turn.
  void kick() {
    if (deliverer_) deliverer_->kick();
  }
  std::vector<uplink::UpstreamStats> stats() const {
    return deliverer_ ? deliverer_->stats() : std::vector<uplink::UpstreamStats>{};
  }
  /// The events waiting for `upstream` in state.db.
  Result<int64_t> depth(const std::string& upstream) {
    return uplink_outbox_ ? uplink_outbox_->depth(upstream) : Result<int64_t>(0);
  }
  /// Each upstream's counters and backlog, for Prometheus.
  std::vector<uplink::UpstreamMetrics> metrics();
  /// Tests on a simulated clock (agent/daemon/daemon_clock.cpp): the heartbeat's timer as
  /// advance_timers() fires it (null when none beats).
  sd_event_source* heartbeat_timer() const { return self_beat_.get(); }
  static int fire_heartbeat(sd_event_source* s, uint64_t usec, void* ud) { return on_self_beat_cb(s, usec, ud); }

 private:
  /// A monitor as upstreams see it; its schedule in a form they take (warns once per job when none).
  uplink::MonitorInfo upstream_monitor(const MonitorConfig& m);
  void start_self_heartbeat();
  void send_self_heartbeat();
  static int on_self_beat_cb(sd_event_source*, uint64_t, void*);

  const Config& config_;
  const std::string& host_;
  const MonitorTable& monitors_;
  StateStore& store_;
  Reads reads_;
  sd_event* ev_ = nullptr;
  std::unique_ptr<uplink::Outbox> uplink_outbox_;
  std::unique_ptr<uplink::Deliverer> deliverer_;    // declared after the outbox: ends first
  std::unique_ptr<uplink::CheckLedger> hc_ledger_;  // Healthchecks checks last queued
  size_t synced_hash_ = 0;                          // the monitors last queued for upsert
  EventSource self_beat_;                           // uplink.heartbeat: the agent's own beat
  // Per job: the schedule and zone last translated for upstreams ("text|zone|anchor" -> result),
  // so the host's zone files are read once per job and reload, and its warning said once.
  std::unordered_map<std::string, std::pair<std::string, uplink::UpstreamSchedule>> upstream_schedules_;
};

}  // namespace cronitor::agent
