// Prometheus Alertmanager as an alert target ("alertmanager:URL"): POST {URL}/api/v2/alerts with a
// JSON array of alerts; labels identify the alert, endsAt says until when it fires.
//
// Alertmanager ends an alert posted without endsAt after its resolve_timeout (5 min by default),
// and one posted with endsAt at that time. So an open incident's alert is posted with endsAt a few
// re-post intervals ahead and posted again every interval while the incident is open
// (agent/daemon/daemon_alerts.cpp, uplink/alertmanager_resend.h), as Prometheus does with its
// own alerts (valid for 4 x its resend delay); the recovery is posted once with endsAt set to the
// time the incident resolved.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "uplink/alert.h"

namespace cronitor::uplink {

struct AlertmanagerAlert {
  std::string alertname;  // "CronitorJobProblem", ...
  // Labels follow Prometheus' conventions: `job` names the scrape job there, so the cron job is
  // `cron_job` (its name for people); `key` is the monitor's key, `host` the agent's host name.
  std::string key, cron_job, host;
  std::string severity = "critical";  // critical, warning, info
  std::string summary, description;
  int64_t starts_ms = 0;
  std::optional<int64_t> ends_ms;  // past: resolved at that time; future: firing until then
};

/// How often an open incident is posted again; endsAt is kAlertmanagerHorizon intervals ahead.
inline constexpr std::chrono::seconds kAlertmanagerResendDefault{60};
inline constexpr int kAlertmanagerHorizon = 4;
/// Alerts that nothing resolves (a test, a removal, a notice) fire this long after they are posted.
inline constexpr std::chrono::minutes kAlertmanagerNoticeLife{5};

/// When an alert is posted and how often it is posted again while its incident is open.
struct AlertmanagerTiming {
  Instant sent{};  // zero: the alert's own time
  std::chrono::seconds resend = kAlertmanagerResendDefault;
};

/// True when the alert belongs to an open incident that only a recovery ends: it is posted again
/// every interval until then.
bool alertmanager_keeps_firing(const Alert& a);
/// The Alertmanager alert for `a` posted at `timing.sent` by `host`.
AlertmanagerAlert to_alertmanager(const Alert& a, const std::string& host, const AlertmanagerTiming& timing);

/// {URL}/api/v2/alerts (a trailing "/" on URL is fine).
std::string alertmanager_url(std::string_view base);
std::string alertmanager_body(const AlertmanagerAlert& a);

}  // namespace cronitor::uplink
