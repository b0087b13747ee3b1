#include "agent/status_view.h"

#include <algorithm>

#include "agent/duration.h"
#include "agent/state_json.h"
#include "schedule/iso8601.h"

namespace cronitor::agent {
namespace {

using nlohmann::json;

json iso_or_null(const std::optional<Instant>& t) {
  if (!t) return nullptr;
  return schedule::format_iso8601(std::chrono::floor<std::chrono::seconds>(*t), schedule::Zone::utc());
}

std::string cell(const json& j) {
  if (j.is_null()) return "-";
  if (j.is_string()) return j.get<std::string>();
  return j.dump();
}

std::string pad(std::string s, size_t w) {
  if (s.size() < w) s.append(w - s.size(), ' ');
  return s;
}

std::string render(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], std::min<size_t>(r[i].size(), 60));
    }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) line += (i + 1 < r.size() ? pad(r[i], width[i] + 2) : r[i]);
    out += line + "\n";
  }
  return out;
}

}  // namespace

std::string state_word(const MonitorState& s, bool paused_by_config, bool awaits_first_run) {
  if (s.removed) return "removed";
  if (paused_by_config || s.paused_until) return "paused";
  if (s.incident) return s.incident->kind == "missed" ? "missed" : "failing";
  if (!s.open_runs.empty()) return "running";
  if (s.last_status.empty()) return awaits_first_run && !s.last_start && !s.last_end ? "unreported" : "waiting";
  return s.last_status == "ok" ? "ok" : s.last_status;
}

json status_json(const std::string& key, const std::string& name, const std::string& schedule,
                 const std::string& timezone, const std::string& source, const MonitorState& s, bool paused,
                 bool awaits_first_run) {
  json last = nullptr;
  if (s.last_start || s.last_end) {
    last = {{"started", iso_or_null(s.last_start)},
            {"ended", iso_or_null(s.last_end)},
            {"status", s.last_status},
            {"exit_code", s.last_exit_code ? json(*s.last_exit_code) : json()},
            {"duration_ms", s.last_duration_ms ? json(*s.last_duration_ms) : json()}};
  }
  json incident = nullptr;
  if (s.incident)
    incident = {{"kind", s.incident->kind},
                {"opened", iso_or_null(s.incident->opened)},
                {"alerts", s.incident->alerts_sent},
                {"reason", s.incident->reason}};
  json paused_until = nullptr;
  if (s.paused_until) paused_until = *s.paused_until == Instant::max() ? json("resume") : iso_or_null(s.paused_until);
  return {{"key", key},
          {"name", name},
          {"state", state_word(s, paused, awaits_first_run)},
          {"schedule", schedule},
          {"timezone", timezone},
          {"source", source},
          {"last_run", last},
          {"next_expected", s.removed ? json() : iso_or_null(s.expected)},
          {"paused_until", paused_until},
          {"incident", incident}};
}

std::string status_table(const json& monitors) {
  std::vector<std::vector<std::string>> rows = {
      {"KEY", "STATE", "SCHEDULE", "LAST RUN", "EXIT", "DURATION", "NEXT EXPECTED", "INCIDENT"}};
  for (const auto& m : monitors) {
    const json& last = m["last_run"];
    std::string started = last.is_null() ? "-" : cell(last["started"]);
    std::string exit = last.is_null() ? "-" : cell(last["exit_code"]);
    std::string dur = "-";
    if (!last.is_null() && last["duration_ms"].is_number())
      dur = format_duration(std::chrono::seconds(last["duration_ms"].get<int64_t>() / 1000));
    std::string inc =
        m["incident"].is_null() ? "-" : cell(m["incident"]["kind"]) + " since " + cell(m["incident"]["opened"]);
    rows.push_back(
        {cell(m["key"]), cell(m["state"]), cell(m["schedule"]), started, exit, dur, cell(m["next_expected"]), inc});
  }
  return render(rows);
}

json run_json(const RunRow& r) {
  auto ms = [](const std::optional<int64_t>& v) { return v ? iso_or_null(from_ms(*v)) : json(); };
  json metrics = json::object();
  if (!r.metrics_json.empty()) metrics = json::parse(r.metrics_json, nullptr, false);
  return {{"run_id", r.run_id},
          {"status", r.status},
          {"started", ms(r.started_ms)},
          {"ended", ms(r.ended_ms)},
          {"duration_ms", r.duration_ms ? json(*r.duration_ms) : json()},
          {"exit_code", r.exit_code ? json(*r.exit_code) : json()},
          {"signal", r.signal.empty() ? json() : json(r.signal)},
          {"oom", r.oom},
          {"metrics", metrics.is_discarded() ? json::object() : metrics},
          {"host", r.host},
          {"output_tail", r.output_tail}};
}

std::string history_table(const json& runs) {
  std::vector<std::vector<std::string>> rows = {{"STARTED", "STATUS", "EXIT", "DURATION", "RUN ID"}};
  for (const auto& r : runs) {
    std::string dur = r["duration_ms"].is_number()
                          ? format_duration(std::chrono::seconds(r["duration_ms"].get<int64_t>() / 1000))
                          : "-";
    std::string exit = cell(r["exit_code"]);
    if (r["signal"].is_string()) exit += " (" + r["signal"].get<std::string>() + ")";
    if (r["oom"].is_boolean() && r["oom"].get<bool>()) exit += " OOM";
    rows.push_back({cell(r["started"]), cell(r["status"]), exit, dur, cell(r["run_id"])});
  }
  return render(rows);
}

}  // namespace cronitor::agent
