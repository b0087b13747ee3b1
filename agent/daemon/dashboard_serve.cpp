// dashboard.listen's sources (the server itself is agent/daemon/exports.h's): the same status and
// history replies the socket gives `status --json`; its actions are the socket's control requests
// as root, through the same request handler.
#include <spdlog/spdlog.h>

#include "agent/daemon/daemon.h"
#include "agent/daemon/history_reply.h"
#include "agent/dashboard/dashboard_server.h"
#include "agent/dashboard/job_settings.h"
#include "agent/eval/tolerance_advice.h"
#include "agent/state/incident_log.h"

namespace cronitor::agent {

dashboard::DashboardServer::Data Daemon::dashboard_data() {
  dashboard::DashboardServer::Data data;
  // The socket's own replies, as root sees them: one source for `status --json` and the pages.
  data.status = [this] { return status_reply(Peer{}, true); };
  data.monitor = [this](const std::string& key) {  // a job page's: not every job's status
    nlohmann::json one = monitors_status(Peer{}, true, &key);
    return one.empty() ? nlohmann::json() : std::move(one[0]);
  };
  data.history = [this](const std::string& key, int limit, bool tails) {
    // The runs of the socket's history reply, without writing and parsing its JSON line (1,000
    // of them per overview).
    auto h = history_reply(store_, key, limit, tails);
    if (!h) spdlog::warn("dashboard: history of {}: {}", key, h.error().message);
    return h ? std::move(h->runs) : nlohmann::json::array();
  };
  data.control = [this](const nlohmann::json& line) {
    // As if root had sent the line on the socket: judged by the same handler, run by the same code.
    const Request req = intake_.requests().handle(line.dump(), Peer{0, ::getpid()}, mono_usec());
    if (req.kind == Request::Kind::kEvent) return nlohmann::json{{"ok", false}, {"error", "not a control request"}};
    if (req.kind == Request::Kind::kReply) return nlohmann::json::parse(req.reply, nullptr, false);
    commit_pending();
    return nlohmann::json::parse(run_control(Peer{}, req), nullptr, false);
  };
  data.test_alert = [this]() -> std::string {
    // `cronitor-agent test-alert`'s alert to the default notify list, through the outbox: the
    // sender thread delivers it (the loop never waits on a network), the Incidents page shows how.
    auto targets = config_.targets(config_.defaults.notify);
    if (!targets) return "No test alert: " + targets.error().message;
    if (targets->empty()) return "No test alert: defaults.notify is empty";
    const Instant t = now();
    std::vector<std::string> texts;
    std::string shown;
    for (const auto& tg : *targets) {
      texts.push_back(tg.text());
      shown += (shown.empty() ? "" : ", ") + tg.redacted();
    }
    if (!store_.begin()) return "No test alert: state.db is busy";
    if (auto r = store_.record_action(Action{Action::Type::kNotice, uplink::test_alert(host_, t)}, texts, t); !r) {
      store_.rollback();
      return "No test alert: " + r.error().message;
    }
    end_transaction();
    pump_outbox();
    spdlog::info("test alert queued from the dashboard for {}", shown);
    return "Test alert queued for " + shown + " (the Incidents page shows its delivery)";
  };
  data.incidents = [this](const std::string& key, int limit, bool notices) {
    auto log = incident_log(store_.db(), key, limit, notices);
    if (!log) spdlog::warn("dashboard: incidents: {}", log.error().message);
    return log ? *log : nlohmann::json::object();
  };
  data.extras = [this](const std::string& key) {
    auto it = monitors_.find(key);
    if (!it) return nlohmann::json();
    const MonitorConfig& m = monitors_.config(*it);
    // `cronitor-agent suggest KEY`: its last 200 runs, the same advise().
    auto runs = store_.history(key, 200, 0);
    return dashboard::job_extras(
        m, advise(key, runs ? *runs : std::vector<RunRow>{}, m.schedule, m.zone, config_.defaults.grace));
  };
  return data;
}

}  // namespace cronitor::agent
