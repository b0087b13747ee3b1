// The daemon's subcommand groups (registered from register_daemon in cmd_run.cpp).
#pragma once

#include <CLI/CLI.hpp>

namespace cronitor::cli {

void register_state_commands(CLI::App& app, int& exit_code);     // cmd_status.cpp: status, history, pause, resume
void register_alert_commands(CLI::App& app, int& exit_code);     // cmd_alert.cpp: test-alert, ping
void register_snooze_command(CLI::App& app, int& exit_code);     // cmd_snooze.cpp: snooze
void register_dashboard_command(CLI::App& app, int& exit_code);  // cmd_dashboard.cpp: dashboard

}  // namespace cronitor::cli
