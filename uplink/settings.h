// The `uplink:` and `prometheus:` settings of agent.yaml, as plain data (agent/config parses them).
// Every URL is configurable so that tests point them at 127.0.0.1.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cronitor::uplink {

struct CronitorSettings {
  std::string api_key;
  std::string telemetry_url = "https://cronitor.link";
  std::string api_url = "https://cronitor.io/api";
  bool sync_monitors = true;
  std::string environment;
};

struct HealthchecksSettings {
  std::string ping_key;
  std::string ping_url = "https://hc-ping.com";
  // ?create=1: unknown slugs are provisioned on their first ping, with the server's default
  // schedule (period 1 day, grace 1 hour), not the job's: only when asked for.
  bool create = false;
  // The project's API key (read-write, 32 characters): each job's check is created or updated
  // through the Management API with its schedule, zone and grace (uplink/healthchecks_api.h).
  std::string api_key;
  std::string api_url = "https://healthchecks.io";
  size_t body_limit = 10000;  // the output tail sent as the body, last N bytes (runitor's default)
};

struct SentrySettings {
  std::string dsn;
  std::string environment = "production";
};

/// How every upstream is fed from the outbox.
struct DeliverySettings {
  std::chrono::milliseconds timeout{10000};  // per request, connect included
  int64_t max_events = 250000;               // queued per upstream; the oldest go first
  std::chrono::seconds max_age{7 * 24 * 3600};
  int concurrency = 32;  // requests in flight per upstream
  std::chrono::milliseconds backoff_base{1000}, backoff_max{300000};
};

/// The agent's own liveness upstream (`uplink.heartbeat`): a monitor of its own that the agent
/// pings every `interval`, so the upstream alerts when the host or the agent goes silent.
struct HeartbeatSettings {
  bool enabled = true;                // `heartbeat: false` turns it off
  std::string key;                    // empty: "cronitor-agent-" + the host name, as a slug
  std::chrono::seconds interval{60};  // whole minutes: what Sentry's interval schedule takes
  std::chrono::seconds grace{120};    // after a missed beat, before the upstream alerts
};

struct UplinkSettings {
  std::optional<CronitorSettings> cronitor;
  std::optional<HealthchecksSettings> healthchecks;
  std::optional<SentrySettings> sentry;
  DeliverySettings delivery;
  HeartbeatSettings heartbeat;
  /// Keys that no crontab or agent.yaml defines, reported first by a user other than root (their
  /// own `cronitor-exec KEY`), go upstream too: off by default, as they would create checks under
  /// the host's API key that root never defined (agent/README.md, "Security model").
  bool forward_user_keys = false;
  bool any() const { return cronitor || healthchecks || sentry; }
};

struct PrometheusSettings {
  std::string listen;    // "127.0.0.1:9321": /metrics over HTTP
  std::string textfile;  // or a node_exporter textfile, rewritten atomically
  /// What the series show of jobs users defined (their crontab, their own keys), which any local
  /// user can read here: "key" (key and user; no name or source), "all", or "none".
  std::string user_jobs = "key";
  bool enabled() const { return !listen.empty() || !textfile.empty(); }
};

/// `text` with every non-empty secret replaced by its first 4 characters and "…": what logs show.
std::string mask(std::string text, const std::vector<std::string>& secrets);

}  // namespace cronitor::uplink
