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

}  // namespace

std::string alertmanager_url(std::string_view base) {
  std::string b(base);
  while (!b.empty() && b.back() == '/') b.pop_back();
  return b + "/api/v2/alerts";
}

std::string alertmanager_body(const AlertmanagerAlert& a) {
  nlohmann::json alert = {
      {"labels",
       {{"alertname", a.alertname}, {"key", a.key}, {"job", a.job}, {"host", a.host}, {"severity", a.severity}}},
      {"annotations", {{"summary", a.summary}, {"description", a.description}}},
      {"startsAt", rfc3339(a.starts_ms)}};
  if (a.ends_ms) alert["endsAt"] = rfc3339(*a.ends_ms);
  return nlohmann::json::array({alert}).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace cronitor::uplink
