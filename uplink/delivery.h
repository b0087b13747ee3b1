// Sends the outbox's rows to the upstreams with libcurl's multi interface, driven by the caller's
// sd-event loop (curl_multi_socket_action from io and timer sources: no thread, no blocking).
// Per upstream: a bounded number of requests in flight, exponential back-off with jitter after a
// failure (Retry-After wins), one probe request while the circuit is half-open, a permanent
// refusal (401/403/404) stops it and is reported. Per job: one request at a time, in queue order,
// so that a run's end never overtakes its start. The queue is bounded in size and age per
// upstream; what is dropped is counted and logged.
#pragma once

#include <systemd/sd-event.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "uplink/outbox.h"
#include "uplink/settings.h"
#include "uplink/upstream.h"

namespace cronitor::uplink {

/// A job held back from an upstream: the server refused its check (404, 409, 410).
struct HeldJob {
  std::string job;
  long status = 0;
  int64_t since_ms = 0;  // the first refusal (Unix time)
  std::string url;       // as refused, secrets masked
  std::string answer;    // the start of the server's answer, as the server worded it
};

struct UpstreamStats {
  std::string name;
  uint64_t delivered = 0;  // rows accepted by the upstream
  uint64_t failures = 0;   // attempts that will be retried (network, 5xx, 429, timeout)
  uint64_t rejected = 0;   // rows the upstream will never take (400, 413, 422): dropped
  uint64_t held = 0;       // jobs held back now: the upstream refused their check (404, 409, 410)
  uint64_t dropped = 0;    // rows dropped for the size and age bounds
  bool stopped = false;    // refused with a permanent status
  long stop_status = 0;
  std::vector<HeldJob> held_jobs;  // the jobs counted in `held`, by job
};

class Deliverer {
 public:
  /// A refusal: `job` empty when the whole upstream stopped (a bad key), else the one job (check,
  /// monitor, slug) held back while the others flow. `url` has its secrets masked; `answer` is
  /// the start of the server's answer, as the server worded it.
  struct Refusal {
    std::string upstream, job;
    long status = 0;
    std::string url, answer;
  };
  /// Called once when an upstream stops, and once when it starts holding back a job.
  using StopHandler = std::function<void(const Refusal&)>;
  using Log = std::function<void(int level, const std::string& message)>;  // 0 info, 1 warn, 2 error

  [[nodiscard]] static Result<std::unique_ptr<Deliverer>> create(sd_event* ev, Outbox& outbox,
                                                                 std::vector<std::unique_ptr<Upstream>> upstreams,
                                                                 DeliverySettings settings, StopHandler on_stop,
                                                                 Log log);
  ~Deliverer();
  Deliverer(const Deliverer&) = delete;
  Deliverer& operator=(const Deliverer&) = delete;

  /// Queues one run event for every upstream; inside the caller's transaction.
  [[nodiscard]] Result<void> enqueue(const Telemetry& t, const MonitorInfo* monitor, int64_t now_us);
  /// Queues the agent's own heartbeat for every upstream, in place of its beats still queued
  /// (an unreachable upstream gets the newest beat when it is back, not an hour of them).
  [[nodiscard]] Result<void> enqueue_heartbeat(const Telemetry& t, const MonitorInfo& monitor, int64_t now_us);
  /// Queues a monitor upsert for the upstreams that have one (Cronitor), in chunks.
  [[nodiscard]] Result<void> enqueue_sync(const std::vector<MonitorInfo>& monitors, int64_t now_us);
  /// Queues the upsert of each job's check for the upstreams that have one (Healthchecks'
  /// Management API), in the job's own queue: it goes before the job's next events.
  [[nodiscard]] Result<void> enqueue_checks(const std::vector<MonitorInfo>& monitors, int64_t now_us);
  /// Rows were committed: look for work on the next loop iteration.
  void kick();
  std::vector<UpstreamStats> stats() const;
  /// Nothing in flight and no look for work pending: a completion that made more work (a check
  /// created, then its job's pings) has started it.
  bool idle() const;

  struct Impl;

 private:
  explicit Deliverer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cronitor::uplink
