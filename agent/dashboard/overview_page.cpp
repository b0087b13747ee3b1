// The overview: every job with its state, schedule, last and next run and a strip of its runs,
// failing first, under the host's facts.
#include <algorithm>
#include <array>

#include "agent/dashboard/html.h"
#include "agent/dashboard/pages.h"
#include "agent/dashboard/run_charts.h"
#include "common/text.h"

namespace cronitor::agent::dashboard {
namespace {

using nlohmann::json;

constexpr std::array<std::string_view, 11> kStateOrder = {
    "failing", "missed", "running", "waiting", "unreported", "unknown", "ok", "paused", "stopped", "masked", "removed"};

bool matches(const json& m, const OverviewFilter& f, const std::string& text_lower) {
  if (!f.state.empty() && field(m, "state") != f.state) return false;
  if (text_lower.empty()) return true;
  for (const char* k : {"key", "name", "schedule", "source"}) {
    const json& v = field(m, k);
    if (v.is_string() && ascii_lower(v.get<std::string>()).find(text_lower) != std::string::npos) return true;
  }
  return false;
}

/// A count or pid of the status reply, "-" when absent.
std::string number_text(const json& n) { return n.is_number() ? std::to_string(n.get<int64_t>()) : "-"; }

std::string state_badge(const json& state) {
  const std::string s = state.is_string() ? state.get<std::string>() : "unknown";
  return "<span class=\"state s-" + escape(s) + "\">" + escape(s) + "</span>";
}

std::string host_facts(const json& st, const PageContext& ctx) {
  std::string out;
  const json& cron = field(st, "cron_incident");
  if (cron.is_object())
    out += "<p class=\"alert\">Cron daemon down since " + escape_json(field(cron, "opened")) + ": " +
           escape_json(field(cron, "reason")) + "</p>";
  if (field(st, "shutting_down") == true)
    out += "<p class=\"alert\">Host shutting down: alerts are recorded, not sent</p>";
  const json& disk = field(st, "disk_full");
  if (disk.is_object())
    out += "<p class=\"alert\">Disk full under " + escape_json(field(disk, "state_dir")) +
           ": runs wait in the spool until space returns</p>";
  out += "<div class=\"facts\">";
  auto fact = [&](std::string_view label, const std::string& html) {
    out += "<div><b>";
    out += label;
    out += ":</b> " + html + "</div>";
  };
  fact("Host", escape_json(field(st, "host")));
  const json& crond = field(st, "cron");
  if (crond.is_object())
    fact("Cron daemon",
         "up since " + escape_json(field(crond, "since")) + " (pid " + number_text(field(crond, "pid")) + ")");
  else if (st.contains("cron") && !cron.is_object())  // followed by the daemon, not found (down is said above)
    fact("Cron daemon", "not seen running");
  fact("Agent", escape(ctx.agent_version.empty() ? "-" : ctx.agent_version) + " (daemon " +
                    escape_json(field(st, "daemon")) + ")");
  const json& sd = field(st, "systemd");
  if (sd.is_object())
    fact("systemd timers",
         field(sd, "live") == true
             ? "observed live (" +
                   std::to_string(field(sd, "timers").is_number() ? field(sd, "timers").get<int64_t>() : 0) + " loaded)"
             : "unobserved: " + escape_json(field(sd, "why_not")));
  const json& snooze = field(st, "snooze");
  fact("Snooze",
       snooze.is_object()
           ? "until " + escape_json(field(snooze, "until")) +
                 (field(snooze, "reason").is_string() ? " (" + escape_json(field(snooze, "reason")) + ")" : "")
           : std::string("off"));
  if (field(st, "alerts_held").is_number() && field(st, "alerts_held").get<int64_t>() > 0)
    fact("Alerts held by the rate limit", std::to_string(field(st, "alerts_held").get<int64_t>()));
  const json& uplink = field(st, "uplink");
  if (uplink.is_array() && !uplink.empty()) {
    std::string ups;
    for (const auto& u : uplink) {
      ups += (ups.empty() ? "" : "; ") + escape_json(field(u, "upstream")) + ": " + number_text(field(u, "delivered")) +
             " delivered, " + number_text(field(u, "backlog")) + " queued";
      if (field(u, "stopped") == true) ups += ", <b>stopped</b> (HTTP " + number_text(field(u, "stop_status")) + ")";
    }
    fact("Upstreams", ups);
  }
  if (field(st, "wrap_refused").is_string()) fact("Not wrapping crontab lines", escape_json(field(st, "wrap_refused")));
  out += "</div>";
  return out;
}

/// Snooze the host (or end its snooze) and send a test alert: POST forms, no script.
std::string host_actions(const json& st, const PageContext& ctx) {
  if (ctx.csrf.empty()) return "";
  std::string out = "<div class=\"actions\">";
  out += action_form("/snooze", ctx.csrf,
                     "<label>Snooze for <input name=\"for\" value=\"1h\" required></label> <label>reason <input "
                     "name=\"reason\" style=\"width:12em\"></label> ",
                     "Snooze the host");
  if (field(st, "snooze").is_object()) out += action_form("/snooze/off", ctx.csrf, "", "End the snooze");
  out += action_form("/test-alert", ctx.csrf, "", "Send a test alert");
  return out + "</div>";
}

/// A monitor's key, "" when it has none.
std::string_view key_of(const json& m) {
  const json& k = field(m, "key");
  return k.is_string() ? std::string_view(k.get_ref<const std::string&>()) : std::string_view();
}

/// "Page 2 of 3: jobs 1001-2000 of 2500" and links to the first, previous, next and last pages
/// with the same filter, when the jobs the filter matches take more than one page; "" otherwise.
std::string pager(const OverviewFilter& f, const OverviewRows& listed) {
  if (listed.pages <= 1) return "";
  auto link = [&](size_t page, std::string_view label) {
    std::string href =
        "/?state=" + url_component(f.state) + "&amp;q=" + url_component(f.text) + "&amp;page=" + std::to_string(page);
    return "<a href=\"" + href + "\" data-page=\"" + std::to_string(page) + "\">" + std::string(label) + "</a>";
  };
  const size_t first = (listed.page - 1) * kOverviewPageJobs + 1;
  std::string out = "<p class=\"pager\">Page " + std::to_string(listed.page) + " of " + std::to_string(listed.pages) +
                    ": jobs " + std::to_string(first) + "-" + std::to_string(first + listed.rows.size() - 1) + " of " +
                    std::to_string(listed.matched);
  if (listed.page > 1) out += " " + link(1, "first") + " " + link(listed.page - 1, "previous");
  if (listed.page < listed.pages) out += " " + link(listed.page + 1, "next") + " " + link(listed.pages, "last");
  return out + "</p>";
}

std::string filter_form(const OverviewFilter& f) {
  std::string out =
      "<form class=\"filter\" method=\"get\" action=\"/\"><label>State <select name=\"state\"><option "
      "value=\"\">all</option>";
  for (auto s : kStateOrder) {
    out += "<option";
    if (f.state == s) out += " selected";
    out += ">";
    out += s;
    out += "</option>";
  }
  out += "</select></label><label>Text <input name=\"q\" value=\"" + escape(f.text) +
         "\"></label><button type=\"submit\">Filter</button></form>";
  return out;
}

std::string job_row(const json& m, const json& runs, const PageContext& ctx) {
  const std::string key = field(m, "key").is_string() ? field(m, "key").get<std::string>() : "";
  std::string out = "<tr data-key=\"" + escape(key) + "\" data-state=\"" + escape_json(field(m, "state")) + "\">";
  out += "<td>" + state_badge(field(m, "state")) + "</td>";
  const json& name = field(m, "name");
  out += "<td><a class=\"job\" href=\"/jobs/" + url_component(key) + "\">" +
         (name.is_string() && !name.get<std::string>().empty() ? escape(name.get<std::string>()) : escape(key)) +
         "</a><br><span class=\"muted\">" + escape(key) + "</span></td>";
  const json& sched = field(m, "schedule");
  const std::string words = sched.is_string() ? schedule_words(sched.get<std::string>()) : "";
  out += "<td><code>" + escape_json(sched) + "</code>" + (words.empty() ? "" : "<br>" + escape(words)) + "</td>";
  out += "<td>" + escape_json(field(m, "timezone")) + "</td>";
  out += "<td><code>" + escape_json(field(m, "source")) + "</code></td>";
  const json& last = field(m, "last_run");
  if (last.is_object()) {
    const json& exit = field(last, "exit_code");
    out += "<td>" +
           when_text(field(last, "started").is_string() ? field(last, "started") : field(last, "ended"), ctx.now) +
           "<br>exit " + (exit.is_number() ? std::to_string(exit.get<int64_t>()) : std::string("-")) + ", " +
           duration_text(field(last, "duration_ms")) + "</td>";
  } else {
    out += "<td>-</td>";
  }
  const json& open = field(m, "open_run");
  out += "<td>" +
         (open.is_object() ? "running since " + when_text(field(open, "started"), ctx.now) + "<br>" : std::string()) +
         when_text(field(m, "next_expected"), ctx.now) + "</td>";
  // The runs and the slots that passed without one (a missed slot is no run: state keeps them).
  out += "<td>" + run_strip_svg(strip_classes(runs, field(m, "missed_slots"), kStripRuns), kStripRuns) + "</td></tr>";
  return out;
}

}  // namespace

int state_rank(std::string_view state) {
  auto it = std::find(kStateOrder.begin(), kStateOrder.end(), state);
  return static_cast<int>(it - kStateOrder.begin());  // unknown words last
}

size_t overview_page_number(std::string_view text) {
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string_view::npos) return 1;
  size_t n = 0;
  for (char c : text) n = n * 10 + static_cast<size_t>(c - '0');
  return std::max<size_t>(n, 1);
}

