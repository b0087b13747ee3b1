// Subcommands of cronitor-agent. Each lives in its own cmd_*.cpp and registers itself on the CLI.
#pragma once

#include <CLI/CLI.hpp>

namespace cronitor::cli {

/// Exit codes shared by every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;  // bad input: a bad expression, option or file

/// Each register_* adds one subcommand to `app`; its callback stores the exit code in `exit_code`.
void register_schedule(CLI::App& app, int& exit_code);   // cmd_schedule.cpp
void register_discovery(CLI::App& app, int& exit_code);  // cmd_discover.cpp: discover, wrap, unwrap
void register_daemon(CLI::App& app, int& exit_code);     // cmd_run.cpp: run, status, history, ...
void register_suggest(CLI::App& app, int& exit_code);    // cmd_suggest.cpp: tolerances from history

}  // namespace cronitor::cli
