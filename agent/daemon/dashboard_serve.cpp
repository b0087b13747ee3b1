// dashboard.listen: the dashboard's routes (agent/dashboard/dashboard_server.h) on the loop's
// HTTP server, fed from the same status and history replies the socket gives `status --json`.
#include <spdlog/spdlog.h>

#include "agent/daemon/daemon.h"
#include "agent/daemon/metrics_http.h"
#include "agent/dashboard/dashboard_server.h"

namespace cronitor::agent {

void Daemon::start_dashboard() {
  const std::string& listen = config_.dashboard.listen;
  if (dashboard_http_ && dashboard_http_->address() != listen) dashboard_http_.reset();
  if (listen.empty() || dashboard_http_) return;
  const std::string token_path = config_.state_dir + "/" + std::string(dashboard::kTokenFile);
  if (auto t = dashboard::load_or_create_token(token_path); !t) {
    spdlog::error("dashboard: {}; the dashboard is not served", t.error().message);
    return;
  }
  dashboard::DashboardServer::Data data;
  // The socket's own replies, as root sees them: one source for `status --json` and the pages.
  data.status = [this] {
    Request req;
    req.kind = Request::Kind::kStatus;
    req.sees_all = true;
    return nlohmann::json::parse(run_control(Conn{}, req), nullptr, false);
  };
  data.history = [this](const std::string& key, int limit) {
    Request req;
    req.kind = Request::Kind::kHistory;
    req.key = key;
    req.limit = limit;
    auto reply = nlohmann::json::parse(run_control(Conn{}, req), nullptr, false);
    return reply.is_object() && reply.contains("runs") ? reply["runs"] : nlohmann::json::array();
  };
  if (!dashboard_)
    dashboard_ = std::make_unique<dashboard::DashboardServer>(token_path, std::move(data), CRONITOR_VERSION);
  auto server = MetricsHttp::serve(
      ev_, listen, [this](const MetricsHttp::Request& r) { return dashboard_->handle(r, now()); }, "dashboard.listen",
      MetricsHttp::Limits{});
  if (!server) {
    spdlog::error("{} (in \"{}\"); the dashboard is not served", server.error().message, config_.source);
    return;
  }
  dashboard_http_ = std::move(*server);
  const bool loopback = listen.starts_with("127.") || listen.starts_with("[::1]") || listen.starts_with("localhost:");
  if (!loopback)
    spdlog::warn("dashboard: listening on {}, not a loopback address: anyone who can reach it may try the login",
                 listen);
  spdlog::info("dashboard: serving http://{}/ (cronitor-agent dashboard prints the login URL)", listen);
}

}  // namespace cronitor::agent
