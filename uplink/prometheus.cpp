#include "uplink/prometheus.h"

#include <cstdio>

#include "common/text.h"

namespace cronitor::uplink {
namespace {

/// A label value per the exposition format: valid UTF-8 (other bytes as U+FFFD; one bad label
/// makes promtool and Prometheus refuse the whole scrape), cut to 1024 bytes at a character
/// boundary, backslash, quote and newline escaped.
std::string label(std::string_view raw) {
  const std::string valid = replace_invalid_utf8(raw.substr(0, 4096));
  std::string out;
  for (char c : cut_utf8(valid, 1024)) {
    if (c == '\\' || c == '"')
      out += '\\', out += c;
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

std::string render_metrics(const std::vector<JobMetrics>& jobs, const AgentMetrics& a) {
  std::string out;
  out.reserve(jobs.size() * 900 + 2048);
  auto head = [&](const char* name, const char* type, const char* help) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  };
  auto job_labels = [](const JobMetrics& j) {
    return "key=\"" + label(j.key) + "\",name=\"" + label(j.name) + "\",source=\"" + label(j.source) + "\",user=\"" +
           label(j.user) + "\"";
  };
  // Every discovered job has every series from discovery on; a value it does not have yet is NaN
  // (absent would make "never ran" look like "not discovered").
  auto opt = [](const std::optional<double>& v) { return v ? num(*v) : std::string("NaN"); };
  head("cronitor_job_last_start_timestamp_seconds", "gauge", "Start of the job's latest run (Unix time).");
  for (const auto& j : jobs)
    out += "cronitor_job_last_start_timestamp_seconds{" + job_labels(j) + "} " + opt(j.last_start_s) + "\n";
  head("cronitor_job_last_exit_code", "gauge", "Exit code of the job's latest finished run.");
  for (const auto& j : jobs)
    out += "cronitor_job_last_exit_code{" + job_labels(j) + "} " +
           (j.last_exit_code ? std::to_string(*j.last_exit_code) : std::string("NaN")) + "\n";
  head("cronitor_job_last_duration_seconds", "gauge", "Duration of the job's latest finished run.");
  for (const auto& j : jobs)
    out += "cronitor_job_last_duration_seconds{" + job_labels(j) + "} " + opt(j.last_duration_s) + "\n";
  head("cronitor_job_runs_total", "counter",
       "Finished runs by outcome (unknown: it ran, how it ended was not seen): those state.db kept when the "
       "agent started, and every one since.");
  for (const auto& j : jobs) {
    out +=
        "cronitor_job_runs_total{" + job_labels(j) + ",outcome=\"success\"} " + std::to_string(j.runs.success) + "\n";
    out +=
        "cronitor_job_runs_total{" + job_labels(j) + ",outcome=\"failure\"} " + std::to_string(j.runs.failure) + "\n";
    out +=
        "cronitor_job_runs_total{" + job_labels(j) + ",outcome=\"unknown\"} " + std::to_string(j.runs.unknown) + "\n";
  }
  head("cronitor_job_next_deadline_timestamp_seconds", "gauge",
       "When the job's next run must have started, grace included (Unix time).");
  for (const auto& j : jobs)
    out += "cronitor_job_next_deadline_timestamp_seconds{" + job_labels(j) + "} " + opt(j.next_deadline_s) + "\n";
  head("cronitor_job_consecutive_misses", "gauge",
       "Scheduled runs missed in a row (the slot and its grace passed without a start); 0 once it runs.");
  for (const auto& j : jobs)
    out += "cronitor_job_consecutive_misses{" + job_labels(j) + "} " + std::to_string(j.consecutive_misses) + "\n";
  head("cronitor_job_incident_open", "gauge", "1 while the job has an open incident.");
  for (const auto& j : jobs)
    out += "cronitor_job_incident_open{" + job_labels(j) + "} " + (j.incident_open ? "1" : "0") + "\n";
  head("cronitor_agent_events_received_total", "counter", "Run events stored since the agent started.");
  out += "cronitor_agent_events_received_total " + std::to_string(a.events_received) + "\n";
  head("cronitor_agent_inotify_rescans_total", "counter", "Discovery rescans after file changes.");
  out += "cronitor_agent_inotify_rescans_total " + std::to_string(a.inotify_rescans) + "\n";
  head("cronitor_agent_outbox_depth", "gauge", "Events queued for an upstream.");
  for (const auto& u : a.upstreams)
    out += "cronitor_agent_outbox_depth{upstream=\"" + label(u.name) + "\"} " + std::to_string(u.depth) + "\n";
  head("cronitor_agent_delivery_failures_total", "counter", "Failed delivery attempts (retried).");
  for (const auto& u : a.upstreams)
    out += "cronitor_agent_delivery_failures_total{upstream=\"" + label(u.name) + "\"} " + std::to_string(u.failures) +
           "\n";
  head("cronitor_agent_delivered_total", "counter", "Events an upstream accepted.");
  for (const auto& u : a.upstreams)
    out += "cronitor_agent_delivered_total{upstream=\"" + label(u.name) + "\"} " + std::to_string(u.delivered) + "\n";
  head("cronitor_agent_dropped_total", "counter", "Queued events dropped (bounds, or refused by the upstream).");
  for (const auto& u : a.upstreams)
    out += "cronitor_agent_dropped_total{upstream=\"" + label(u.name) + "\"} " +
           std::to_string(u.dropped + u.rejected) + "\n";
  head("cronitor_agent_upstream_stopped", "gauge", "1 when an upstream refused the agent for good (bad key).");
  for (const auto& u : a.upstreams)
    out += "cronitor_agent_upstream_stopped{upstream=\"" + label(u.name) + "\"} " + (u.stopped ? "1" : "0") + "\n";
  head("cronitor_agent_upstream_held_jobs", "gauge",
       "Jobs whose events an upstream refused (404, 409, 410: no such check): held back, the others flow.");
  for (const auto& u : a.upstreams)
    out +=
        "cronitor_agent_upstream_held_jobs{upstream=\"" + label(u.name) + "\"} " + std::to_string(u.held_jobs) + "\n";
  head("cronitor_agent_last_update_timestamp_seconds", "gauge", "When these metrics were made (Unix time).");
  out += "cronitor_agent_last_update_timestamp_seconds " + num(a.written_s) + "\n";
  // Liveness: a start time that keeps changing is a restart loop; a last loop stamp that falls
  // behind while /metrics answers is a loop whose timers no longer run (deadlines unjudged).
  if (a.start_s) {
    head("cronitor_agent_start_time_seconds", "gauge", "When the agent's process started (Unix time).");
    out += "cronitor_agent_start_time_seconds " + num(*a.start_s) + "\n";
  }
  if (a.last_loop_s) {
    head("cronitor_agent_last_loop_timestamp_seconds", "gauge",
         "When the agent's event loop last stamped its own liveness, at least every 60 s (Unix time).");
    out += "cronitor_agent_last_loop_timestamp_seconds " + num(*a.last_loop_s) + "\n";
  }
  return out;
}

}  // namespace cronitor::uplink
