#include "agent/dashboard/job_settings.h"

#include "common/duration.h"

namespace cronitor::agent::dashboard {
namespace {

std::string codes(const std::vector<int>& v) {
  std::string out;
  for (int c : v) out += (out.empty() ? "" : ",") + std::to_string(c);
  return out;
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

}  // namespace

nlohmann::json job_extras(const MonitorConfig& m, const ToleranceAdvice& advice) {
  using nlohmann::json;
  json s = json::array();
  auto add = [&](const char* name, const std::string& value) { s.push_back(json::array({name, value})); };
  add("grace", format_duration(m.grace));
  add("failure_tolerance", m.failure_window > 0
                               ? std::to_string(m.failure_tolerance) + " of " + std::to_string(m.failure_window)
                               : std::to_string(m.failure_tolerance));
  add("schedule_tolerance", std::to_string(m.schedule_tolerance));
  add("consecutive_alert_threshold", std::to_string(m.consecutive_alert_threshold));
  add("recovery_threshold", std::to_string(m.recovery_threshold));
  add("realert_interval", format_duration(m.realert_interval));
  add("success_codes", m.success_codes.empty() ? "0" : codes(m.success_codes));
  if (!m.warning_codes.empty()) {
    add("warning_codes", codes(m.warning_codes));
    add("warning_tolerance", std::to_string(m.warning_tolerance));
  }
  add("max_runs_per_slot", m.max_runs_per_slot == 0 ? "no limit" : std::to_string(m.max_runs_per_slot));
  std::string assertions;
  for (const auto& a : m.assertions) assertions += (assertions.empty() ? "" : ", ") + a.text;
  add("assertion", assertions.empty() ? "none" : assertions);
  add("notify", m.notify.empty() ? "the default list" : joined(m.notify));
  add("timezone", m.zone.name());
  if (!m.environment.empty()) add("environment", m.environment);
  add("alert_on_skip", m.alert_on_skip ? "true" : "false");
  add("paused", m.paused ? "true" : "false");
  const auto max_rt = m.max_runtime();
  return {{"settings", std::move(s)},
          {"max_runtime_ms", max_rt ? nlohmann::json(max_rt->count()) : nlohmann::json()},
          {"suggested",
           {{"comment", advice.comment()}, {"yaml", advice.yaml()}, {"why", advice.why}, {"runs", advice.runs}}}};
}

}  // namespace cronitor::agent::dashboard
