// prometheus.textfile: the per-job and per-agent series in a node_exporter textfile, written
// atomically (a new temp file + rename, agent/control/textfile_writer.h) every 15 s from the loop,
// so node_exporter never reads half and a name planted in the folder is never followed.
// prometheus.listen: the same text on GET /metrics (agent/control/metrics_http.h), made per scrape.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "agent/control/metrics_http.h"
#include "agent/control/textfile_writer.h"
#include "agent/daemon/daemon.h"
#include "agent/eval/user_limits.h"
#include "uplink/prometheus.h"

namespace cronitor::agent {
namespace {

constexpr uint64_t kEveryUsec = 15'000'000;

double seconds(Instant t) { return static_cast<double>(t.time_since_epoch().count()) / 1e6; }

}  // namespace

void Daemon::start_metrics() {
  if (events_stored_ == 0) seed_run_counts();  // nothing counted yet: the history is the count
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
  if (config_.prometheus.textfile.empty() || metrics_src_) return;
  sd_event_add_time_relative(ev_, &metrics_src_, CLOCK_MONOTONIC, 0, 1'000'000, on_metrics_cb, this);
}

int Daemon::on_metrics_cb(sd_event_source* s, uint64_t, void* ud) {
  auto* d = static_cast<Daemon*>(ud);
  d->write_metrics();
  sd_event_source_set_time(s, d->mono_usec() + kEveryUsec);
  sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
  return 0;
}

void Daemon::seed_run_counts() {
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

void Daemon::write_metrics() {
  const std::string& path = config_.prometheus.textfile;
  if (path.empty()) return;
  auto r = write_textfile(path, metrics_text());
  // One warning per cause, not one every 15 s: the next differing error, or success, resets it.
  if (!r && r.error().message != textfile_error_)
    spdlog::warn("prometheus.textfile \"{}\": {}; not written", path, r.error().message);
  if (r && !textfile_error_.empty()) spdlog::info("prometheus.textfile \"{}\": written again", path);
  textfile_error_ = r ? std::string() : r.error().message;
}

std::string Daemon::metrics_text() {
  std::vector<uplink::JobMetrics> jobs;
  jobs.reserve(monitors_.size());
  for (uint32_t i = 0; i < monitors_.size(); ++i) {
    const MonitorConfig& m = monitors_[i];
    const MonitorState& s = states_[i];
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
    if (i < deadline_of_.size() && deadline_of_[i]) j.next_deadline_s = seconds(*deadline_of_[i]);
    j.incident_open = s.incident.has_value();
    j.consecutive_misses = s.consecutive_misses;
    if (auto it = run_counts_.find(m.key); it != run_counts_.end()) j.runs = it->second;
    jobs.push_back(std::move(j));
  }
  uplink::AgentMetrics a;
  a.events_received = events_stored_;
  a.inotify_rescans = rescans_;
  a.written_s = seconds(now());
  if (auto t = process_start_time()) a.start_s = seconds(*t);
  if (host_state_.last_seen) a.last_loop_s = seconds(*host_state_.last_seen);
  if (deliverer_)
    for (const auto& st : deliverer_->stats()) {
      uplink::UpstreamMetrics u{st.name, 0, st.delivered, st.failures, st.rejected, st.dropped, st.stopped};
      u.held_jobs = st.held;
      if (uplink_outbox_)
        if (auto n = uplink_outbox_->depth(st.name)) u.depth = *n;
      a.upstreams.push_back(u);
    }
  return uplink::render_metrics(jobs, a);
}

}  // namespace cronitor::agent
