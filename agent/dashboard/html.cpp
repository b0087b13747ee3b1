#include "agent/dashboard/html.h"

#include <algorithm>
#include <cctype>
#include <chrono>

#include "common/duration.h"
#include "common/text.h"
#include "schedule/iso8601.h"
#include "schedule/schedule.h"

namespace cronitor::agent::dashboard {

namespace {

std::string escape_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        // A browser drops or misreads C0 controls (NUL ends some parsers' text): show them as U+FFFD.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r')
          out += "\xEF\xBF\xBD";
        else
          out += c;
    }
  }
  return out;
}

}  // namespace

std::string escape(std::string_view text) {
  // Bytes that are not UTF-8 (a Latin-1 name, a file name, a job's binary output) as U+FFFD: the
  // pages are served as UTF-8, and their data is handed over as the daemon holds it, not as a
  // JSON line that replaced them already.
  if (std::any_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; }))
    return escape_utf8(replace_invalid_utf8(text));
  return escape_utf8(text);
}

std::string url_component(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::map<std::string, std::string> parse_form(std::string_view body) {
  auto decode = [](std::string_view in) {
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    std::string out;
    for (size_t i = 0; i < in.size(); ++i) {
      if (in[i] == '+') {
        out += ' ';
      } else if (in[i] == '%' && i + 2 < in.size() && hex(in[i + 1]) >= 0 && hex(in[i + 2]) >= 0) {
        out += static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2]));
        i += 2;
      } else {
        out += in[i];
      }
    }
    return out;
  };
  std::map<std::string, std::string> out;
  while (!body.empty()) {
    const size_t amp = body.find('&');
    std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    out.emplace(decode(pair.substr(0, eq)), eq == std::string_view::npos ? std::string() : decode(pair.substr(eq + 1)));
  }
  return out;
}

std::string escape_json(const nlohmann::json& j) { return j.is_string() ? escape(j.get<std::string>()) : "-"; }

std::string duration_text(const nlohmann::json& ms) {
  if (!ms.is_number()) return "-";
  const auto v = ms.get<int64_t>();
  if (v < 1000) return std::to_string(v) + " ms";
  return format_duration(std::chrono::seconds(v / 1000));
}

std::optional<int64_t> iso_ms(const nlohmann::json& iso) {
  if (!iso.is_string()) return std::nullopt;
  auto t = schedule::parse_iso8601(iso.get<std::string>(), schedule::Zone::utc());
  if (!t) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count();
}

std::string relative_text(const nlohmann::json& iso, Instant now) {
  auto ms = iso_ms(iso);
  if (!ms) return "";
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const int64_t d = now_ms - *ms;
  const int64_t s = (d < 0 ? -d : d) / 1000;
  std::string amount = s < 60      ? std::to_string(s) + " s"
                       : s < 3600  ? std::to_string(s / 60) + " min"
                       : s < 86400 ? std::to_string(s / 3600) + " h"
                                   : std::to_string(s / 86400) + " d";
  return d >= 0 ? amount + " ago" : "in " + amount;
}

std::string when_text(const nlohmann::json& iso, Instant now) {
  if (!iso.is_string()) return "-";
  std::string rel = relative_text(iso, now);
  return escape(iso.get<std::string>()) + (rel.empty() ? "" : " <span class=\"muted\">(" + rel + ")</span>");
}

std::string schedule_words(std::string_view expr) {
  if (auto s = schedule::Schedule::parse(expr, schedule::Kind::kCron)) return s->explain();
  if (auto s = schedule::Schedule::parse(expr, schedule::Kind::kSystemd)) return s->explain();
  return "";
}

namespace {

// One style sheet for every page, inline: hosts are often offline, so no asset is fetched.
constexpr std::string_view kStyle = R"(
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:10px 16px}header a{color:#fff}
main{padding:12px 16px}h1{font-size:18px;margin:0}h2{font-size:16px}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e3e6eb;vertical-align:top}
th{font-weight:600;background:#eef0f3}
.state{display:inline-block;padding:1px 8px;border-radius:9px;color:#fff;font-weight:600}
.s-ok{background:#2e8540}.s-failing,.s-failed{background:#c62828}.s-missed{background:#e67700}
.s-running{background:#1e66c8}.s-paused,.s-removed,.s-waiting,.s-unreported{background:#7a8290}
.facts{display:flex;flex-wrap:wrap;gap:4px 24px;margin:0 0 12px}.facts div b{font-weight:600}
.alert{background:#fde8e8;border:1px solid #c62828;padding:6px 10px;margin:0 0 12px}
.muted{color:#6b7280}code,pre{font:12px/1.3 ui-monospace,monospace}
pre{white-space:pre-wrap;max-height:20em;overflow:auto;background:#f3f4f6;padding:6px;margin:4px 0}
svg .ok{fill:#2e8540}svg .failed{fill:#c62828}svg .running{fill:#1e66c8}svg .missed{fill:#e67700}svg .other{fill:#7a8290}
svg .oom{stroke:#000;stroke-width:1.5}
svg.strip path{fill:none;stroke-width:16px;stroke-dasharray:5 1}svg.strip .ok{stroke:#2e8540}
svg.strip .failed{stroke:#c62828}svg.strip .missed{stroke:#e67700}svg.strip .running{stroke:#1e66c8}svg.strip .other{stroke:#7a8290}
svg.strip .oom{stroke:#6a1b9a;stroke-width:16px}svg .axis{stroke:#9aa1ad;stroke-width:1}svg text{font-size:10px;fill:#6b7280}
svg .max-runtime{stroke:#c62828;stroke-width:1;stroke-dasharray:4 3}svg .miss{fill:#e08a00}
form.filter{margin:0 0 12px}form.filter input,form.filter select{margin-right:8px}
form.act{display:inline-block;margin:0 12px 8px 0}form.act input{width:7em}
.done{background:#e6f4ea;border:1px solid #2e8540;padding:6px 10px;margin:0 0 12px}
nav a{color:#fff;margin-left:16px}table.inc td{font-size:13px}ul.sent{margin:0;padding-left:16px}
)";

}  // namespace

std::string page(std::string_view title, std::string_view body) {
  std::string out;
  out.reserve(body.size() + kStyle.size() + 256);
  out += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  out += "<meta name=\"viewport\" content=\"width=device-width\"><title>";
  out += escape(title);
  out += "</title><style>";
  out += kStyle;
  out += "</style></head><body>";
  out += body;
  out += "</body></html>\n";
  return out;
}

const nlohmann::json& field(const nlohmann::json& j, const char* name) {
  static const nlohmann::json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(name);
  return it == j.end() ? kNull : *it;
}

}  // namespace cronitor::agent::dashboard
