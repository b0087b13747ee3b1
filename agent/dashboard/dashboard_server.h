// The dashboard's routes (dashboard.listen): login, the overview, a job's page, the incidents,
// and the actions (POST, with the session's CSRF token), each behind a session. A function of (request, now) over two
// data sources, so tests drive it without a socket; the daemon serves it with MetricsHttp::serve on its loop.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>

#include "agent/control/metrics_http.h"
#include "agent/dashboard/access.h"

namespace cronitor::agent::dashboard {

/// Runs per job read for the overview's strip and for a job's page.
inline constexpr int kOverviewRuns = 60;
inline constexpr int kJobPageRuns = 500;

/// `r` with the headers of every answer (no caching, no referrer, a CSP that runs no script).
MetricsHttp::Reply with_headers(MetricsHttp::Reply r);
/// A plain-text answer with those headers.
MetricsHttp::Reply text(unsigned status, std::string body);

class DashboardServer {
 public:
  struct Data {
    std::function<nlohmann::json()> status;  // the status reply, as `status --json` prints it
    /// One job's object of the reply's `monitors` (null: no such job), for its page; unset: the
    /// job is looked up in status().
    std::function<nlohmann::json(const std::string& key)> monitor;
    /// Runs, newest first, as `history --json` lists them; `tails` false: without output tails.
    std::function<nlohmann::json(const std::string& key, int limit, bool tails)> history;
    /// One control request as root, the line the CLI sends on the socket ({"control": "pause", ...}):
    /// the socket's JSON reply. Unset: actions are refused.
    std::function<nlohmann::json(const nlohmann::json& request)> control;
    /// Queues a test alert to the default notify list: one line saying where, or why not.
    std::function<std::string()> test_alert;
    /// incident_log(key, limit, notices) (agent/state/incident_log.h); unset: no incidents shown.
    std::function<nlohmann::json(const std::string& key, int limit, bool notices)> incidents;
    /// job_extras (job_settings.h) of a job: settings in force and suggested; unset or null: left out.
    std::function<nlohmann::json(const std::string& key)> extras;
  };

  /// GET /login?token=T[&next=/jobs/KEY] logs in. `token_path`: the login token's file, read again whenever it
  /// changed (a stat per request), so that `cronitor-agent dashboard --new-token` ends every session at once.
  DashboardServer(std::string token_path, Data data, std::string agent_version);

  /// The answer to one request at `now`.
  MetricsHttp::Reply handle(const MetricsHttp::Request& r, Instant now);

 private:
  MetricsHttp::Reply login(const MetricsHttp::Request& r, Instant now);
  /// A POST of a session: the action, then 303 back to the page it came from (dashboard_actions.cpp).
  MetricsHttp::Reply act(const MetricsHttp::Request& r, const std::map<std::string, std::string>& form,
                         const Session& s, Instant now);
  /// The one-line result of the session's last action, taken (shown once).
  std::string take_done(const Session* s);
  /// Reads the token file again if it is not the one last read (rotated): the sessions end.
  Result<void> refresh_token();

  std::string token_path_;
  std::string token_;        // as last read from token_path_
  std::string token_stamp_;  // that file's device, inode, size and change time when read
  Data data_;
  std::string version_;
  Access access_{""};
  std::unordered_map<std::string, std::string> done_;  // session id -> its last action's result
};

/// Incidents listed on the Incidents page and on a job's page.
inline constexpr int kIncidentsShown = 100;
inline constexpr int kJobIncidentsShown = 20;

}  // namespace cronitor::agent::dashboard
