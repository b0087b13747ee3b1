// What leaves the host about a job: one run event (Telemetry) and a job's settings (MonitorInfo),
// independent of the agent's own types so that uplink/ includes nothing from agent/.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

namespace cronitor::uplink {

struct Telemetry {
  enum class State { kRun, kComplete, kFail };
  std::string key;
  std::string run_id;  // the same for a run's start and end
  State state = State::kRun;
  int64_t ts_ms = 0;  // when it happened (Unix ms), so late events keep their time
  std::string host;
  std::string environment;
  std::optional<int> exit_code;
  std::string signal;  // "SIGKILL" or empty
  bool oom = false;
  bool timeout = false;
  std::optional<int64_t> duration_ms;
  std::string output_tail;
  std::string message;  // a host-side fault or why the command could not start
  std::map<std::string, double> metrics;
};

/// A job's settings as upstreams want them (Cronitor's monitor API, Sentry's monitor_config).
struct MonitorInfo {
  std::string key, name;
  std::string type = "job";
  std::string schedule;  // cron text, "every 5 minutes", or empty (no schedule)
  std::string timezone;
  int64_t grace_seconds = 60;
  int failure_tolerance = 0, schedule_tolerance = 0, consecutive_alert_threshold = 1, recovery_threshold = 1;
  std::optional<int64_t> max_runtime_seconds;
  std::vector<std::string> assertions, notify;
  std::string note;  // "defined in FILE:LINE on HOST"
  std::string slug;  // Healthchecks/Sentry slug override; empty: from the key
  /// A job adopted from an upstream's own tool (`wrap --adopt`) keeps that upstream's check:
  /// Cronitor's monitor key, a Healthchecks check by UUID or slug, Sentry's monitor slug (each
  /// wins over the key and `slug` for its upstream only). Empty: not set.
  std::string cronitor_key, healthchecks_uuid, healthchecks_slug, sentry_slug;
};

const char* state_name(Telemetry::State s);
/// "exit 137 (SIGKILL, killed by the OOM killer)" and friends: the one-line outcome of a run.
std::string outcome_line(const Telemetry& t);

// The outbox stores these as JSON; formats are applied when a row is sent, so a fixed key
// or URL in the config applies to what is still queued.
nlohmann::json to_json(const Telemetry& t);
nlohmann::json to_json(const MonitorInfo& m);
[[nodiscard]] std::optional<Telemetry> telemetry_from_json(const nlohmann::json& j);
[[nodiscard]] std::optional<MonitorInfo> monitor_from_json(const nlohmann::json& j);

}  // namespace cronitor::uplink
