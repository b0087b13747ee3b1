// One job: its settings in force, a chart of its run durations and the runs table with each
// failure's output.
#include "agent/dashboard/html.h"
#include "agent/dashboard/pages.h"
#include "agent/dashboard/run_charts.h"
#include "schedule/schedule.h"

namespace cronitor::agent::dashboard {
namespace {

using nlohmann::json;

}  // namespace

std::optional<int64_t> start_delay_ms(const schedule::Schedule& sched, const schedule::Zone& zone,
                                      schedule::Instant started) {
  if (sched.interval() || sched.at_reboot()) return std::nullopt;  // no slot to be late for
  // The latest fire time at or before the start: look back 1 minute, then twice as far each time
  // (a minutely job takes one look, a monthly one about 16), then walk forward to the last fire.
  std::chrono::seconds back(60);
  for (int i = 0; i < 24; ++i, back *= 2) {
    auto t = sched.next(started - back, zone);
    if (!t) return std::nullopt;
    if (*t > started) continue;
    schedule::Instant last = *t;
    while (auto n = sched.next(last, zone)) {
      if (*n > started) break;
      last = *n;
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(started - last).count();
  }
  return std::nullopt;
}

namespace {

std::string run_row(const json& r, const PageContext& ctx, const std::optional<schedule::Schedule>& sched,
                    const schedule::Zone& zone) {
  const std::string cls = run_class(r);
  std::string out = "<tr class=\"run " + cls + "\" data-run=\"" + escape_json(field(r, "run_id")) + "\">";
  out += "<td>" + when_text(field(r, "started"), ctx.now) + "</td>";
  const std::string status = field(r, "status").is_string() ? field(r, "status").get<std::string>() : "";
  out += "<td><span class=\"state s-" + escape(status) + "\">" + escape(status) + "</span></td>";
  const json& exit = field(r, "exit_code");
  out += "<td>" + (exit.is_number() ? std::to_string(exit.get<int64_t>()) : std::string("-")) + "</td>";
  out += "<td>" + escape_json(field(r, "signal")) + "</td>";
  out += std::string("<td>") + (field(r, "oom") == true ? "OOM kill" : "") + "</td>";
  out += "<td>" + duration_text(field(r, "duration_ms")) + "</td>";
  // Start delay: how long after its slot the run began (cron starts within a second; a late
  // start means a busy host or a run by hand). "-" for interval schedules and unknown starts.
  std::optional<int64_t> delay;
  if (auto t = iso_ms(field(r, "started")); t && sched)
    delay = start_delay_ms(*sched, zone, schedule::Instant(std::chrono::milliseconds(*t)));
  out += "<td>" + (delay ? duration_text(json(*delay)) : std::string("-")) + "</td>";
  out += "<td><code>" + escape_json(field(r, "run_id")) + "</code></td><td>";
  // The output of a failure is open at once; of any other run one click away (no JavaScript).
  const json& tail = field(r, "output_tail");
  if (tail.is_string() && !tail.get<std::string>().empty())
    out += std::string("<details") + (status == "failed" ? " open" : "") + "><summary>output</summary><pre>" +
           escape(tail.get<std::string>()) + "</pre></details>";
  out += "</td></tr>";
  return out;
}

/// Pause (for a while, or until resumed) and resume, as POST forms; the CLI's `pause --for`.
std::string job_actions(const std::string& key, const std::string& state, const PageContext& ctx) {
  if (ctx.csrf.empty()) return "";
  const std::string base = "/jobs/" + url_component(key);
  std::string out = "<div class=\"actions\">";
  out += action_form(base + "/pause", ctx.csrf,
                     "<label>for <input name=\"for\" placeholder=\"1 hour\" title=\"empty: until resumed\"></label> ",
                     "Pause");
  if (state == "paused") out += action_form(base + "/resume", ctx.csrf, "", "Resume");
  return out + "</div>";
}

std::string settings_html(const json& extras, const std::string& key) {
  std::string out;
  const json& settings = field(extras, "settings");
  if (settings.is_array()) {
    out += "<h2>Settings in force</h2><table class=\"settings\"><tbody>";
    for (const auto& kv : settings)
      if (kv.is_array() && kv.size() == 2)
        out += "<tr><td><code>" + escape_json(kv[0]) + "</code></td><td>" + escape_json(kv[1]) + "</td></tr>";
    out += "</tbody></table>";
  }
  const json& sug = field(extras, "suggested");
  if (sug.is_object()) {
    out += "<h2>Suggested from its history</h2><p class=\"muted\">From " +
           std::to_string(field(sug, "runs").is_number() ? field(sug, "runs").get<int64_t>() : 0) +
           " finished runs (<code>cronitor-agent suggest " + escape(key) +
           "</code>). Above the crontab line:</p><pre class=\"suggested\">" + escape_json(field(sug, "comment")) +
           "</pre><p class=\"muted\">Or in agent.yaml under <code>monitors:</code></p><pre>" +
           escape_json(field(sug, "yaml")) + "</pre>";
    if (field(sug, "why").is_string() && !field(sug, "why").get<std::string>().empty())
      out += "<p class=\"muted\">" + escape_json(field(sug, "why")) + "</p>";
  }
  return out;
}

}  // namespace

std::string job_page(const json& monitor, const json& runs_in, const PageContext& ctx, const json& incidents,
                     const json& extras) {
  const json& runs = runs_in.is_array() ? runs_in : json::array();
  const std::string key = field(monitor, "key").is_string() ? field(monitor, "key").get<std::string>() : "";
  const json& name = field(monitor, "name");
  const std::string title = name.is_string() && !name.get<std::string>().empty() ? name.get<std::string>() : key;
  std::string body;
  body.reserve(8192 + runs.size() * 1024);
  body += "<header><a href=\"/\">All jobs</a> / <h1 style=\"display:inline\">" + escape(title) + "</h1> ";
  const std::string state = field(monitor, "state").is_string() ? field(monitor, "state").get<std::string>() : "";
  body += "<span class=\"state s-" + escape(state) + "\">" + escape(state) +
          "</span><nav style=\"display:inline\"><a href=\"/incidents\">Incidents</a></nav></header><main>";
  if (!ctx.done.empty()) body += "<p class=\"done\">" + escape(ctx.done) + "</p>";
  body += job_actions(key, state, ctx);
  const json& incident = field(monitor, "incident");
  if (incident.is_object())
    body += "<p class=\"alert\">Incident: " + escape_json(field(incident, "kind")) + " since " +
            escape_json(field(incident, "opened")) + ": " + escape_json(field(incident, "reason")) + "</p>";
  body += "<div class=\"facts\">";
  auto fact = [&](std::string_view label, const std::string& html) {
    body += "<div><b>";
    body += label;
    body += ":</b> " + html + "</div>";
  };
  fact("Key", "<code>" + escape(key) + "</code>");
  const json& sched = field(monitor, "schedule");
  const std::string words = sched.is_string() ? schedule_words(sched.get<std::string>()) : "";
  fact("Schedule", "<code>" + escape_json(sched) + "</code>" + (words.empty() ? "" : " (" + escape(words) + ")"));
  fact("Zone", escape_json(field(monitor, "timezone")));
  fact("Source", "<code>" + escape_json(field(monitor, "source")) + "</code>");
  fact("Next expected", when_text(field(monitor, "next_expected"), ctx.now));
  if (!field(monitor, "paused_until").is_null()) fact("Paused until", escape_json(field(monitor, "paused_until")));
  body += "</div>";
  // The last 30 days of runs, at most the 500 the page asks for (runs is newest first).
  json recent = json::array();
  const int64_t since_ms = std::chrono::duration_cast<std::chrono::milliseconds>(ctx.now.time_since_epoch()).count() -
                           int64_t{kJobPageDays} * 86'400'000;
  for (const auto& r : runs) {
    auto t = iso_ms(field(r, "started"));
    if (!t) t = iso_ms(field(r, "ended"));
    if (t && *t < since_ms) break;
    recent.push_back(r);
  }
  body += "<h2>Durations of the last " + std::to_string(recent.size()) + " runs (" + std::to_string(kJobPageDays) +
          " days at most)</h2>";
  // The misses as alerted (a missed slot is no run), and the max runtime in force.
  std::vector<std::string> misses;
  if (incidents.is_array())
    for (const auto& inc : incidents)
      for (const auto& a : field(inc, "sent").is_array() ? field(inc, "sent") : json::array())
        if (field(a, "kind") == "missed" && field(a, "at").is_string())
          misses.push_back(field(a, "at").get<std::string>());
  const json& max_rt = field(extras, "max_runtime_ms");
  body += duration_chart_svg(recent, max_rt.is_number() ? std::optional<int64_t>(max_rt.get<int64_t>()) : std::nullopt,
                             misses);
  body +=
      "<h2>Runs</h2><table class=\"runs\"><thead><tr><th>Started</th><th>Status</th><th>Exit</th><th>Signal</th>"
      "<th>OOM</th><th>Duration</th><th>Start delay</th><th>Run ID</th><th>Output</th></tr></thead><tbody>";
  // The schedule the start delays are measured from (parsed once for the page).
  std::optional<schedule::Schedule> run_sched;
  schedule::Zone zone = schedule::Zone::utc();
  if (const json& expr = field(monitor, "schedule"); expr.is_string()) {
    const std::string text = expr.get<std::string>();
    if (auto c = schedule::Schedule::parse(text, schedule::Kind::kCron))
      run_sched = std::move(*c);
    else if (auto d = schedule::Schedule::parse(text, schedule::Kind::kSystemd))
      run_sched = std::move(*d);
  }
  // The monitor's zone by its IANA name, or the host's own (status names it as cctz does,
  // "/etc/localtime", which load() refuses as a path).
  if (const json& tz = field(monitor, "timezone"); tz.is_string()) {
    const std::string name = tz.get<std::string>();
    if (auto z = schedule::Zone::load(name))
      zone = *z;
    else if (schedule::Zone local = schedule::Zone::local(); local.name() == name)
      zone = std::move(local);
  }
  for (const auto& r : recent) body += run_row(r, ctx, run_sched, zone);
  body += "</tbody></table>";
  if (!incidents.is_null()) body += "<h2>Incidents</h2>" + incidents_table(incidents, false);
  if (!extras.is_null()) body += settings_html(extras, key);
  body += "<h2>Commands</h2><pre>cronitor-agent history " + escape(key) + "\ncronitor-agent pause " + escape(key) +
          " --for \"1 hour\"\ncronitor-agent resume " + escape(key) + "\ncronitor-agent suggest " + escape(key) +
          "\ncronitor-agent snooze 1h --reason \"maintenance\"\ncronitor-agent test-alert</pre>";
  body += "</main>";
  return page(title + " - cronitor-agent", body);
}

}  // namespace cronitor::agent::dashboard