OverviewRows overview_rows(const json& status, const OverviewFilter& filter) {
  OverviewRows out;
  const json& monitors = field(status, "monitors");
  // Each matching monitor with its sort key, looked up once (not at every comparison).
  struct Row {
    int rank;
    std::string_view key;
    const json* monitor;
  };
  std::vector<Row> rows;
  const std::string text_lower = ascii_lower(filter.text);
  if (monitors.is_array()) {
    out.total = monitors.size();
    for (const auto& m : monitors)
      if (matches(m, filter, text_lower)) {
        const json& s = field(m, "state");
        rows.push_back(
            {state_rank(s.is_string() ? s.get_ref<const std::string&>() : std::string_view()), key_of(m), &m});
      }
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Row& a, const Row& b) { return a.rank != b.rank ? a.rank < b.rank : a.key < b.key; });
  out.matched = rows.size();
  out.pages = std::max<size_t>(1, (rows.size() + kOverviewPageJobs - 1) / kOverviewPageJobs);
  out.page = std::clamp<size_t>(filter.page, 1, out.pages);
  const size_t first = std::min((out.page - 1) * kOverviewPageJobs, rows.size());
  const size_t last = std::min(first + kOverviewPageJobs, rows.size());
  out.rows.reserve(last - first);
  for (size_t i = first; i < last; ++i) out.rows.push_back(rows[i].monitor);
  return out;
}

