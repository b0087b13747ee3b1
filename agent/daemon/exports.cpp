// prometheus.textfile: the per-job and per-agent series in a node_exporter textfile, written
// atomically (a new temp file + rename, agent/control/textfile_writer.h) every 15 s from the loop,
// so node_exporter never reads half and a name planted in the folder is never followed.
// prometheus.listen: the same text on GET /metrics (agent/control/metrics_http.h), made per scrape.
// dashboard.listen: the dashboard's routes on the loop's HTTP server (exports.h).
#include "agent/daemon/exports.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "agent/control/metrics_http.h"
#include "agent/control/textfile_writer.h"
#include "agent/dashboard/access.h"
#include "agent/eval/user_limits.h"
#include "agent/sources/host_facts.h"
#include "uplink/prometheus.h"

namespace cronitor::agent {
namespace {

constexpr uint64_t kEveryUsec = 15'000'000;

double seconds(Instant t) { return static_cast<double>(t.time_since_epoch().count()) / 1e6; }

}  // namespace

Exports::Exports(const Config& config, const MonitorTable& monitors, StateStore& store, Reads reads)
    : config_(config), monitors_(monitors), store_(store), reads_(std::move(reads)) {}

Exports::~Exports() = default;

std::optional<Instant> Exports::process_start_time() {
  // The kernel's own record (not the time init() ran): a restart loop shows in Prometheus as a
  // series of start times however fast it is.
  static const std::optional<Instant> started = [] {
    auto st = read_proc_stat(::getpid());
    return st ? process_started_at(*st) : std::nullopt;
  }();
  return started;
}

void Exports::start(sd_event* ev, bool seed) {
  ev_ = ev;
  if (seed) seed_run_counts();  // nothing counted yet: the history is the count
  const std::string& listen = config_.prometheus.listen;
  if (metrics_http_ && metrics_http_->address() != listen) metrics_http_.reset();
  if (!listen.empty() && !metrics_http_) {
    auto server = MetricsHttp::start(ev_, listen, [this] { return metrics_text(); });
    if (!server) {
      // The jobs are still watched: a busy port costs the scrape (Prometheus' "agent down"
      // alert says so), not the monitoring.
      spdlog::error("{} (in \"{}\"); /metrics is not served", server.error().message, config_.source);
    } else {
      metrics_http_ = std::move(*server);
      spdlog::info("prometheus: serving http://{}/metrics", listen);
    }
  }
  start_dashboard();
  if (config_.prometheus.textfile.empty() || metrics_timer_) return;
  sd_event_source* s = nullptr;
  if (sd_event_add_time_relative(ev_, &s, CLOCK_MONOTONIC, 0, 1'000'000, on_metrics_cb, this) >= 0)
    metrics_timer_.reset(s);
}

void Exports::count_run(const RunEvent& ev) {
  if (ev.state == RunEvent::State::kComplete) ++run_counts_[ev.key].success;
  if (ev.state == RunEvent::State::kFail) ++run_counts_[ev.key].failure;
  if (ev.state == RunEvent::State::kUnknown) ++run_counts_[ev.key].unknown;
  if (metrics_timer_) {  // a run changed the series: the textfile follows within a second
    uint64_t at = 0;
    const uint64_t soon = reads_.mono_usec() + 1'000'000;
    sd_event_source_get_time(metrics_timer_.get(), &at);
    if (at > soon) sd_event_source_set_time(metrics_timer_.get(), soon);
  }
}

int Exports::on_metrics_cb(sd_event_source* s, uint64_t, void* ud) {
  auto* e = static_cast<Exports*>(ud);
  e->write_metrics();
  sd_event_source_set_time(s, e->reads_.mono_usec() + kEveryUsec);
  sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
  return 0;
}

void Exports::seed_run_counts() {
  // Every finished run state.db keeps (retention: keep_runs, keep_days), so the counter carries
  // over an agent restart; a prune between restarts lowers it, which Prometheus reads as a reset.
  auto st = store_.db().prepare(
      "SELECT key, sum(status = 'ok'), sum(status = 'failed'), sum(status = 'unknown') FROM runs WHERE has_end = 1 "
      "GROUP BY key");
  if (!st) {
    spdlog::warn("cronitor_job_runs_total: reading state.db: {}; counting from now", st.error().message);
    return;
  }
  run_counts_.clear();
  for (;;) {
    auto row = st->step();
    if (!row || !*row) break;
    run_counts_[st->text(0)] = {static_cast<uint64_t>(st->i64(1)), static_cast<uint64_t>(st->i64(2)),
                                static_cast<uint64_t>(st->i64(3))};
  }
}

void Exports::write_metrics() {
  const std::string& path = config_.prometheus.textfile;
  if (path.empty()) return;
  auto r = write_textfile(path, metrics_text());
  // One warning per cause, not one every 15 s: the next differing error, or success, resets it.
  if (!r && r.error().message != textfile_error_)
    spdlog::warn("prometheus.textfile \"{}\": {}; not written", path, r.error().message);
  if (r && !textfile_error_.empty()) spdlog::info("prometheus.textfile \"{}\": written again", path);
  textfile_error_ = r ? std::string() : r.error().message;
}

std::string Exports::metrics_text() const {
  std::vector<uplink::JobMetrics> jobs;
  jobs.reserve(monitors_.size());
  for (uint32_t i = 0; i < monitors_.size(); ++i) {
    const MonitorConfig& m = monitors_.config(i);
    const MonitorState& s = monitors_.state(i);
    uplink::JobMetrics j;
    j.key = m.key;
    j.name = m.name;
    j.source = m.source();
    // Any local user reads /metrics and the textfile: users' own jobs by key only (user_limits.h).
    if (!metrics_view(m, config_.prometheus.user_jobs, j.name, j.source)) continue;
    j.user = m.user;
    if (s.last_start) j.last_start_s = seconds(*s.last_start);
    if (s.last_duration_ms) j.last_duration_s = static_cast<double>(*s.last_duration_ms) / 1000;
    j.last_exit_code = s.last_exit_code;
    if (auto d = monitors_.deadline_of(i)) j.next_deadline_s = seconds(*d);
    j.incident_open = s.incident.has_value();
    j.consecutive_misses = s.consecutive_misses;
    if (auto it = run_counts_.find(m.key); it != run_counts_.end()) j.runs = it->second;
    jobs.push_back(std::move(j));
  }
  uplink::AgentMetrics a = reads_.agent();
  a.written_s = seconds(reads_.now());
  if (auto t = process_start_time()) a.start_s = seconds(*t);
  return uplink::render_metrics(jobs, a);
}

void Exports::start_dashboard() {
  const std::string& listen = config_.dashboard.listen;
  if (dashboard_http_ && dashboard_http_->address() != listen) dashboard_http_.reset();
  if (listen.empty() || dashboard_http_) return;
  const std::string token_path = config_.state_dir + "/" + std::string(dashboard::kTokenFile);
  if (auto t = dashboard::load_or_create_token(token_path); !t) {
    spdlog::error("dashboard: {}; the dashboard is not served", t.error().message);
    return;
  }
  if (!dashboard_)
    dashboard_ = std::make_unique<dashboard::DashboardServer>(token_path, reads_.dashboard_data(), CRONITOR_VERSION);
  auto server = MetricsHttp::serve(
      ev_, listen, [this](const MetricsHttp::Request& r) { return dashboard_->handle(r, reads_.now()); },
      "dashboard.listen", MetricsHttp::Limits{});
  if (!server) {
    spdlog::error("{} (in \"{}\"); the dashboard is not served", server.error().message, config_.source);
    return;
  }
  dashboard_http_ = std::move(*server);
  // A non-loopback address loads only with dashboard.allow_remote: true (agent/config/config_uplink.cpp).
  if (auto a = parse_listen_address(listen); a && !a->loopback())
    spdlog::warn(
        "dashboard: listening on {}, not a loopback address (dashboard.allow_remote): anyone who can reach it may "
        "try the login, and the pages travel unencrypted",
        listen);
  spdlog::info("dashboard: serving http://{}/ (cronitor-agent dashboard prints the login URL)", listen);
}

}  // namespace cronitor::agent
