// The dashboard's routes (dashboard.listen): login, the overview, a job's page, each behind a
// session. A function of (request, now) over two data sources, so tests drive it without a socket;
// the daemon serves it with MetricsHttp::serve on its loop.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "agent/daemon/metrics_http.h"
#include "agent/dashboard/access.h"

namespace cronitor::agent::dashboard {

/// Runs per job read for the overview's strip and for a job's page.
inline constexpr int kOverviewRuns = 60;
inline constexpr int kJobPageRuns = 500;

class DashboardServer {
 public:
  struct Data {
    std::function<nlohmann::json()> status;  // the status reply, as `status --json` prints it
    std::function<nlohmann::json(const std::string& key, int limit)> history;  // runs, newest first
  };

  /// GET /login?token=T[&next=/jobs/KEY] logs in. `token_path`: the login token's file, read again at each login so
  /// that `cronitor-agent dashboard --new-token` takes effect at once.
  DashboardServer(std::string token_path, Data data, std::string agent_version);

  /// The answer to one request at `now`.
  MetricsHttp::Reply handle(const MetricsHttp::Request& r, Instant now);

 private:
  MetricsHttp::Reply login(const MetricsHttp::Request& r, Instant now);

  std::string token_path_;
  std::string token_;  // as last read from token_path_
  Data data_;
  std::string version_;
  Access access_{""};
};

}  // namespace cronitor::agent::dashboard
