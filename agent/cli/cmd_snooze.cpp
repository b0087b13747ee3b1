// `snooze 30m [--reason TEXT]` and `snooze --off`: silence every alert of the host for a while
// (maintenance); runs, incidents and history are still recorded. Root only.
#include <iostream>
#include <memory>

#include "agent/cli/cmd_daemon.h"
#include "agent/cli/commands.h"
#include "agent/cli/control_client.h"
#include "agent/config/config.h"
#include "agent/control/json_out.h"
#include "agent/control/request_handler.h"
#include "agent/control/status_view.h"
#include "agent/state/state_json.h"
#include "agent/state/state_store.h"
#include "common/duration.h"
#include "common/text.h"

namespace cronitor::cli {
namespace {

using nlohmann::json;

struct SnoozeOptions {
  std::string config = std::string(agent::kDefaultConfigPath);
  std::string duration;
  std::string reason;
  bool off = false;
  bool json_out = false;
};

void print(const SnoozeOptions& o, const json& snooze, bool daemon_runs) {
  if (o.json_out) {
    std::cout << json_text(json({{"snooze", snooze}, {"daemon", daemon_runs ? "running" : "stopped"}})) << "\n";
    return;
  }
  if (snooze.is_object()) {
    std::cout << "snoozed until " << snooze.value("until", "") << " (for " << o.duration << ")";
    if (snooze.value("reason", json()).is_string())
      std::cout << ": " << escape_text(snooze["reason"].get<std::string>());
    std::cout << "\nevery alert is recorded but not sent until then; `cronitor-agent snooze --off` ends it\n";
  } else {
    std::cout << "not snoozed: alerts are sent\n";
  }
  if (!daemon_runs) std::cout << "(the daemon is not running; it applies this at start)\n";
}

int snooze(const SnoozeOptions& o) {
  if (o.off == !o.duration.empty()) {
    std::cerr << "cronitor-agent: snooze takes a duration (e.g. 30m) or --off\n";
    return kExitUsage;
  }
  auto cfg = agent::load_config(o.config);
  if (!cfg) {
    std::cerr << agent::format_errors(cfg.error());
    return kExitUsage;
  }
  const auto now = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
  std::optional<agent::Instant> until;
  if (!o.off) {
    auto d = cronitor::parse_duration(o.duration);
    if (!d || d->count() <= 0) {
      std::cerr << "cronitor-agent: snooze: " << (d ? "the duration must be positive" : d.error().message) << "\n";
      return kExitUsage;
    }
    until = now + *d;
  }
  std::string reason = o.reason.substr(0, agent::kMaxReasonBytes);
  json req = {{"control", "snooze"}, {"until_us", until ? json(agent::to_us(*until)) : json()}, {"reason", reason}};
  auto r = agent::ask_daemon(cfg->socket, req);
  if (r) {
    if (!(*r)["ok"].is_boolean() || !(*r)["ok"].get<bool>()) {
      std::cerr << "cronitor-agent: " << r->value("error", "request failed") << "\n";
      return kExitFailure;
    }
    print(o, (*r)["snooze"], true);
    return kExitOk;
  }
  if (r.error().sys_errno != ENOENT && r.error().sys_errno != ECONNREFUSED) {
    std::cerr << "cronitor-agent: " << r.error().message << "\n";
    return kExitFailure;
  }
  // No daemon: the state it will read at start.
  auto store = agent::StateStore::open(cfg->state_dir + "/state.db", nullptr);
  if (!store) {
    std::cerr << "cronitor-agent: the daemon is not running (no socket at " << cfg->socket << ") and "
              << store.error().message << "\n";
    return kExitFailure;
  }
  agent::HostState host = store->host().value_or(agent::HostState{});
  host.snoozed_until = until;
  host.snooze_since = until ? std::optional(now) : std::nullopt;
  host.snooze_reason = until ? reason : "";
  if (auto w = store->save_host(host); !w) {
    std::cerr << "cronitor-agent: saving the state failed: " << w.error().message << "\n";
    return kExitFailure;
  }
  print(o, agent::snooze_json(host, now), false);
  return kExitOk;
}

}  // namespace

void register_snooze_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<SnoozeOptions>();
  auto* sn = app.add_subcommand("snooze", "Silence every alert of this host for a while (runs are still recorded)");
  sn->add_option("DURATION", o->duration, "How long, e.g. 30m or 2h");
  sn->add_option("--reason", o->reason, "Why (shown by status and in the alert that ends it)");
  sn->add_flag("--off", o->off, "End the snooze now");
  sn->add_option("--config", o->config, "Configuration file (default /etc/cronitor/agent.yaml)");
  sn->add_flag("--json", o->json_out, "Print JSON");
  sn->callback([&exit_code, o] { exit_code = snooze(*o); });
}

}  // namespace cronitor::cli
