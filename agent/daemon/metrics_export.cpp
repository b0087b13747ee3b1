// prometheus.textfile: the per-job and per-agent series in a node_exporter textfile, written
// atomically (temp file + rename) every 15 s from the loop, so node_exporter never reads half.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>

#include "agent/daemon/daemon.h"
#include "uplink/prometheus.h"

namespace cronitor::agent {
namespace {

constexpr uint64_t kEveryUsec = 15'000'000;

double seconds(Instant t) { return static_cast<double>(t.time_since_epoch().count()) / 1e6; }

}  // namespace

void Daemon::start_metrics() {
  if (!config_.prometheus.listen.empty())
    spdlog::warn(
        "prometheus.listen: the HTTP endpoint is not in this build yet; use prometheus.textfile "
        "with node_exporter's textfile collector");
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

void Daemon::write_metrics() {
  const std::string& path = config_.prometheus.textfile;
  if (path.empty()) return;
  std::vector<uplink::JobMetrics> jobs;
  jobs.reserve(monitors_.size());
  for (uint32_t i = 0; i < monitors_.size(); ++i) {
    const MonitorConfig& m = monitors_[i];
    const MonitorState& s = states_[i];
    uplink::JobMetrics j;
    j.key = m.key;
    j.name = m.name;
    j.source = m.source();
    j.user = m.user;
    if (s.last_start) j.last_start_s = seconds(*s.last_start);
    if (s.last_duration_ms) j.last_duration_s = static_cast<double>(*s.last_duration_ms) / 1000;
    j.last_exit_code = s.last_exit_code;
    if (i < deadline_of_.size() && deadline_of_[i]) j.next_deadline_s = seconds(*deadline_of_[i]);
    j.incident_open = s.incident.has_value();
    if (auto it = run_counts_.find(m.key); it != run_counts_.end())
      j.runs_success = it->second.first, j.runs_failure = it->second.second;
    jobs.push_back(std::move(j));
  }
  uplink::AgentMetrics a;
  a.events_received = events_stored_;
  a.inotify_rescans = rescans_;
  a.written_s = seconds(now());
  if (deliverer_)
    for (const auto& st : deliverer_->stats()) {
      uplink::UpstreamMetrics u{st.name, 0, st.delivered, st.failures, st.rejected, st.dropped, st.stopped};
      if (uplink_outbox_)
        if (auto n = uplink_outbox_->depth(st.name)) u.depth = *n;
      a.upstreams.push_back(u);
    }
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << uplink::render_metrics(jobs, a);
    if (!out.flush()) {
      spdlog::warn("prometheus.textfile \"{}\": cannot write", tmp);
      return;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    spdlog::warn("prometheus.textfile: rename to \"{}\": {}", path, std::strerror(errno));
}

}  // namespace cronitor::agent
