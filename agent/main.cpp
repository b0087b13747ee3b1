// cronitor-agent: the daemon and its command-line tools. Subcommands live in cmd_*.cpp.
#include <CLI/CLI.hpp>
#include <iostream>
#include <string_view>

#include "agent/cli/commands.h"
#include "uplink/post_child.h"

int main(int argc, char** argv) {
  // An alert's POST runs in a child of this program, so that the daemon never loads libcurl
  // (uplink/post_child.h); this is that child.
  if (argc == 2 && argv[1] == cronitor::uplink::kPostChildArg) return cronitor::uplink::serve_post_child();
  cronitor::uplink::set_post_child("/proc/self/exe");
  CLI::App app{"cronitor-agent: watches the cron jobs and systemd timers of this host"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("cronitor-agent ") + CRONITOR_VERSION);
  int exit_code = cronitor::cli::kExitOk;
  cronitor::cli::register_schedule(app, exit_code);
  cronitor::cli::register_discovery(app, exit_code);
  cronitor::cli::register_daemon(app, exit_code);
  cronitor::cli::register_suggest(app, exit_code);
  // CLI11 reports a mistyped command as "A subcommand is required": name it instead.
  if (argc > 1 && argv[1][0] != '-') {
    const std::string_view word = argv[1];
    bool known = false;
    for (const CLI::App* sub : app.get_subcommands({})) known |= sub->check_name(std::string(word));
    if (!known) {
      std::cerr << "cronitor-agent: unknown command \"" << word << "\" (see cronitor-agent --help)\n";
      return cronitor::cli::kExitUsage;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    // Help and version are successes; every other usage error is a bad-input error.
    return rc == 0 ? 0 : cronitor::cli::kExitUsage;
  }
  return exit_code;
}
