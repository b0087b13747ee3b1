#include "uplink/telemetry.h"

#include <nlohmann/json.hpp>

namespace cronitor::uplink {

using nlohmann::json;

const char* state_name(Telemetry::State s) {
  switch (s) {
    case Telemetry::State::kRun:
      return "run";
    case Telemetry::State::kComplete:
      return "complete";
    case Telemetry::State::kFail:
      return "fail";
  }
  return "?";
}

std::string outcome_line(const Telemetry& t) {
  std::string out;
  if (t.exit_code) out = "exit " + std::to_string(*t.exit_code);
  std::string why;
  auto add = [&](const std::string& s) { why += (why.empty() ? "" : ", ") + s; };
  if (!t.signal.empty()) add(t.signal);
  if (t.oom) add("killed by the OOM killer");
  if (t.timeout) add("timed out");
  if (!why.empty()) out += (out.empty() ? "" : " ") + ("(" + why + ")");
  if (!t.message.empty()) out += (out.empty() ? "" : ": ") + t.message;
  return out;
}

json to_json(const Telemetry& t) {
  json j = {{"key", t.key}, {"run_id", t.run_id}, {"state", state_name(t.state)}, {"ts_ms", t.ts_ms}, {"host", t.host}};
  if (!t.environment.empty()) j["env"] = t.environment;
  if (t.exit_code) j["exit_code"] = *t.exit_code;
  if (!t.signal.empty()) j["signal"] = t.signal;
  if (t.oom) j["oom"] = true;
  if (t.timeout) j["timeout"] = true;
  if (t.duration_ms) j["duration_ms"] = *t.duration_ms;
  if (!t.output_tail.empty()) j["output_tail"] = t.output_tail;
  if (!t.message.empty()) j["message"] = t.message;
  if (!t.metrics.empty()) j["metrics"] = t.metrics;
  return j;
}

json to_json(const MonitorInfo& m) {
  json j = {{"key", m.key},
            {"name", m.name},
            {"type", m.type},
            {"schedule", m.schedule},
            {"timezone", m.timezone},
            {"grace_seconds", m.grace_seconds},
            {"failure_tolerance", m.failure_tolerance},
            {"schedule_tolerance", m.schedule_tolerance},
            {"consecutive_alert_threshold", m.consecutive_alert_threshold},
            {"recovery_threshold", m.recovery_threshold},
            {"assertions", m.assertions},
            {"notify", m.notify},
            {"note", m.note}};
  if (m.max_runtime_seconds) j["max_runtime_seconds"] = *m.max_runtime_seconds;
  if (!m.slug.empty()) j["slug"] = m.slug;
  if (!m.cronitor_key.empty()) j["cronitor_key"] = m.cronitor_key;
  if (!m.healthchecks_uuid.empty()) j["healthchecks_uuid"] = m.healthchecks_uuid;
  if (!m.healthchecks_slug.empty()) j["healthchecks_slug"] = m.healthchecks_slug;
  if (!m.sentry_slug.empty()) j["sentry_slug"] = m.sentry_slug;
  return j;
}

std::optional<Telemetry> telemetry_from_json(const json& j) {
  try {
    Telemetry t;
    t.key = j.at("key").get<std::string>();
    t.run_id = j.value("run_id", "");
    const std::string s = j.at("state").get<std::string>();
    t.state = s == "run"        ? Telemetry::State::kRun
              : s == "complete" ? Telemetry::State::kComplete
                                : Telemetry::State::kFail;
    t.ts_ms = j.value("ts_ms", int64_t{0});
    t.host = j.value("host", "");
    t.environment = j.value("env", "");
    if (j.contains("exit_code")) t.exit_code = j["exit_code"].get<int>();
    t.signal = j.value("signal", "");
    t.oom = j.value("oom", false);
    t.timeout = j.value("timeout", false);
    if (j.contains("duration_ms")) t.duration_ms = j["duration_ms"].get<int64_t>();
    t.output_tail = j.value("output_tail", "");
    t.message = j.value("message", "");
    if (j.contains("metrics")) t.metrics = j["metrics"].get<std::map<std::string, double>>();
    return t;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

std::optional<MonitorInfo> monitor_from_json(const json& j) {
  try {
    MonitorInfo m;
    m.key = j.at("key").get<std::string>();
    m.name = j.value("name", m.key);
    m.type = j.value("type", "job");
    m.schedule = j.value("schedule", "");
    m.timezone = j.value("timezone", "");
    m.grace_seconds = j.value("grace_seconds", int64_t{60});
    m.failure_tolerance = j.value("failure_tolerance", 0);
    m.schedule_tolerance = j.value("schedule_tolerance", 0);
    m.consecutive_alert_threshold = j.value("consecutive_alert_threshold", 1);
    m.recovery_threshold = j.value("recovery_threshold", 1);
    if (j.contains("max_runtime_seconds")) m.max_runtime_seconds = j["max_runtime_seconds"].get<int64_t>();
    m.assertions = j.value("assertions", std::vector<std::string>{});
    m.notify = j.value("notify", std::vector<std::string>{});
    m.note = j.value("note", "");
    m.slug = j.value("slug", "");
    m.cronitor_key = j.value("cronitor_key", "");
    m.healthchecks_uuid = j.value("healthchecks_uuid", "");
    m.healthchecks_slug = j.value("healthchecks_slug", "");
    m.sentry_slug = j.value("sentry_slug", "");
    return m;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

}  // namespace cronitor::uplink
