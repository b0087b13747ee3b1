// The per-job comment a sysadmin writes above a crontab line:
//   # cronitor: grace=10m failure_tolerance=2 notify=oncall,default
#include <cctype>

#include "agent/config/config.h"
#include "agent/eval/monitor_schedule.h"
#include "agent/eval/run_outcome.h"
#include "common/duration.h"
#include "common/text.h"
#include "uplink/upstream.h"

namespace cronitor::agent {
namespace {

Result<int> small_int(std::string_view key, std::string_view v, int hi) {
  int out = 0;
  if (v.empty() || v.size() > 6) return fail(std::string(key) + "=" + std::string(v) + ": not a number");
  for (char c : v) {
    if (!std::isdigit(static_cast<unsigned char>(c)))
      return fail(std::string(key) + "=" + std::string(v) + ": not a number");
    out = out * 10 + (c - '0');
  }
  if (out > hi) return fail(std::string(key) + "=" + std::string(v) + ": at most " + std::to_string(hi));
  return out;
}

std::vector<std::string> split_list(std::string_view v) {
  std::vector<std::string> out;
  while (!v.empty()) {
    auto comma = v.find(',');
    auto item = trim_space(v.substr(0, comma));
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace

void MonitorOverrides::merge(const MonitorOverrides& o) {
  auto take = [](auto& dst, const auto& src) {
    if (src) dst = src;
  };
  take(name, o.name);
  take(schedule, o.schedule);
  take(type, o.type);
  take(timezone, o.timezone);
  take(environment, o.environment);
  take(slug, o.slug);
  take(cronitor_key, o.cronitor_key);
  take(healthchecks_uuid, o.healthchecks_uuid);
  take(healthchecks_slug, o.healthchecks_slug);
  take(sentry_slug, o.sentry_slug);
  take(grace, o.grace);
  take(realert_interval, o.realert_interval);
  take(failure_tolerance, o.failure_tolerance);
  take(failure_window, o.failure_window);
  take(success_codes, o.success_codes);
  take(warning_codes, o.warning_codes);
  take(warning_tolerance, o.warning_tolerance);
  take(max_runs_per_slot, o.max_runs_per_slot);
  take(schedule_tolerance, o.schedule_tolerance);
  take(consecutive_alert_threshold, o.consecutive_alert_threshold);
  take(recovery_threshold, o.recovery_threshold);
  take(assertions, o.assertions);
  take(notify, o.notify);
  take(paused, o.paused);
  take(alert_on_skip, o.alert_on_skip);
}

Result<MonitorOverrides> parse_job_comment(std::string_view comment) {
  constexpr size_t kMaxComment = 4096;
  MonitorOverrides out;
  if (comment.size() > kMaxComment) return fail("cronitor comment longer than 4096 bytes");
  std::string_view s = trim_space(comment);
  if (s.starts_with('#')) s = trim_space(s.substr(1));
  constexpr std::string_view kTag = "cronitor:";
  if (!s.starts_with(kTag)) return out;
  s = trim_space(s.substr(kTag.size()));
  while (!s.empty()) {
    size_t end = 0;
    // A value may be double-quoted to hold spaces: assertion="metric.duration < 5m".
    auto eq = s.find('=');
    std::string_view word = s.substr(0, s.find_first_of(" \t"));
    if (eq == std::string_view::npos || eq > word.size()) {
      if (word == "ignore") return fail("ignore is handled by discovery, not a setting");
      return fail("\"" + std::string(word) + "\": expected NAME=VALUE");
    }
    std::string_view key = s.substr(0, eq);
    std::string value;
    if (eq + 1 < s.size() && s[eq + 1] == '"') {
      auto close = s.find('"', eq + 2);
      if (close == std::string_view::npos) return fail(std::string(key) + ": unterminated quote");
      value = std::string(s.substr(eq + 2, close - eq - 2));
      end = close + 1;
    } else {
      end = s.find_first_of(" \t", eq);
      if (end == std::string_view::npos) end = s.size();
      value = std::string(s.substr(eq + 1, end - eq - 1));
    }
    s = trim_space(s.substr(end));
    if (key == "grace" || key == "grace_seconds") {
      auto d = parse_duration(value);
      if (!d) return fail(std::string(key) + ": " + d.error().message);
      out.grace = *d;
    } else if (key == "realert_interval") {
      auto d = parse_duration(value);
      if (!d) return fail(std::string(key) + ": " + d.error().message);
      out.realert_interval = *d;
    } else if (key == "failure_tolerance" && value.find(" of ") != std::string_view::npos) {
      auto w = parse_failure_window(value);
      if (!w) return fail(std::string(key) + ": " + w.error().message);
      out.failure_tolerance = w->failures;
      out.failure_window = w->runs;
    } else if (key == "success_codes" || key == "warning_codes") {
      auto codes = parse_exit_codes(value);
      if (!codes) return fail(std::string(key) + ": " + codes.error().message);
      (key == "success_codes" ? out.success_codes : out.warning_codes) = *codes;
    } else if (key == "failure_tolerance" || key == "schedule_tolerance" || key == "consecutive_alert_threshold" ||
               key == "recovery_threshold" || key == "warning_tolerance" || key == "max_runs_per_slot") {
      auto n = small_int(key, value, 1000);
      if (!n) return std::unexpected(n.error());
      if (key == "failure_tolerance") out.failure_tolerance = *n, out.failure_window = 0;
      if (key == "warning_tolerance") out.warning_tolerance = *n;
      if (key == "max_runs_per_slot") out.max_runs_per_slot = *n;
      if (key == "schedule_tolerance") out.schedule_tolerance = *n;
      if (key == "consecutive_alert_threshold") out.consecutive_alert_threshold = *n;
      if (key == "recovery_threshold") out.recovery_threshold = *n;
    } else if (key == "notify") {
      out.notify = split_list(value);
    } else if (key == "name") {
      out.name = value;
    } else if (key == "environment" || key == "env") {
      out.environment = value;
    } else if (key == "slug") {
      if (!uplink::valid_slug(value)) return fail("slug: " + std::string(kSlugRule));
      out.slug = value;
    } else if (key == "cronitor_key" || key == "healthchecks_uuid" || key == "healthchecks_slug" ||
               key == "sentry_slug") {
      if (auto bad = uplink::identity_problem(key, value); !bad.empty()) return fail(bad);
      (key == "cronitor_key"        ? out.cronitor_key
       : key == "healthchecks_uuid" ? out.healthchecks_uuid
       : key == "healthchecks_slug" ? out.healthchecks_slug
                                    : out.sentry_slug) = value;
    } else if (key == "adopted" || key == "original") {
      // `wrap --adopt`'s record of the tool and the command it replaced, which `unwrap` reads.
    } else if (key == "timezone" || key == "tz") {
      out.timezone = value;
    } else if (key == "paused") {
      if (value != "true" && value != "false") return fail("paused: expected true or false");
      out.paused = value == "true";
    } else if (key == "alert_on_skip") {
      if (value != "true" && value != "false") return fail("alert_on_skip: expected true or false");
      out.alert_on_skip = value == "true";
    } else if (key == "assertion" || key == "assertions") {
      if (!out.assertions) out.assertions.emplace();
      for (const auto& text : split_list(value)) {
        auto a = Assertion::parse(text);
        if (!a) return std::unexpected(a.error());
        out.assertions->push_back(*a);
      }
    } else if (key == "schedule") {
      if (auto sch = parse_monitor_schedule(value); !sch) return std::unexpected(sch.error());
      out.schedule = value;
    } else {
      return fail("unknown setting \"" + std::string(key) +
                  "\" (grace, failure_tolerance, schedule_tolerance, notify, name, environment, slug, cronitor_key, "
                  "healthchecks_uuid, healthchecks_slug, sentry_slug, "
                  "timezone, paused, assertion, realert_interval, recovery_threshold, "
                  "consecutive_alert_threshold, success_codes, warning_codes, warning_tolerance, max_runs_per_slot, "
                  "alert_on_skip)");
    }
  }
  return out;
}

}  // namespace cronitor::agent
