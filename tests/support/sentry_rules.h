// What Sentry's servers check of a cron check-in and its monitor_config (its monitor config
// validator and relay): a fake receiver's rules, so a test fails where the real server would drop
// the check-in. Returns what Sentry would refuse, empty when it takes the check-in.
#pragma once

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "schedule/schedule.h"

namespace cronitor::testing {

/// The names Sentry takes as `timezone`: the zone files of the system's zoneinfo tree (TZif),
/// without the posix/ and right/ copies and the "localtime"/"posixrules" links, as Python's
/// zoneinfo.available_timezones() lists them.
inline const std::set<std::string>& zoneinfo_names() {
  static const std::set<std::string> names = [] {
    std::set<std::string> out;
    namespace fs = std::filesystem;
    const fs::path root = "/usr/share/zoneinfo";
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      const std::string rel = it->path().lexically_relative(root).string();
      if (it->is_directory() && (rel == "posix" || rel == "right")) {
        it.disable_recursion_pending();
        continue;
      }
      if (!it->is_regular_file() || rel == "localtime" || rel == "posixrules") continue;
      std::ifstream in(it->path(), std::ios::binary);
      char magic[4] = {};
      in.read(magic, 4);
      if (std::string(magic, 4) == "TZif") out.insert(rel);
    }
    return out;
  }();
  return names;
}

inline std::vector<std::string> sentry_refuses(const nlohmann::json& checkin) {
  std::vector<std::string> why;
  auto integer_in = [&](const nlohmann::json& c, const char* k, int64_t lo, int64_t hi) {
    if (!c.contains(k) || c[k].is_null()) return;
    if (!c[k].is_number_integer() || c[k].get<int64_t>() < lo || c[k].get<int64_t>() > hi)
      why.push_back(std::string(k) + " must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi) +
                    ": " + c[k].dump());
  };
  const std::string status = checkin.value("status", "");
  if (status != "in_progress" && status != "ok" && status != "error") why.push_back("status: " + status);
  if (checkin.contains("check_in_id")) {
    const std::string id = checkin["check_in_id"].is_string() ? checkin["check_in_id"].get<std::string>() : "";
    if (id.size() != 32 || id.find_first_not_of("0123456789abcdef") != std::string::npos)
      why.push_back("check_in_id is not 32 hex digits: " + checkin["check_in_id"].dump());
  }
  if (checkin.contains("duration") && (!checkin["duration"].is_number() || checkin["duration"].get<double>() < 0))
    why.push_back("duration: " + checkin["duration"].dump());
  if (!checkin.contains("monitor_config")) return why;
  const auto& c = checkin["monitor_config"];
  const auto& s = c.value("schedule", nlohmann::json());
  const std::string type = s.is_object() ? s.value("type", "") : "";
  if (type == "interval") {
    static const std::set<std::string> units = {"minute", "hour", "day", "week", "month", "year"};
    if (!s["value"].is_number_integer() || s["value"].get<int64_t>() <= 0) why.push_back("interval value " + s.dump());
    if (!s["unit"].is_string() || !units.contains(s["unit"].get<std::string>()))
      why.push_back("interval unit " + s.dump());
  } else if (type == "crontab") {
    const std::string v = s["value"].is_string() ? s["value"].get<std::string>() : "";
    size_t fields = 0;
    bool in = false;
    for (char ch : v) {
      if (ch == ' ' || ch == '\t') {
        in = false;
      } else if (!in) {
        ++fields;
        in = true;
      }
    }
    if (fields != 5 || v.starts_with("@")) why.push_back("Only 5 field crontab syntax is supported: " + v);
    // A stand-in for Sentry's cron parser: Debian's dialect (no L, W, #).
    else if (!schedule::Schedule::parse(v, schedule::Kind::kCron, schedule::CronDialect::kDebian))
      why.push_back("Schedule is invalid: " + v);
  } else {
    why.push_back("Missing or invalid schedule type: " + s.dump());
  }
  integer_in(c, "checkin_margin", 1, 40320);
  integer_in(c, "max_runtime", 1, 40320);
  integer_in(c, "failure_issue_threshold", 1, 720);
  integer_in(c, "recovery_threshold", 1, 720);
  if (c.contains("timezone") &&
      (!c["timezone"].is_string() || !zoneinfo_names().contains(c["timezone"].get<std::string>())))
    why.push_back("\"" + c["timezone"].dump() + "\" is not a valid choice (timezone)");
  return why;
}

}  // namespace cronitor::testing
