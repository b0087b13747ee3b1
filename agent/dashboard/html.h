// HTML text for the dashboard's pages: the one escaping function and small formatting helpers.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "schedule/zone.h"

namespace cronitor::agent::dashboard {

using schedule::Instant;

/// `text` safe inside an element or a quoted attribute: & < > " ' as entities, NUL and other C0
/// controls (but tab, LF, CR) and bytes that are not UTF-8 as U+FFFD. Every job-controlled text
/// goes through here.
std::string escape(std::string_view text);
/// `text` as one URL path segment or query value: every byte but A-Z a-z 0-9 - . _ ~ as %XX.
std::string url_component(std::string_view text);
/// The fields of an application/x-www-form-urlencoded body ("a=1&b=x+y%21"): '+' as space, %XX
/// decoded (a bad escape kept as written); a field given twice keeps its first value.
std::map<std::string, std::string> parse_form(std::string_view body);
/// `escape` of a JSON string; "-" for null or anything else that is not a string.
std::string escape_json(const nlohmann::json& j);
/// "221 ms" below a second, else "2m 5s"; "-" when `ms` is not a number.
std::string duration_text(const nlohmann::json& ms);
/// "5 min ago", "in 2 h", from an ISO 8601 UTC text of status/history JSON; "" when unreadable.
std::string relative_text(const nlohmann::json& iso, Instant now);
/// "2026-12-06T04:00:00Z (5 min ago)" as HTML, the relative part muted; "-" when `iso` is no text.
std::string when_text(const nlohmann::json& iso, Instant now);
/// Milliseconds since the epoch of an ISO 8601 text; nullopt when it is not one.
std::optional<int64_t> iso_ms(const nlohmann::json& iso);
/// The `schedule explain` words for a cron or OnCalendar expression; "" when neither parses.
std::string schedule_words(std::string_view expr);
/// The member `name` of a status/history JSON object; null when `j` is no object or lacks it.
const nlohmann::json& field(const nlohmann::json& j, const char* name);
/// The page around `body`: doctype, charset, title, the one inline style sheet.
std::string page(std::string_view title, std::string_view body);

}  // namespace cronitor::agent::dashboard
