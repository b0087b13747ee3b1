// run, check-config; and the registration of the daemon's other subcommands.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "agent/cli/cmd_daemon.h"
#include "agent/cli/commands.h"
#include "agent/config/config.h"
#include "agent/control/json_out.h"
#include "agent/daemon/daemon.h"
#include "agent/daemon/log_setup.h"

namespace cronitor::cli {
namespace {

void setup_logging(bool verbose) {
  auto logger = spdlog::stderr_logger_mt("cronitor-agent");
  // journald adds time and program; a <N> prefix gives it the priority.
  const char* stream = std::getenv("JOURNAL_STREAM");
  logger->set_formatter(agent::make_log_formatter(
      agent::stderr_is_journal(stream ? std::optional<std::string_view>(stream) : std::nullopt)));
  logger->set_level(verbose ? spdlog::level::debug : spdlog::level::info);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

int check_config(const std::string& file, bool json_out) {
  using nlohmann::json;
  auto c = agent::load_config(file);
  if (!c) {
    if (json_out) {
      json errors = json::array();
      for (const auto& e : c.error())
        errors.push_back({{"file", e.file}, {"line", e.line}, {"key", e.key}, {"message", e.message}});
      std::cout << json_text(json({{"file", file}, {"ok", false}, {"errors", errors}})) << "\n";
    } else {
      std::cerr << agent::format_errors(c.error());
    }
    return kExitUsage;
  }
  std::vector<std::string> warnings = c->warnings;
  if (auto w = agent::no_target_warning(*c); !w.empty()) warnings.push_back(std::move(w));
  size_t targets = 0;
  for (const auto& [name, list] : c->notify) targets += list.size();
  if (json_out) {
    std::cout << json_text(json({{"file", c->source},
                                 {"ok", true},
                                 {"monitors", c->monitors.size()},
                                 {"notify_lists", c->notify.size()},
                                 {"targets", targets},
                                 {"warnings", warnings},
                                 {"errors", json::array()}}))
              << "\n";
  } else {
    for (const auto& w : warnings) std::cerr << "warning: " << w << "\n";
    std::cout << c->source << ": OK (" << c->monitors.size() << " monitors, " << c->notify.size() << " notify lists, "
              << targets << " targets)\n";
  }
  return kExitOk;
}

}  // namespace

void register_daemon(CLI::App& app, int& exit_code) {
  auto* run = app.add_subcommand("run", "Run the agent daemon in the foreground (systemd Type=notify)");
  auto config = std::make_shared<std::string>(agent::kDefaultConfigPath);
  auto verbose = std::make_shared<bool>(false);
  run->add_option("--config", *config, "Configuration file")->capture_default_str();
  run->add_flag("--verbose,-v", *verbose, "Log debug messages");
  // Tests only (agent/README.md): a simulated clock from START (µs since 1970; 0: now) that root
  // moves forward with the socket's "advance" request. Hidden, and refused unless root started us.
  auto simulated = std::make_shared<int64_t>(-1);  // -1: the real clock
  run->add_option("--simulated-clock", *simulated, "")->group("");
  run->callback([&exit_code, config, verbose, simulated] {
    setup_logging(*verbose);
    agent::Daemon::Options options{*config};
    if (*simulated >= 0) {
      if (::getuid() != 0 || ::geteuid() != 0) {
        spdlog::critical("--simulated-clock is for tests run by root");
        exit_code = kExitFailure;
        return;
      }
      const auto start = std::chrono::microseconds(*simulated);
      options.simulated_clock =
          start.count() > 0 ? schedule::Instant{start}
                            : std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
    }
    auto d = agent::Daemon::create(options);
    if (!d) {
      // One line each: the log escapes newlines inside a message.
      std::string_view m = d.error().message;
      for (size_t nl; (nl = m.find('\n')) != std::string_view::npos; m.remove_prefix(nl + 1))
        if (nl > 0) spdlog::critical("{}", m.substr(0, nl));
      if (!m.empty()) spdlog::critical("{}", m);
      exit_code = kExitFailure;
      return;
    }
    exit_code = (*d)->run();
  });

  auto* check = app.add_subcommand("check-config", "Validate a configuration file; errors name file, line and key");
  auto file = std::make_shared<std::string>(agent::kDefaultConfigPath);
  auto check_json = std::make_shared<bool>(false);
  check->add_option("FILE", *file, "Configuration file")->capture_default_str();
  check->add_flag("--json", *check_json, "Print one JSON object: ok, counts, warnings, errors");
  check->callback([&exit_code, file, check_json] { exit_code = check_config(*file, *check_json); });

  register_state_commands(app, exit_code);
  register_alert_commands(app, exit_code);
  register_snooze_command(app, exit_code);
  register_dashboard_command(app, exit_code);
}

}  // namespace cronitor::cli
