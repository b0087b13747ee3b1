// Prometheus text exposition of the per-job and per-agent series (for a node_exporter textfile
// or /metrics). Pure: the daemon gathers the numbers, this writes the text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cronitor::uplink {

/// Finished runs of a job by outcome. `unknown`: ended without anyone seeing how (cron's log at
/// -L 1 logs only starts), neither a success nor a failure.
struct RunCounts {
  uint64_t success = 0, failure = 0, unknown = 0;
};

struct JobMetrics {
  std::string key, name, source, user;
  std::optional<double> last_start_s, last_duration_s, next_deadline_s;
  std::optional<int> last_exit_code;
  RunCounts runs;
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
  double written_s = 0;               // when this text was made (a stale textfile: the agent is down)
  std::optional<double> start_s;      // when the agent's process started (a restart loop shows)
  std::optional<double> last_loop_s;  // the loop's last stamp of its own liveness (every 60 s)
  std::vector<UpstreamMetrics> upstreams;
};

std::string render_metrics(const std::vector<JobMetrics>& jobs, const AgentMetrics& agent);

}  // namespace cronitor::uplink
