// The dashboard's actions, each a POST of a session with its CSRF token (checked before this):
// pause / resume a job and snooze the host as the control requests the CLI sends on the socket
// (the same request handler and the same code run them), and a test alert. Each answers 303 back
// to the page it came from, which shows its one-line result once.
#include <chrono>

#include "agent/dashboard/dashboard_server.h"
#include "agent/dashboard/html.h"
#include "common/duration.h"

namespace cronitor::agent::dashboard {
namespace {

using nlohmann::json;
using Reply = MetricsHttp::Reply;

int64_t us_of(Instant t) { return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count(); }

/// "paused", or the daemon's error.
std::string outcome(const json& reply, const std::string& ok_text) {
  if (reply.is_object() && reply.value("ok", false)) return ok_text;
  const std::string why = reply.is_object() && reply.contains("error") && reply["error"].is_string()
                              ? reply["error"].get<std::string>()
                              : std::string("no answer");
  return "Refused: " + why;
}

std::string form_field(const std::map<std::string, std::string>& form, const char* name) {
  auto it = form.find(name);
  return it == form.end() ? std::string() : it->second;
}

}  // namespace

Reply DashboardServer::act(const MetricsHttp::Request& r, const std::map<std::string, std::string>& form,
                           const Session& s, Instant now) {
  std::string back = "/", done;
  const std::string& url = r.url;
  const size_t slash = url.rfind('/');
  const std::string verb = url.substr(slash + 1);
  if (!data_.control) return text(503, "Actions are not served here.\n");
  if (url.starts_with("/jobs/") && slash > 6 && (verb == "pause" || verb == "resume")) {
    const std::string key = url.substr(6, slash - 6);
    back = "/jobs/" + url_component(key);
    json req = {{"control", verb}, {"key", key}};
    const std::string for_text = form_field(form, "for");
    std::string until_text = "until resumed";
    if (verb == "pause" && !for_text.empty()) {
      // `cronitor-agent pause KEY --for TEXT`: the same words, the same parser.
      auto d = parse_duration(for_text);
      if (!d) {
        done = "Not paused: " + d.error().message;
      } else {
        req["until_us"] = us_of(now + *d);
        until_text = "for " + format_duration(*d);
      }
    }
    if (done.empty())
      done = outcome(data_.control(req), verb == "pause" ? "Paused " + key + " " + until_text : "Resumed " + key);
  } else if (url == "/snooze" || url == "/snooze/off") {
    json req = {{"control", "snooze"}, {"until_us", nullptr}, {"reason", form_field(form, "reason")}};
    if (url == "/snooze") {
      auto d = parse_duration(form_field(form, "for"));  // `cronitor-agent snooze DURATION`
      if (!d)
        done = "Not snoozed: " + d.error().message;
      else
        req["until_us"] = us_of(now + *d), done = "Snoozed the host for " + format_duration(*d);
    } else {
      done = "Snooze ended";
    }
    if (!done.starts_with("Not ")) done = outcome(data_.control(req), done);
  } else if (url == "/test-alert") {
    done = data_.test_alert ? data_.test_alert() : "Test alerts are not served here";
  } else {
    return text(404, "No such action.\n");
  }
  if (done_.size() >= 2 * kMaxSessions) done_.clear();  // sessions that ended left theirs
  done_[s.id] = done;
  Reply see_other = with_headers(Reply{303, "text/plain; charset=utf-8", done + "\n", {}});
  see_other.headers.emplace_back("Location", back);
  return see_other;
}

}  // namespace cronitor::agent::dashboard
