// The Incidents page: open and recent incidents, each with the alerts it sent, where, and how
// each delivery went; the alerts outside incidents (test alerts, removals) below.
#include "agent/dashboard/access.h"
#include "agent/dashboard/html.h"
#include "agent/dashboard/pages.h"

namespace cronitor::agent::dashboard {
namespace {

using nlohmann::json;

/// "slack:https://hooks.slack.com/... sent", "webhook:... pending (2 attempts: timeout)".
std::string deliveries(const json& alert) {
  const json& d = field(alert, "deliveries");
  if (!d.is_array() || d.empty())
    return field(alert, "suppressed") == true ? "recorded, not sent" : "recorded, not sent (no target then)";
  std::string out;
  for (const auto& x : d) {
    if (!out.empty()) out += "; ";
    out += "<code>" + escape_json(field(x, "target")) + "</code> " + escape_json(field(x, "state"));
    const json& n = field(x, "attempts");
    if (n.is_number() && n.get<int64_t>() > 1) out += " (" + std::to_string(n.get<int64_t>()) + " attempts)";
    if (field(x, "last_error").is_string()) out += ": " + escape_json(field(x, "last_error"));
  }
  return out;
}

std::string sent_list(const json& sent) {
  if (!sent.is_array() || sent.empty()) return "-";
  std::string out = "<ul class=\"sent\">";
  for (const auto& a : sent)
    out += "<li data-alert=\"" + escape_json(field(a, "action")) + "\">" + escape_json(field(a, "at")) + " " +
           escape_json(field(a, "action")) + ": " + escape_json(field(a, "summary")) + " &rarr; " + deliveries(a) +
           "</li>";
  return out + "</ul>";
}

}  // namespace

std::string action_form(std::string_view action, std::string_view csrf, std::string_view fields,
                        std::string_view button) {
  std::string out = "<form class=\"act\" method=\"post\" action=\"";
  out += escape(action);
  out += "\"><input type=\"hidden\" name=\"";
  out += kCsrfField;
  out += "\" value=\"";
  out += escape(csrf);
  out += "\">";
  out += fields;
  out += "<button type=\"submit\">";
  out += escape(button);
  out += "</button></form>";
  return out;
}

std::string incidents_table(const json& incidents, bool with_job) {
  if (!incidents.is_array() || incidents.empty()) return "<p class=\"muted\">No incidents.</p>";
  std::string out = "<table class=\"inc\"><thead><tr>";
  if (with_job) out += "<th>Job</th>";
  out +=
      "<th>Kind</th><th>Opened</th><th>Resolved</th><th>Reason</th><th>Alerts: what was sent where</th></tr></thead>"
      "<tbody>";
  for (const auto& i : incidents) {
    const bool open = field(i, "resolved").is_null();
    out += std::string("<tr class=\"incident ") + (open ? "open" : "resolved") + "\" data-key=\"" +
           escape_json(field(i, "key")) + "\">";
    if (with_job) {
      const json& key = field(i, "key");
      const std::string k = key.is_string() ? key.get<std::string>() : "";
      out += k.starts_with("host:") || k.starts_with("uplink:")
                 ? "<td>" + escape(k) + "</td>"
                 : "<td><a href=\"/jobs/" + url_component(k) + "\">" + escape(k) + "</a></td>";
    }
    out += "<td>" + escape_json(field(i, "kind")) + "</td><td>" + escape_json(field(i, "opened")) + "</td><td>" +
           (open ? std::string("<span class=\"state s-failing\">open</span>") : escape_json(field(i, "resolved"))) +
           "</td><td>" + escape_json(field(i, "reason")) + "</td><td>";
    const json& n = field(i, "alerts");
    if (n.is_number()) out += std::to_string(n.get<int64_t>()) + " alert(s)";
    out += sent_list(field(i, "sent")) + "</td></tr>";
  }
  return out + "</tbody></table>";
}

std::string incidents_page(const json& log, const PageContext& ctx) {
  std::string body = "<header><a href=\"/\">All jobs</a> / <h1 style=\"display:inline\">Incidents</h1></header><main>";
  if (!ctx.done.empty()) body += "<p class=\"done\">" + escape(ctx.done) + "</p>";
  const json& list = field(log, "incidents");
  size_t open = 0;
  if (list.is_array())
    for (const auto& i : list) open += field(i, "resolved").is_null() ? 1 : 0;
  body += "<p>" + std::to_string(open) + " open, " + std::to_string(list.is_array() ? list.size() - open : 0) +
          " recent resolved (newest first)</p>";
  body += incidents_table(list, true);
  body += "<h2>Other alerts (test alerts, removals)</h2>";
  const json& notices = field(log, "notices");
  body += notices.is_array() && !notices.empty() ? sent_list(notices) : "<p class=\"muted\">None.</p>";
  body += "</main>";
  return page("Incidents - cronitor-agent", body);
}

}  // namespace cronitor::agent::dashboard
