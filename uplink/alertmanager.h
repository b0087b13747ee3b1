// Prometheus Alertmanager as an alert target ("alertmanager:URL"): POST {URL}/api/v2/alerts with a
// JSON array of alerts; labels identify the alert, endsAt marks it resolved.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace cronitor::uplink {

struct AlertmanagerAlert {
  std::string alertname;  // "CronitorJobFailed", ...
  std::string key, job, host;
  std::string severity = "critical";  // critical, warning, info
  std::string summary, description;
  int64_t starts_ms = 0;
  std::optional<int64_t> ends_ms;  // set: the alert is resolved at that time
};

/// {URL}/api/v2/alerts (a trailing "/" on URL is fine).
std::string alertmanager_url(std::string_view base);
std::string alertmanager_body(const AlertmanagerAlert& a);

}  // namespace cronitor::uplink
