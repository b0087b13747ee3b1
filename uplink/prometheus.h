// Prometheus text exposition of the per-job and per-agent series (for a node_exporter textfile
// or /metrics). Pure: the daemon gathers the numbers, this writes the text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cronitor::uplink {

struct JobMetrics {
  std::string key, name, source, user;
  std::optional<double> last_start_s, last_duration_s, next_deadline_s;
  std::optional<int> last_exit_code;
  uint64_t runs_success = 0, runs_failure = 0;
  int consecutive_misses = 0;  // slots passed (grace included) without a run, since the latest run
  bool incident_open = false;
};

struct UpstreamMetrics {
  std::string name;
  int64_t depth = 0;
  uint64_t delivered = 0, failures = 0, rejected = 0, dropped = 0;
  bool stopped = false;
  uint64_t held_jobs = 0;  // jobs held back: the upstream refused their check (404, 409, 410)
};

struct AgentMetrics {
  uint64_t events_received = 0;
  uint64_t inotify_rescans = 0;
  double written_s = 0;  // when this text was made (a stale textfile: the agent is down)
  std::vector<UpstreamMetrics> upstreams;
};

std::string render_metrics(const std::vector<JobMetrics>& jobs, const AgentMetrics& agent);

}  // namespace cronitor::uplink
