#include "uplink/alert_format.h"

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "common/duration.h"
#include "common/text.h"
#include "schedule/iso8601.h"
#include "uplink/alertmanager.h"

namespace cronitor::uplink {
namespace {

using nlohmann::json;

constexpr size_t kTailInMessage = 1500;  // Slack sections hold 3000 characters

/// The last `n` bytes of `s`, not starting inside a UTF-8 sequence.
std::string tail(const std::string& s, size_t n) {
  if (s.size() <= n) return s;
  size_t from = s.size() - n;
  while (from < s.size() && (static_cast<unsigned char>(s[from]) & 0xC0) == 0x80) ++from;
  return "…" + s.substr(from);
}

std::string exit_text(const Alert& a) {
  if (!a.exit_code) return "–";
  std::string t = std::to_string(*a.exit_code);
  if (!a.signal.empty()) t += " (" + a.signal + ")";
  if (a.oom) t += ", OOM-killed";
  return t;
}

std::string duration_text(const Alert& a) {
  if (!a.duration_ms) return "–";
  if (*a.duration_ms < 1000) return std::to_string(*a.duration_ms) + " ms";
  return format_duration(std::chrono::seconds(*a.duration_ms / 1000));
}

std::string bytes_text(int64_t b) {
  char buf[32];
  if (b >= int64_t{1} << 30)
    std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(b) / (1 << 30));
  else if (b >= 1 << 20)
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(b) / (1 << 20));
  else
    std::snprintf(buf, sizeof buf, "%lld KiB", static_cast<long long>(b / 1024));
  return buf;
}

std::string last_success_text(const Alert& a) {
  std::string t = a.last_success ? schedule::format_iso8601_utc(*a.last_success) : "never seen";
  if (a.failed_since_success && *a.failed_since_success > 0)
    t += " (" + std::to_string(*a.failed_since_success) + (*a.failed_since_success == 1 ? " run" : " runs") +
         " failed since)";
  return t;
}

/// Name/value facts shared by every rich format.
std::vector<std::pair<std::string, std::string>> facts(const Alert& a, const std::string& host) {
  std::vector<std::pair<std::string, std::string>> f = {
      {"Host", host},
      {"Schedule", a.schedule.empty() ? "–" : a.schedule + (a.timezone.empty() ? "" : " (" + a.timezone + ")")},
      {"Last exit code", exit_text(a)},
      {"Duration", duration_text(a)},
      {"Source", a.source.empty() ? "–" : a.source},
  };
  if (!a.environment.empty()) f.emplace_back("Environment", a.environment);
  if (!a.key.empty() && a.kind != Alert::Kind::kDigest) f.emplace_back("Key", a.key);
  if (!a.user.empty()) f.emplace_back("User", a.user);
  if (!a.command.empty())
    f.emplace_back(a.kind == Alert::Kind::kRemoved ? "Removed command" : "Command",
                   a.command.size() > 500 ? a.command.substr(0, 500) + "…" : a.command);
  if (a.last_success || a.failed_since_success) f.emplace_back("Last success", last_success_text(a));
  if (a.peak_memory_bytes) f.emplace_back("Peak memory", bytes_text(*a.peak_memory_bytes));
  if (a.memory_limit_bytes) f.emplace_back("Memory limit", bytes_text(*a.memory_limit_bytes));
  if (!a.oom_victim.empty()) f.emplace_back("Killed by the kernel", a.oom_victim);
  if (a.kind == Alert::Kind::kCronDown && a.incident_opened.time_since_epoch().count())
    f.emplace_back("Down since", schedule::format_iso8601_utc(a.incident_opened));
  if (a.affected_jobs) f.emplace_back("Jobs affected", std::to_string(*a.affected_jobs));
  return f;
}

/// "Act: cronitor-agent pause KEY --for 2h · cronitor-agent history KEY", or "".
std::string act_line(const Alert& a, const std::string& sep) {
  std::string out;
  for (const auto& c : act_commands(a)) out += (out.empty() ? "" : sep) + c;
  return out;
}

/// The summary with the host named once: some summaries already say "on HOST".
std::string on_host(const Alert& a, const std::string& host) {
  if (host.empty() || a.summary.find(" on " + host) != std::string::npos) return a.summary;
  return a.summary + " on " + host;
}

