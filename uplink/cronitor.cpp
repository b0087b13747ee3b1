// Cronitor: telemetry as GET {telemetry_url}/p/{api_key}/{key}?state=...; monitors upserted with
// PUT {api_url}/monitors (a JSON array, HTTP basic auth with the key as user).
#include <nlohmann/json.hpp>

#include "uplink/upstream.h"
#include "uplink/upstream_schedule.h"

namespace cronitor::uplink {
namespace {

constexpr size_t kMessageBytes = 1000;  // what cronitor-cli sends of a run's output

std::string trim_slash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

std::string seconds_text(int64_t ms) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%lld.%03lld", static_cast<long long>(ms / 1000), static_cast<long long>(ms % 1000));
  return buf;
}

std::string number_text(double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

class Cronitor final : public Upstream {
 public:
  explicit Cronitor(CronitorSettings s) : s_(std::move(s)) {}
  const std::string& name() const override { return name_; }
  std::vector<std::string> secrets() const override { return {s_.api_key}; }

  HttpRequest telemetry(const Telemetry& t, const MonitorInfo* m) const override {
    HttpRequest r;
    // A job adopted from `cronitor exec KEY` reports to that monitor, as it did before.
    const std::string& key = m && !m->cronitor_key.empty() ? m->cronitor_key : t.key;
    r.url = trim_slash(s_.telemetry_url) + "/p/" + url_encode(s_.api_key) + "/" + url_encode(key) +
            "?state=" + state_name(t.state);
    auto add = [&r](const char* k, const std::string& v) { r.url += std::string("&") + k + "=" + url_encode(v); };
    if (!t.run_id.empty()) add("series", t.run_id);
    if (!t.host.empty()) add("host", t.host);
    const std::string& env = t.environment.empty() ? s_.environment : t.environment;
    if (!env.empty()) add("env", env);
    if (t.exit_code) add("status_code", std::to_string(*t.exit_code));
    if (t.duration_ms) add("duration", seconds_text(*t.duration_ms));
    for (const auto& [name, value] : t.metrics) add("metric", name + ":" + number_text(value));
    // What matters first (exit code or signal, OOM, a fault), then as much of the output's end as
    // fits: a long output must not push "exit 3" out of the 1000 bytes.
    std::string message = outcome_line(t);
    if (message.size() > kMessageBytes) {
      size_t cut = kMessageBytes;
      while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80) --cut;
      message.resize(cut);
    }
    if (t.state != Telemetry::State::kRun && !t.output_tail.empty() && message.size() + 1 < kMessageBytes) {
      if (!message.empty()) message += "\n";
      message += utf8_tail(t.output_tail, kMessageBytes - message.size());
    }
    if (!message.empty()) add("message", message);
    if (t.ts_ms > 0) add("stamp", seconds_text(t.ts_ms));
    return r;
  }

  std::optional<HttpRequest> sync(const std::vector<MonitorInfo>& monitors) const override {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& m : monitors) {
      // An adopted monitor exists in Cronitor already, set up by its owner: its settings stay theirs.
      if (!m.cronitor_key.empty()) continue;
      nlohmann::json j = {{"key", m.key},
                          {"name", m.name},
                          {"type", m.type},
                          {"grace_seconds", m.grace_seconds},
                          {"failure_tolerance", m.failure_tolerance},
                          {"schedule_tolerance", m.schedule_tolerance},
                          {"consecutive_alert_threshold", m.consecutive_alert_threshold},
                          {"assertions", m.assertions},
                          {"notify", m.notify},
                          {"note", m.note}};
      // Only forms Cronitor reads as the agent does (rows queued by an older agent may hold others).
      if (is_plain_crontab(m.schedule) || parse_interval(m.schedule)) j["schedule"] = m.schedule;
      if (is_iana_zone(m.timezone)) j["timezone"] = m.timezone;
      list.push_back(std::move(j));
    }
    HttpRequest r;
    r.method = "PUT";
    r.url = trim_slash(s_.api_url) + "/monitors";
    r.userpwd = s_.api_key + ":";
    r.headers = {"Content-Type: application/json"};
    r.body = list.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return r;
  }

 private:
  CronitorSettings s_;
  std::string name_ = "cronitor";
};

}  // namespace

std::unique_ptr<Upstream> make_cronitor(const CronitorSettings& s) { return std::make_unique<Cronitor>(s); }

}  // namespace cronitor::uplink