std::string overview_page(const json& status, const std::unordered_map<std::string, json>& runs,
                          const OverviewFilter& filter, const PageContext& ctx) {
  return overview_page(status, overview_rows(status, filter), runs, filter, ctx);
}

std::string overview_page(const json& status, const OverviewRows& listed,
                          const std::unordered_map<std::string, json>& runs, const OverviewFilter& filter,
                          const PageContext& ctx) {
  const std::string pages = pager(filter, listed);
  std::string body;
  body.reserve(4096 + listed.rows.size() * 2048);
  body += "<header><h1 style=\"display:inline\">Jobs on " + escape_json(field(status, "host")) +
          "</h1><nav style=\"display:inline\"><a href=\"/incidents\">Incidents</a></nav></header><main>";
  if (!ctx.done.empty()) body += "<p class=\"done\">" + escape(ctx.done) + "</p>";
  body += host_facts(status, ctx);
  body += host_actions(status, ctx);
  body += filter_form(filter);
  body += "<p class=\"muted\">" + std::to_string(listed.matched) + " of " + std::to_string(listed.total) + " jobs</p>";
  body += pages;
  body +=
      "<table class=\"jobs\"><thead><tr><th>State</th><th>Job</th><th>Schedule</th><th>Zone</th><th>Source</th>"
      "<th>Last run</th><th>Next expected</th><th>Last runs</th></tr></thead><tbody>";
  static const json kNoRuns = json::array();
  for (const json* m : listed.rows) {
    auto it = runs.find(std::string(key_of(*m)));
    body += job_row(*m, it == runs.end() ? kNoRuns : it->second, ctx);
  }
  body += "</tbody></table>" + pages + "</main>";
  return page("cronitor-agent: jobs", body);
}

}  // namespace cronitor::agent::dashboard
