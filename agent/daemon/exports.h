// Exports: what the daemon shows outside the socket. prometheus.textfile (a node_exporter
// textfile rewritten every 15 s), prometheus.listen (/metrics made per scrape) and
// dashboard.listen (the dashboard's routes, agent/dashboard/). The part owns the textfile timer,
// both HTTP servers, the dashboard's routes and sessions, and the per-job run counters
// (cronitor_job_runs_total). It reads the daemon's config, its monitor table (configs, states, deadlines)
// and state.db; the agent's own series and the dashboard's data sources come from the daemon.
#pragma once

#include <systemd/sd-event.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/config/config.h"
#include "agent/daemon/monitor_table.h"
#include "agent/dashboard/dashboard_server.h"
#include "agent/eval/evaluator.h"
#include "agent/state/state_store.h"
#include "common/event_source.h"
#include "uplink/prometheus.h"

namespace cronitor::agent {

class MetricsHttp;

class Exports {
 public:
  struct Reads {
    std::function<Instant()> now;
    std::function<uint64_t()> mono_usec;  // the loop's CLOCK_MONOTONIC time, for the textfile timer
    /// The agent's own series but its start and the time written: events, rescans, the loop's
    /// last sign of life, the upstreams.
    std::function<uplink::AgentMetrics()> agent;
    /// The dashboard's sources and actions (agent/daemon/dashboard_serve.cpp), once, when it starts.
    std::function<dashboard::DashboardServer::Data()> dashboard_data;
  };
  /// The per-job series read each monitor's config, state and deadline in `monitors`.
  Exports(const Config& config, const MonitorTable& monitors, StateStore& store, Reads reads);
  ~Exports();
  Exports(const Exports&) = delete;
  Exports& operator=(const Exports&) = delete;

  /// (Re)starts what the config asks on `ev` (at start and reload: a new address or textfile);
  /// `seed`: the run counters start from state.db's history (nothing counted yet).
  void start(sd_event* ev, bool seed);
  /// A stored run event: its counter, and the textfile follows within a second.
  void count_run(const RunEvent& ev);
  /// The Prometheus text of the monitors and the agent, as /metrics and the textfile serve it.
  std::string metrics_text() const;
  /// The kernel's record of when this process started (not when init() ran).
  static std::optional<Instant> process_start_time();

 private:
  void seed_run_counts();  // cronitor_job_runs_total from state.db's runs, once at start
  void write_metrics();
  void start_dashboard();
  static int on_metrics_cb(sd_event_source*, uint64_t, void*);

  const Config& config_;
  const MonitorTable& monitors_;
  StateStore& store_;
  Reads reads_;
  sd_event* ev_ = nullptr;
  EventSource metrics_timer_;  // prometheus.textfile: rewritten every 15 s
  // The last prometheus.textfile failure, warned about once.
  std::string textfile_error_;
  std::unique_ptr<MetricsHttp> metrics_http_;                      // prometheus.listen
  std::unique_ptr<dashboard::DashboardServer> dashboard_;          // the dashboard's routes and sessions
  std::unique_ptr<MetricsHttp> dashboard_http_;                    // dashboard.listen: ends before its routes
  std::unordered_map<std::string, uplink::RunCounts> run_counts_;  // by key
};

}  // namespace cronitor::agent
