// Sentry Crons over HTTP: POST {scheme}://{host}/api/{project_id}/cron/{slug}/{public_key}/ with a
// JSON check-in (status in_progress/ok/error, check_in_id, duration in seconds, environment).
// The run's first check-in carries monitor_config, so the host upserts the monitor.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "uplink/self_heartbeat.h"
#include "uplink/upstream.h"
#include "uplink/upstream_schedule.h"

namespace cronitor::uplink {

Result<SentryDsn> parse_sentry_dsn(std::string_view dsn) {
  SentryDsn d;
  const auto scheme_end = dsn.find("://");
  if (scheme_end == std::string_view::npos) return fail("not a DSN (expected https://PUBLIC_KEY@HOST/PROJECT_ID)");
  d.scheme = std::string(dsn.substr(0, scheme_end));
  if (d.scheme != "https" && d.scheme != "http") return fail("a DSN must start with https:// or http://");
  std::string_view rest = dsn.substr(scheme_end + 3);
  const auto at = rest.find('@');
  const auto slash = rest.rfind('/');
  if (at == std::string_view::npos || slash == std::string_view::npos || slash < at)
    return fail("not a DSN (expected https://PUBLIC_KEY@HOST/PROJECT_ID)");
  d.public_key = std::string(rest.substr(0, rest.find_first_of(":@")));  // a legacy ":secret" is dropped
  d.host = std::string(rest.substr(at + 1, slash - at - 1));
  d.project_id = std::string(rest.substr(slash + 1));
  while (!d.project_id.empty() && d.project_id.back() == '/') d.project_id.pop_back();
  if (d.public_key.empty() || d.host.empty() || d.project_id.empty() ||
      d.project_id.find_first_not_of("0123456789") != std::string::npos)
    return fail("DSN lacks a public key, host or numeric project id");
  return d;
}

namespace {

constexpr int64_t kMaxMinutes = 40320;  // Sentry's limit for checkin_margin and max_runtime (28 days)

class Sentry final : public Upstream {
 public:
  Sentry(SentrySettings s, SentryDsn d) : s_(std::move(s)), d_(std::move(d)) {}
  const std::string& name() const override { return name_; }
  std::vector<std::string> secrets() const override { return {d_.public_key}; }
  int per_job_per_minute() const override { return 6; }

  HttpRequest telemetry(const Telemetry& t, const MonitorInfo* m) const override {
    const std::string slug = m && !m->sentry_slug.empty() ? m->sentry_slug  // adopted from sentry-cli
                             : m && !m->slug.empty()      ? m->slug
                                                          : slugify(t.key);
    HttpRequest r;
    r.method = "POST";
    r.url = d_.scheme + "://" + d_.host + "/api/" + d_.project_id + "/cron/" + url_encode(slug) + "/" +
            url_encode(d_.public_key) + "/";
    r.headers = {"Content-Type: application/json"};
    nlohmann::json j;
    j["status"] = t.state == Telemetry::State::kRun        ? "in_progress"
                  : t.state == Telemetry::State::kComplete ? "ok"
                                                           : "error";
    std::string id;  // Sentry's check-in ids are UUIDs in 32 hex digits: the run id without dashes
    for (char c : t.run_id)
      if (c != '-') id += c;
    if (!id.empty()) j["check_in_id"] = id;
    if (t.duration_ms && t.state != Telemetry::State::kRun) j["duration"] = static_cast<double>(*t.duration_ms) / 1000;
    const std::string& env = t.environment.empty() ? s_.environment : t.environment;
    if (!env.empty()) j["environment"] = env;
    // A heartbeat is one `ok` check-in (no in_progress before it): it carries the config itself.
    if ((t.state == Telemetry::State::kRun || is_heartbeat(m)) && m) {
      if (auto config = monitor_config(*m)) j["monitor_config"] = *config;
    }
    r.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return r;
  }

  /// Sentry's monitor config, valid by its validator's rules (5-field crontab or interval in its
  /// units, an IANA zone from the zoneinfo list, whole minutes within its limits), or nullopt: a
  /// config Sentry refuses drops the check-in, one it reads differently alerts at the wrong times.
  static std::optional<nlohmann::json> monitor_config(const MonitorInfo& m) {
    nlohmann::json schedule;
    if (auto iv = parse_interval(m.schedule))
      schedule = {{"type", "interval"}, {"value", iv->value}, {"unit", iv->unit}};
    else if (is_plain_crontab(m.schedule))
      schedule = {{"type", "crontab"}, {"value", m.schedule}};
    else
      return std::nullopt;  // none, or one Sentry cannot take (rows queued by an older agent)
    if (!m.timezone.empty() && !is_iana_zone(m.timezone)) return std::nullopt;
    auto minutes = [](int64_t s) { return std::clamp<int64_t>((s + 59) / 60, 1, kMaxMinutes); };
    nlohmann::json c = {{"schedule", schedule},
                        {"checkin_margin", minutes(m.grace_seconds)},
                        {"failure_issue_threshold", std::clamp(m.failure_tolerance + 1, 1, 720)},
                        {"recovery_threshold", std::clamp(m.recovery_threshold, 1, 720)}};
    if (m.max_runtime_seconds) c["max_runtime"] = minutes(*m.max_runtime_seconds);
    if (!m.timezone.empty()) c["timezone"] = m.timezone;
    return c;
  }

 private:
  SentrySettings s_;
  SentryDsn d_;
  std::string name_ = "sentry";
};

}  // namespace

Result<std::unique_ptr<Upstream>> make_sentry(const SentrySettings& s) {
  auto d = parse_sentry_dsn(s.dsn);
  if (!d) return fail("uplink.sentry.dsn: " + d.error().message);
  return std::make_unique<Sentry>(s, std::move(*d));
}

}  // namespace cronitor::uplink
