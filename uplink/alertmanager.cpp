#include "uplink/alertmanager.h"

#include <ctime>
#include <nlohmann/json.hpp>

namespace cronitor::uplink {
namespace {

std::string rfc3339(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm;
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

int64_t ms(Instant t) { return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count(); }

bool expires_by_itself(Alert::Kind k) {
  return k == Alert::Kind::kTest || k == Alert::Kind::kRemoved || k == Alert::Kind::kDigest || is_host_notice(k);
}

}  // namespace

bool alertmanager_keeps_firing(const Alert& a) {
  return a.incident_opened.time_since_epoch().count() > 0 && !is_recovery(a.kind) && !expires_by_itself(a.kind);
}

AlertmanagerAlert to_alertmanager(const Alert& a, const std::string& host, const AlertmanagerTiming& timing) {
  // One alertname per key for the whole incident (its kind is an annotation): labels identify an
  // alert, so the re-posts and the resolution carry the labels of the alert they continue or end.
  AlertmanagerAlert am;
  am.alertname = a.kind == Alert::Kind::kTest                                 ? "CronitorTest"
                 : a.key.starts_with("host:") || a.key.starts_with("uplink:") ? "CronitorHostProblem"
                                                                              : "CronitorJobProblem";
  am.key = a.key;
  am.cron_job = a.name;
  am.host = host;
  am.severity = a.kind == Alert::Kind::kTest || a.kind == Alert::Kind::kRemoved ? "info" : "critical";
  if (is_host_notice(a.kind)) am.severity = "warning";
  am.summary = a.summary;
  am.description = std::string(kind_name(a.kind)) + (a.detail.empty() ? "" : ": " + a.detail);
  const Instant opened = a.incident_opened.time_since_epoch().count() > 0 ? a.incident_opened : a.at;
  am.starts_ms = ms(is_recovery(a.kind) ? opened : std::min(opened, a.at));
  // From the time it is posted, not the alert's: one that waited in the outbox (Alertmanager was
  // down) would otherwise arrive already ended.
  const Instant sent = std::max(a.at, timing.sent);
  if (is_recovery(a.kind))
    am.ends_ms = ms(a.at);
  else if (alertmanager_keeps_firing(a))
    am.ends_ms = ms(sent + kAlertmanagerHorizon * std::max(timing.resend, std::chrono::seconds(1)));
  else
    am.ends_ms = ms(sent + kAlertmanagerNoticeLife);
  return am;
}

std::string alertmanager_url(std::string_view base) {
  std::string b(base);
  while (!b.empty() && b.back() == '/') b.pop_back();
  return b + "/api/v2/alerts";
}

std::string alertmanager_body(const AlertmanagerAlert& a) {
  nlohmann::json alert = {{"labels",
                           {{"alertname", a.alertname},
                            {"key", a.key},
                            {"cron_job", a.cron_job},
                            {"host", a.host},
                            {"severity", a.severity}}},
                          {"annotations", {{"summary", a.summary}, {"description", a.description}}},
                          {"startsAt", rfc3339(a.starts_ms)}};
  if (a.ends_ms) alert["endsAt"] = rfc3339(*a.ends_ms);
  return nlohmann::json::array({alert}).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace cronitor::uplink
