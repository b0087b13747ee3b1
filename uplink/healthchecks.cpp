// Healthchecks.io slug URLs: {ping_url}/{ping_key}/{slug}/start, /{slug}/{exit_code}, /{slug}/fail,
// with ?rid= tying a run's start and end and ?create=1 provisioning unknown slugs. The end
// ping carries the output tail as its body, cut to the last body_limit bytes as runitor does.
// The agent's own heartbeat is a plain {ping_url}/{ping_key}/{slug} success ping.
#include "uplink/healthchecks_api.h"
#include "uplink/self_heartbeat.h"
#include "uplink/upstream.h"

namespace cronitor::uplink {
namespace {

class Healthchecks final : public Upstream {
 public:
  explicit Healthchecks(HealthchecksSettings s) : s_(std::move(s)) {
    while (!s_.ping_url.empty() && s_.ping_url.back() == '/') s_.ping_url.pop_back();
    while (!s_.api_url.empty() && s_.api_url.back() == '/') s_.api_url.pop_back();
  }
  const std::string& name() const override { return name_; }
  std::vector<std::string> secrets() const override { return {s_.ping_key, s_.api_key}; }
  std::vector<std::string> secrets_of(const MonitorInfo& m) const override { return {m.healthchecks_uuid}; }

  std::optional<HttpRequest> check(const MonitorInfo& m) const override {
    // An adopted check (runitor's UUID or slug, a curl ping) is its owner's: its settings stay theirs.
    if (s_.api_key.empty() || !m.healthchecks_uuid.empty() || !m.healthchecks_slug.empty()) return std::nullopt;
    auto body = healthchecks_check_body(m, nullptr);
    if (!body) return std::nullopt;
    HttpRequest r;
    r.method = "POST";
    r.url = s_.api_url + "/api/v3/checks/";
    r.headers = {"Content-Type: application/json", "X-Api-Key: " + s_.api_key};  // never in the URL
    r.body = body->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return r;
  }
  int checks_per_minute() const override { return kHealthchecksApiPerMinute; }

  HttpRequest telemetry(const Telemetry& t, const MonitorInfo* m) const override {
    HttpRequest r;
    // A job adopted from runitor or a curl ping keeps its check: by UUID, or by its own slug.
    if (m && !m->healthchecks_uuid.empty()) {
      r.url = s_.ping_url + "/" + url_encode(m->healthchecks_uuid);
    } else {
      const std::string slug = m ? healthchecks_slug(*m) : slugify(t.key);
      r.url = s_.ping_url + "/" + url_encode(s_.ping_key) + "/" + url_encode(slug);
    }
    if (is_heartbeat(m)) {  // the agent's own liveness: a plain success ping, no run
      if (s_.create) r.url += "?create=1";
      return r;
    }
    if (t.state == Telemetry::State::kRun)
      r.url += "/start";
    else if (t.exit_code && t.state == Telemetry::State::kComplete)
      r.url += "/" + std::to_string(*t.exit_code);  // 0: success
    else if (t.exit_code && *t.exit_code > 0 && *t.exit_code <= 255)
      r.url += "/" + std::to_string(*t.exit_code);
    else
      r.url += "/fail";  // a failure without an exit code: a host-side fault
    std::string query;
    if (!t.run_id.empty()) query += "rid=" + url_encode(t.run_id);
    if (s_.create && !(m && !m->healthchecks_uuid.empty()))  // a UUID names a check that exists
      query += std::string(query.empty() ? "" : "&") + "create=1";
    if (!query.empty()) r.url += "?" + query;
    if (t.state != Telemetry::State::kRun) {
      std::string body = outcome_line(t);
      if (!t.output_tail.empty()) body += (body.empty() ? "" : "\n") + t.output_tail;
      r.method = "POST";
      r.body = utf8_tail(body, s_.body_limit);
      r.headers = {"Content-Type: text/plain; charset=utf-8"};
    }
    return r;
  }

 private:
  HealthchecksSettings s_;
  std::string name_ = "healthchecks";
};

}  // namespace

std::unique_ptr<Upstream> make_healthchecks(const HealthchecksSettings& s) { return std::make_unique<Healthchecks>(s); }

}  // namespace cronitor::uplink
