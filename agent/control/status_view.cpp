#include "agent/control/status_view.h"

#include <algorithm>

#include "agent/control/json_out.h"
#include "agent/state/state_json.h"
#include "common/duration.h"
#include "common/text.h"
#include "schedule/iso8601.h"

namespace cronitor::agent {
namespace {

using nlohmann::json;

json iso_or_null(const std::optional<Instant>& t) {
  if (!t) return nullptr;
  return schedule::format_iso8601(std::chrono::floor<std::chrono::seconds>(*t), schedule::Zone::utc());
}

/// A table cell: what a user named (job names, signals, output) escaped for the terminal.
std::string cell(const json& j) {
  if (j.is_null()) return "-";
  if (j.is_string()) return escape_text(j.get<std::string>());
  return json_text(j, -1);
}

std::string pad(std::string s, size_t w) {
  if (s.size() < w) s.append(w - s.size(), ' ');
  return s;
}

/// "221 ms" below a second (a 0.2 s job is not "0s"), else "2m 5s".
std::string duration_cell(const json& ms) {
  if (!ms.is_number()) return "-";
  const auto v = ms.get<int64_t>();
  if (v < 1000) return std::to_string(v) + " ms";
  return format_duration(std::chrono::seconds(v / 1000));
}

/// A run whose outcome nobody saw (cron's log at -L 1): said in words, never as an exit code.
constexpr const char* kUnknownCell = "outcome unknown";

bool unknown_outcome(const json& status) { return status.is_string() && status.get<std::string>() == "unknown"; }

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
  if (s.removed) return s.removed_as.empty() ? "removed" : s.removed_as;
  if (paused_by_config || s.paused_until) return "paused";
  if (s.incident) return s.incident->kind == "missed" ? "missed" : "failing";
  if (!s.open_runs.empty()) return "running";
  if (s.last_status.empty()) return awaits_first_run && !s.last_start && !s.last_end ? "unreported" : "waiting";
  return s.last_status == "ok" ? "ok" : s.last_status;
}

json status_json(const std::string& key, const std::string& name, const std::string& schedule,
                 const std::string& timezone, const std::string& source, const MonitorState& s, bool paused,
                 bool awaits_first_run) {
  // last_start is the latest start, which belongs to the open run while one is open: the last
  // finished run then started its duration before it ended.
  std::optional<Instant> started = s.last_start;
  if (s.last_end && (!s.open_runs.empty() || (started && *started > *s.last_end)))
    started = s.last_duration_ms ? std::optional<Instant>(*s.last_end - std::chrono::milliseconds(*s.last_duration_ms))
                                 : std::nullopt;
  json last = nullptr;
  if (s.last_end || (s.last_start && s.open_runs.empty())) {
    last = {{"started", iso_or_null(started)},
            {"ended", iso_or_null(s.last_end)},
            {"status", s.last_status},
            {"exit_code", s.last_exit_code ? json(*s.last_exit_code) : json()},
            {"duration_ms", s.last_duration_ms ? json(*s.last_duration_ms) : json()}};
  }
  json open = nullptr;
  if (!s.open_runs.empty()) {
    const OpenRun& r = s.open_runs.back();
    open = {{"run_id", r.run_id}, {"started", iso_or_null(r.started)}, {"open_runs", s.open_runs.size()}};
  }
  json incident = nullptr;
  if (s.incident)
    incident = {{"kind", s.incident->kind},
                {"opened", iso_or_null(s.incident->opened)},
                {"alerts", s.incident->alerts_sent},
                {"reason", s.incident->reason}};
  json paused_until = nullptr;
  if (s.paused_until) paused_until = *s.paused_until == Instant::max() ? json("resume") : iso_or_null(s.paused_until);
  json j = {{"key", key},
            {"name", name},
            {"state", state_word(s, paused, awaits_first_run)},
            {"schedule", schedule},
            {"timezone", timezone},
            {"source", source},
            {"last_run", last},
            {"open_run", open},
            {"next_expected", s.removed ? json() : iso_or_null(s.expected)},
            {"paused_until", paused_until},
            {"incident", incident}};
  // The slots that passed without a run, oldest first (the last 60): only when there are some.
  if (!s.missed_slots.empty()) {
    json missed = json::array();
    for (Instant m : s.missed_slots) missed.push_back(iso_or_null(m));
    j["missed_slots"] = std::move(missed);
  }
  if (s.removed && !s.removed_hint.empty()) j["hint"] = s.removed_hint;  // how to bring it back
  return j;
}

std::string status_table(const json& monitors) {
  // The RUNNING SINCE column only when a run is open: the LAST RUN columns are the last finished run.
  bool any_open = false;
  for (const auto& m : monitors) any_open |= m.contains("open_run") && m["open_run"].is_object();
  std::vector<std::string> head = {"KEY", "NAME", "STATE", "SCHEDULE", "LAST RUN", "EXIT", "DURATION"};
  if (any_open) head.push_back("RUNNING SINCE");
  head.insert(head.end(), {"NEXT EXPECTED", "INCIDENT"});
  std::vector<std::vector<std::string>> rows = {head};
  for (const auto& m : monitors) {
    const json& last = m["last_run"];
    std::string started = last.is_null() ? "-" : cell(last["started"]);
    std::string exit = last.is_null() ? "-" : cell(last["exit_code"]);
    std::string dur = last.is_null() ? "-" : duration_cell(last["duration_ms"]);
    std::string inc =
        m["incident"].is_null() ? "-" : cell(m["incident"]["kind"]) + " since " + cell(m["incident"]["opened"]);
    std::string name = cell(m["name"]);
    if (name.size() > 28) name = std::string(cut_utf8(name, 25)) + "...";
    std::string state = unknown_outcome(m["state"]) ? kUnknownCell : cell(m["state"]);
    std::vector<std::string> row = {cell(m["key"]), name, state, cell(m["schedule"]), started, exit, dur};
    if (any_open) row.push_back(m["open_run"].is_object() ? cell(m["open_run"]["started"]) : "-");
    row.insert(row.end(), {cell(m["next_expected"]), inc});
    rows.push_back(std::move(row));
  }
  return render(rows);
}

json cron_incident_json(const HostState& host) {
  if (!host.cron_incident) return nullptr;
  return {{"opened", iso_or_null(host.cron_incident->opened)}, {"reason", host.cron_incident->reason}};
}

json snooze_json(const HostState& host, Instant now) {
  if (!host.snoozed_until || now >= *host.snoozed_until) return nullptr;
  return {{"until", *host.snoozed_until == Instant::max() ? json("off") : iso_or_null(host.snoozed_until)},
          {"since", iso_or_null(host.snooze_since)},
          {"reason", host.snooze_reason.empty() ? json() : json(host.snooze_reason)}};
}

json uplink_json(const std::vector<uplink::UpstreamStats>& stats,
                 const std::function<bool(const std::string& job)>& visible) {
  json out = json::array();
  for (const auto& st : stats) {
    json held = json::array();
    for (const auto& h : st.held_jobs)
      if (visible(h.job))
        held.push_back({{"job", h.job},
                        {"status", h.status},
                        {"since", iso_or_null(Instant(std::chrono::milliseconds(h.since_ms)))},
                        {"url", h.url},
                        {"answer", h.answer}});
    out.push_back({{"upstream", st.name},
                   {"stopped", st.stopped},
                   {"stop_status", st.stopped ? json(st.stop_status) : json()},
                   {"delivered", st.delivered},
                   {"held", held}});
  }
  return out;
}

std::string uplink_notes(const json& uplink) {
  std::string out;
  if (!uplink.is_array()) return out;
  for (const auto& u : uplink) {
    const std::string name = escape_text(u.value("upstream", std::string()));
    if (u.value("stopped", false))
      out += "UPLINK " + name + " STOPPED: it answered HTTP " + cell(u.value("stop_status", json())) +
             " (bad key?); events stay queued until the config is fixed and reloaded\n";
    const json& held = u.contains("held") ? u["held"] : json::array();
    if (held.empty()) continue;
    out += "uplink " + name + " holds back " + std::to_string(held.size()) + " job" + (held.size() == 1 ? "" : "s") +
           " (the server refused the check; the other jobs flow, held events wait and are tried again):\n";
    for (const auto& h : held)
      out += "  " + cell(h.value("job", json())) + ": HTTP " + cell(h.value("status", json())) + " " +
             cell(h.value("answer", json())) + " since " + cell(h.value("since", json())) + " (" +
             cell(h.value("url", json())) + ")\n";
  }
  return out;
}

json run_json(const RunRow& r) {
  // Built in place, not from an initializer list (which copies every value once more): the
  // dashboard's overview makes 60,000 of these per request.
  auto ms = [](const std::optional<int64_t>& v) { return v ? iso_or_null(from_ms(*v)) : json(); };
  json metrics = json::object();
  if (!r.metrics_json.empty() && r.metrics_json != "{}") {
    metrics = json::parse(r.metrics_json, nullptr, false);
    if (metrics.is_discarded()) metrics = json::object();
  }
  json out = json::object();
  auto& o = out.get_ref<json::object_t&>();
  o.emplace("run_id", r.run_id);
  o.emplace("status", r.status);
  o.emplace("started", ms(r.started_ms));
  o.emplace("ended", ms(r.ended_ms));
  o.emplace("duration_ms", r.duration_ms ? json(*r.duration_ms) : json());
  o.emplace("exit_code", r.exit_code ? json(*r.exit_code) : json());
  o.emplace("signal", r.signal.empty() ? json() : json(r.signal));
  o.emplace("oom", r.oom);
  o.emplace("metrics", std::move(metrics));
  o.emplace("host", r.host);
  o.emplace("output_tail", r.output_tail);
  o.emplace("output_cut", r.tail_cut);
  return out;
}

std::string history_table(const json& runs) {
  std::vector<std::vector<std::string>> rows = {{"STARTED", "STATUS", "EXIT", "DURATION", "RUN ID"}};
  for (const auto& r : runs) {
    std::string dur = duration_cell(r["duration_ms"]);
    std::string exit = cell(r["exit_code"]);
    if (r["signal"].is_string()) exit += " (" + cell(r["signal"]) + ")";
    if (r["oom"].is_boolean() && r["oom"].get<bool>()) exit += " OOM";
    rows.push_back({cell(r["started"]), unknown_outcome(r["status"]) ? kUnknownCell : cell(r["status"]), exit, dur,
                    cell(r["run_id"])});
  }
  return render(rows);
}

}  // namespace cronitor::agent
