#include "agent/dashboard/dashboard_server.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <unordered_map>

#include "agent/dashboard/html.h"
#include "agent/dashboard/pages.h"

namespace cronitor::agent::dashboard {
using Reply = MetricsHttp::Reply;

/// Every answer: no caching of pages that show commands and output, no referrer (the login URL
/// holds the token), and a policy that runs no script and loads nothing from anywhere, so even a
/// missed escape could not run code.
Reply with_headers(Reply r) {
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'");
  return r;
}

Reply text(unsigned status, std::string body) {
  return with_headers(Reply{status, "text/plain; charset=utf-8", std::move(body), {}});
}

namespace {

std::string query(const MetricsHttp::Request& r, const std::string& name) {
  auto it = r.query.find(name);
  return it == r.query.end() ? std::string() : it->second;
}

}  // namespace

DashboardServer::DashboardServer(std::string token_path, Data data, std::string agent_version)
    : token_path_(std::move(token_path)), data_(std::move(data)), version_(std::move(agent_version)) {}

Result<void> DashboardServer::refresh_token() {
  // The file's identity and change time: rotate_token() writes a new file, so a new token is seen
  // at the next request, whoever makes it, not only at the next login.
  auto stamp_of = [this]() -> std::string {
    struct stat st {};
    if (::stat(token_path_.c_str(), &st) != 0) return "";
    return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
           std::to_string(st.st_ctim.tv_sec) + "." + std::to_string(st.st_ctim.tv_nsec);
  };
  if (const std::string stamp = stamp_of(); !stamp.empty() && stamp == token_stamp_) return {};
  auto token = load_or_create_token(token_path_);  // missing: a new one is written
  if (!token) return std::unexpected(token.error());
  token_stamp_ = stamp_of();
  if (*token != token_) {  // rotated (or first read): the old token's sessions end
    token_ = *token;
    access_.set_token(token_);
  }
  return {};
}

Reply DashboardServer::login(const MetricsHttp::Request& r, Instant now) {
  auto s = access_.login(query(r, "token"), now);
  if (!s) return text(401, std::string(kLoginHint));
  // ?next= a page of this site only: "/jobs/x", never "//host" or "/\\host" (another site).
  std::string next = query(r, "next");
  if (!next.starts_with('/') || next.starts_with("//") || next.starts_with("/\\") ||
      next.find_first_of("\r\n") != std::string::npos)
    next = "/";
  Reply ok = with_headers(Reply{303, "text/plain; charset=utf-8", "Logged in\n", {}});
  ok.headers.emplace_back("Set-Cookie", Access::set_cookie(*s));
  ok.headers.emplace_back("Location", next);
  return ok;
}

std::string DashboardServer::take_done(const Session* s) {
  if (!s) return "";
  auto it = done_.find(s->id);
  if (it == done_.end()) return "";
  std::string out = std::move(it->second);
  done_.erase(it);
  return out;
}

Reply DashboardServer::handle(const MetricsHttp::Request& r, Instant now) {
  if (auto t = refresh_token(); !t) {
    spdlog::error("dashboard: {}", t.error().message);
    return text(500, "The login token cannot be read: see the agent's log.\n");
  }
  if (r.url == "/login" && r.method == "GET") return login(r, now);
  if (r.body_too_long) return text(413, "Refused: a form of the dashboard is smaller than that.\n");
  const auto form = r.method == "POST" ? parse_form(r.body) : std::map<std::string, std::string>();
  const auto csrf = form.find(std::string(kCsrfField));
  switch (access_.check(r.method, r.cookie, csrf == form.end() ? "" : csrf->second, now)) {
    case Verdict::kUnauthorized:
      return text(401, std::string(kLoginHint));
    case Verdict::kForbidden:
      return text(403, "Refused: the form's CSRF token is missing or wrong.\n");
    case Verdict::kAllow:
      break;
  }
  const Session* session = access_.session(r.cookie, now);
  if (r.method == "POST" && session) return act(r, form, *session, now);
  if (r.method != "GET" && r.method != "HEAD") return text(405, "Only GET and POST are served.\n");
  const PageContext ctx{now, version_, session ? session->csrf : "", take_done(session)};
  if (r.url == "/incidents") {
    const nlohmann::json log = data_.incidents ? data_.incidents("", kIncidentsShown, true) : nlohmann::json::object();
    return with_headers(Reply{200, "text/html; charset=utf-8", incidents_page(log, ctx), {}});
  }
  if (r.url == "/") {
    const nlohmann::json status = data_.status();
    const OverviewFilter filter{query(r, "state"), query(r, "q"), overview_page_number(query(r, "page"))};
    // The runs of the jobs this page lists, not of every job (a filter or a page of 10,000).
    const OverviewRows listed = overview_rows(status, filter);
    std::unordered_map<std::string, nlohmann::json> runs;
    for (const nlohmann::json* m : listed.rows)
      if (const auto& key = field(*m, "key"); key.is_string())
        runs.emplace(key.get<std::string>(), data_.history(key.get<std::string>(), kOverviewRuns, false));
    return with_headers(Reply{200, "text/html; charset=utf-8", overview_page(status, listed, runs, filter, ctx), {}});
  }
  if (r.url.starts_with("/jobs/")) {
    const std::string key = r.url.substr(6);  // MHD has decoded the path
    nlohmann::json monitor;
    if (data_.monitor) {
      monitor = data_.monitor(key);
    } else {
      const nlohmann::json status = data_.status();
      if (const auto& list = field(status, "monitors"); list.is_array())
        for (const auto& m : list)
          if (m.value("key", std::string()) == key) {
            monitor = m;
            break;
          }
    }
    if (!monitor.is_object()) return text(404, "No job with that key.\n");
    nlohmann::json incidents;
    if (data_.incidents) {
      const nlohmann::json log = data_.incidents(key, kJobIncidentsShown, false);
      incidents = log.is_object() && log.contains("incidents") ? log["incidents"] : nlohmann::json::array();
    }
    const nlohmann::json extras = data_.extras ? data_.extras(key) : nlohmann::json();
    return with_headers(Reply{200,
                              "text/html; charset=utf-8",
                              job_page(monitor, data_.history(key, kJobPageRuns, true), ctx, incidents, extras),
                              {}});
  }
  return text(404, "Not found.\n");
}

}  // namespace cronitor::agent::dashboard
