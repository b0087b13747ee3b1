// `cronitor-agent dashboard`: the URL that logs a browser in to the dashboard (dashboard.listen),
// with the login token from the state folder; --new-token rotates it, ending every session.
#include <iostream>
#include <memory>

#include "agent/cli/cmd_daemon.h"
#include "agent/cli/commands.h"
#include "agent/config/config.h"
#include "agent/dashboard/access.h"

namespace cronitor::cli {
namespace {

struct DashboardOptions {
  std::string config = std::string(agent::kDefaultConfigPath);
  bool new_token = false;
};

/// The address a browser on this host opens: a wildcard listen address is reached on loopback.
std::string browser_address(std::string listen) {
  if (listen.starts_with("0.0.0.0:")) return "127.0.0.1" + listen.substr(7);
  if (listen.starts_with("[::]:")) return "[::1]" + listen.substr(4);
  return listen;
}

int dashboard(const DashboardOptions& o) {
  auto cfg = agent::load_config(o.config);
  if (!cfg) {
    std::cerr << agent::format_errors(cfg.error());
    return kExitUsage;
  }
  if (cfg->dashboard.listen.empty()) {
    std::cerr << "cronitor-agent: the dashboard is off: add `dashboard: {listen: \"127.0.0.1:9322\"}` to "
              << cfg->source << " and reload the agent\n";
    return kExitFailure;
  }
  const std::string path = cfg->state_dir + "/" + std::string(agent::dashboard::kTokenFile);
  auto token = o.new_token ? agent::dashboard::rotate_token(path) : agent::dashboard::load_or_create_token(path);
  if (!token) {
    std::cerr << "cronitor-agent: " << token.error().message << " (the token is root's: run as root)\n";
    return kExitFailure;
  }
  if (o.new_token) std::cerr << "a new login token: every open dashboard session has ended\n";
  std::cout << "http://" << browser_address(cfg->dashboard.listen) << "/login?token=" << *token << "\n";
  return kExitOk;
}

}  // namespace

void register_dashboard_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<DashboardOptions>();
  auto* cmd = app.add_subcommand("dashboard", "Print the URL that opens the local dashboard (root)");
  cmd->add_option("--config", o->config, "The agent's config file");
  cmd->add_flag("--new-token", o->new_token, "Rotate the login token first (ends every session)");
  cmd->callback([o, &exit_code] { exit_code = dashboard(*o); });
}

}  // namespace cronitor::cli