bool good(const Alert& a) { return is_recovery(a.kind) || a.kind == Alert::Kind::kTest; }
/// A notice, not an emergency: nobody has to get up for it.
bool notice(const Alert& a) {
  return a.kind == Alert::Kind::kRemoved || a.kind == Alert::Kind::kDigest || a.kind == Alert::Kind::kSkipped ||
         is_host_notice(a.kind);
}
int color(const Alert& a) { return good(a) ? 0x2EB67D : notice(a) ? 0x9E9E9E : 0xE01E5A; }
std::string color_hex(const Alert& a) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%06X", static_cast<unsigned>(color(a)));
  return buf;
}

std::string title(const Alert& a) {
  std::string prefix = good(a) ? "✅ " : "🚨 ";
  if (a.kind == Alert::Kind::kTest) prefix = "🔔 ";
  if (a.kind == Alert::Kind::kDigest) prefix = "🔕 ";
  if (a.kind == Alert::Kind::kRemoved || a.kind == Alert::Kind::kSkipped || is_host_notice(a.kind)) prefix = "ℹ️ ";
  if (a.kind == Alert::Kind::kZoneChanged) prefix = "⚠️ ";  // a restart to do, not a job down
  return prefix + a.summary;
}

/// Text from the host (job names from crontabs, command lines, output) inside Slack mrkdwn or a
/// Teams card's HTML: &, < and > escaped, as Slack asks, so a user's job named "<!channel>" or
/// printing "</pre><a href=...>" pings no one and adds no link.
std::string markup_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '&')
      out += "&amp;";
    else if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else
      out += c;
  }
  return out;
}

/// The detail (the evaluator says there where the incident stands).
const std::string& full_detail(const Alert& a) { return a.detail; }

}  // namespace

std::string pagerduty_url() {
  const char* env = std::getenv("CRONITOR_PAGERDUTY_URL");
  return env && *env ? env : "https://events.pagerduty.com/v2/enqueue";
}

std::string slack_body(const Alert& a, const std::string& host) {
  json fields = json::array();
  for (const auto& [name, value] : facts(a, host))
    fields.push_back({{"type", "mrkdwn"}, {"text", "*" + name + "*\n" + markup_text(value)}});
  json blocks = json::array();
  blocks.push_back({{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", "*" + markup_text(title(a)) + "*"}}}});
  if (const std::string d = full_detail(a); !d.empty())
    blocks.push_back({{"type", "section"}, {"text", {{"type", "plain_text"}, {"text", d.substr(0, 2900)}}}});
  // Slack shows at most 10 fields in a section: the rest go in a second one.
  for (size_t from = 0; from < fields.size(); from += 10)
    blocks.push_back({{"type", "section"},
                      {"fields", json(std::vector<json>(fields.begin() + from,
                                                        fields.begin() + std::min(fields.size(), from + 10)))}});
  if (const std::string act = act_line(a, "`\n`"); !act.empty())
    blocks.push_back(
        {{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", "*To act*\n`" + markup_text(act) + "`"}}}});
  if (!a.output_tail.empty())
    blocks.push_back({{"type", "section"},
                      {"text",
                       {{"type", "mrkdwn"},
                        {"text", "*Output (tail)*\n```" + markup_text(tail(a.output_tail, kTailInMessage)) + "```"}}}});
  blocks.push_back({{"type", "context"},
                    {"elements", json::array({{{"type", "mrkdwn"},
                                               {"text", "cronitor-agent · " + std::string(kind_name(a.kind)) + " · " +
                                                            schedule::format_iso8601_utc(a.at)}}})}});
  json body = {{"text", markup_text(on_host(a, host))}, {"blocks", blocks}};
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string webhook_body(const Alert& a, const std::string& host) {
  const char* incident =
      a.kind == Alert::Kind::kRemoved || a.kind == Alert::Kind::kTest || a.kind == Alert::Kind::kDigest ? "none"
      : is_recovery(a.kind)                                                                             ? "resolved"
      : a.update                                                                                        ? "updated"
                                                                                                        : "opened";
  json j = {
      {"version", 1},
      {"event", kind_name(a.kind)},
      {"incident", incident},
      {"key", a.key},
      {"name", a.name},
      {"host", host},
      {"summary", a.summary},
      {"detail", a.detail},
      {"at", schedule::format_iso8601_utc(a.at)},
      {"incident_opened_at",
       a.incident_opened.time_since_epoch().count() ? json(schedule::format_iso8601_utc(a.incident_opened)) : json()},
      {"schedule", a.schedule},
      {"timezone", a.timezone},
      {"environment", a.environment},
      {"source", a.source},
      {"exit_code", a.exit_code ? json(*a.exit_code) : json()},
      {"signal", a.signal.empty() ? json() : json(a.signal)},
      {"oom", a.oom},
      {"duration_ms", a.duration_ms ? json(*a.duration_ms) : json()},
      {"output_tail", a.output_tail},
      {"expected_at", a.expected ? json(schedule::format_iso8601_utc(*a.expected)) : json()},
      {"down_for_seconds", a.down_for ? json(a.down_for->count()) : json()}};
  // Added for the on-call reader (version 1 stays: fields are only ever added).
  auto opt = [](const auto& v) { return v ? json(*v) : json(); };
  j["user"] = a.user.empty() ? json() : json(a.user);
  j["command"] = a.command.empty() ? json() : json(a.command);
  j["last_success_at"] = a.last_success ? json(schedule::format_iso8601_utc(*a.last_success)) : json();
  j["failed_since_success"] = opt(a.failed_since_success);
  j["peak_memory_bytes"] = opt(a.peak_memory_bytes);
  j["memory_limit_bytes"] = opt(a.memory_limit_bytes);
  j["oom_victim"] = a.oom_victim.empty() ? json() : json(a.oom_victim);
  j["affected_jobs"] = opt(a.affected_jobs);
  j["commands"] = act_commands(a);
  j["alert_number"] = a.alert_number > 0 ? json(a.alert_number) : json();
  j["going_quiet"] = a.going_quiet;
  j["folded_faults"] = a.folded_faults;
  if (is_host_notice(a.kind)) j["incident"] = "none";
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

namespace {

/// The alert with what a job's owner can name (its name, command, output, file, the messages
/// that quote them) escaped as on a terminal: an ESC or bell byte in a user's job name is shown as
/// `\e` or `\x07` in Slack, in a mail reader and in PagerDuty alike, never passed on to act there.
Alert escaped_alert(const Alert& a) {
  Alert s = a;
  for (std::string* f : {&s.name, &s.summary, &s.source, &s.schedule, &s.timezone, &s.environment, &s.user, &s.command,
                         &s.signal, &s.oom_victim})
    *f = escape_text(*f);
  s.detail = escape_lines(a.detail);
  s.output_tail = escape_lines(a.output_tail);
  return s;
}

OutgoingMessage format_shown(const Alert& a, const NotifyTarget& t, const std::string& host,
                             const AlertmanagerTiming& am);

}  // namespace

OutgoingMessage format_alert(const Alert& a, const NotifyTarget& t, const std::string& host,
                             const AlertmanagerTiming& am) {
  return format_shown(escaped_alert(a), t, host, am);
}

namespace {

OutgoingMessage format_shown(const Alert& a, const NotifyTarget& t, const std::string& host,
                             const AlertmanagerTiming& am) {
  OutgoingMessage m;
  switch (t.kind) {
    case NotifyTarget::Kind::kSlack:
      m.url = t.address;
      m.body = slack_body(a, host);
      break;
    case NotifyTarget::Kind::kWebhook:
      m.url = t.address;
      m.body = webhook_body(a, host);
      break;
    case NotifyTarget::Kind::kDiscord: {
      m.url = t.address;
      json fields = json::array();
      for (const auto& [name, value] : facts(a, host))
        fields.push_back({{"name", name}, {"value", value}, {"inline", true}});
      if (!a.output_tail.empty())
        fields.push_back(
            {{"name", "Output (tail)"}, {"value", "```" + tail(a.output_tail, 900) + "```"}, {"inline", false}});
      if (const std::string act = act_line(a, "\n"); !act.empty())
        fields.push_back({{"name", "To act"}, {"value", "```" + act + "```"}, {"inline", false}});
      json embed = {{"title", title(a).substr(0, 250)},
                    {"description", full_detail(a).substr(0, 2000)},
                    {"color", color(a)},
                    {"fields", fields},
                    {"timestamp", schedule::format_iso8601_utc(a.at)}};
      // No @everyone, @here, role or user ping, whatever a job's name or output says.
      m.body = json({{"content", a.summary.substr(0, 1900)},
                     {"embeds", json::array({embed})},
                     {"allowed_mentions", {{"parse", json::array()}}}})
                   .dump(-1, ' ', false, json::error_handler_t::replace);
      break;
    }
    case NotifyTarget::Kind::kTeams: {
      m.url = t.address;
      json f = json::array();
      for (const auto& [name, value] : facts(a, host)) f.push_back({{"name", name}, {"value", markup_text(value)}});
      json sections = json::array(
          {{{"activityTitle", markup_text(a.name)}, {"activitySubtitle", markup_text(full_detail(a))}, {"facts", f}}});
      if (!a.output_tail.empty())
        sections.push_back({{"title", "Output (tail)"},
                            {"text", "<pre>" + markup_text(tail(a.output_tail, kTailInMessage)) + "</pre>"}});
      if (const std::string act = act_line(a, "\n"); !act.empty())
        sections.push_back({{"title", "To act"}, {"text", "<pre>" + markup_text(act) + "</pre>"}});
      m.body = json({{"@type", "MessageCard"},
                     {"@context", "http://schema.org/extensions"},
                     {"summary", a.summary},
                     {"themeColor", color_hex(a)},
                     {"title", markup_text(title(a))},
                     {"sections", sections}})
                   .dump(-1, ' ', false, json::error_handler_t::replace);
      break;
    }
    case NotifyTarget::Kind::kPagerDuty: {
      m.url = pagerduty_url();
      json details = json::parse(webhook_body(a, host));
      const bool resolve = is_recovery(a.kind);
      json body = {{"routing_key", t.address},
                   {"event_action", resolve ? "resolve" : "trigger"},
                   {"dedup_key", "cronitor-agent/" + host + "/" + a.key + "/" +
                                     std::to_string(a.incident_opened.time_since_epoch().count())},
                   {"client", "cronitor-agent"}};
      if (!resolve)
        body["payload"] = {{"summary", a.summary.substr(0, 1000)},
                           {"source", host},
                           {"severity", a.kind == Alert::Kind::kTest || a.kind == Alert::Kind::kRemoved ? "info"
                                        : a.kind == Alert::Kind::kDigest                                ? "warning"
                                                                                                        : "error"},
                           {"component", a.key},
                           {"class", kind_name(a.kind)},
                           {"timestamp", schedule::format_iso8601_utc(a.at)},
                           {"custom_details", details}};
      if (!resolve && is_host_notice(a.kind)) body["payload"]["severity"] = "warning";
      m.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
      break;
    }
    case NotifyTarget::Kind::kAlertmanager:
      m.url = uplink::alertmanager_url(t.address);
      m.body = uplink::alertmanager_body(to_alertmanager(a, host, am));
      break;
    case NotifyTarget::Kind::kEmail: {
      m.mail_to = t.address;
      m.content_type = "text/plain; charset=utf-8";
      std::string subject = on_host(a, host);
      for (char& c : subject)
        if (c == '\n' || c == '\r') c = ' ';
      std::string text = "To: " + t.address + "\nSubject: [cronitor-agent] " + subject +
                         "\nContent-Type: text/plain; charset=utf-8\nMIME-Version: 1.0\n\n" + a.summary + "\n\n";
      if (const std::string d = full_detail(a); !d.empty()) text += d + "\n\n";
      for (const auto& [name, value] : facts(a, host)) text += name + ": " + value + "\n";
      if (const std::string act = act_line(a, "\n  "); !act.empty()) text += "\nTo act:\n  " + act + "\n";
      if (!a.output_tail.empty()) text += "\nOutput (tail):\n" + tail(a.output_tail, 4000) + "\n";
      text += "\n-- \ncronitor-agent, " + schedule::format_iso8601_utc(a.at) + "\n";
      m.body = std::move(text);
      break;
    }
  }
  if (m.url.size() && m.content_type == "application/json") m.headers.push_back("Content-Type: application/json");
  return m;
}

}  // namespace

}  // namespace cronitor::uplink
