// test-alert [LIST]: send a test message to a notify list; ping KEY --state: report a run by hand.
#include <unistd.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "agent/cli/cmd_daemon.h"
#include "agent/cli/commands.h"
#include "agent/config/config.h"
#include "agent/control/json_out.h"
#include "common/event.h"
#include "common/run_id.h"
#include "common/text.h"
#include "uplink/alert_sender.h"
#include "wrapper/agent_client.h"
#include "wrapper/spool.h"

namespace cronitor::cli {
namespace {

std::string hostname() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

void test_alert(const std::string& config_path, const std::string& list, bool json_out, int& exit_code) {
  auto c = agent::load_config(config_path);
  if (!c) {
    std::cerr << agent::format_errors(c.error());
    exit_code = kExitUsage;
    return;
  }
  std::vector<std::string> names = list.empty() ? c->defaults.notify : std::vector<std::string>{list};
  auto targets = c->targets(names);
  if (!targets) {
    std::cerr << "cronitor-agent: " << targets.error().message << "\n";
    exit_code = kExitUsage;
    return;
  }
  if (targets->empty()) {
    std::cerr << "cronitor-agent: the notify list is empty: nothing to send\n";
    exit_code = kExitUsage;
    return;
  }
  const std::string host = c->hostname.empty() ? hostname() : c->hostname;
  const uplink::Alert a = uplink::test_alert(
      host, std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()));
  uplink::AlertSender sender(host);
  exit_code = kExitOk;
  nlohmann::json results = nlohmann::json::array();
  for (const auto& t : *targets) {
    auto r = sender.send(a, t);
    const std::string shown = t.redacted();
    if (!r.ok) exit_code = kExitFailure;
    if (json_out)
      results.push_back(
          {{"target", shown}, {"sent", r.ok}, {"error", r.ok ? nlohmann::json() : nlohmann::json(r.error)}});
    else if (r.ok)
      std::cout << escape_text(shown) << ": sent\n";
    else
      std::cout << escape_text(shown) << ": FAILED: " << escape_text(r.error) << "\n";
  }
  if (json_out) std::cout << json_text(results) << "\n";
}

/// The line (or JSON object) that says where a ping went.
void report_ping(bool json_out, const std::string& key, const std::string& state, const std::string& run_id,
                 const std::string& delivered, const std::string& why) {
  if (json_out) {
    nlohmann::json j = {{"key", key}, {"state", state}, {"run_id", run_id}, {"delivered", delivered}};
    if (!why.empty()) j["agent_error"] = why;
    std::cout << json_text(j) << "\n";
  } else if (delivered == "agent") {
    std::cout << escape_text(key) << ": " << state << " recorded (run " << run_id << ")\n";
  } else {
    std::cout << escape_text(key) << ": " << state << " spooled (the agent is not running: " << escape_text(why)
              << ")\n";
  }
}

void ping(const std::string& config_path, const std::string& key, const std::string& state, int exit_status,
          const std::string& message, std::string run_id, bool json_out, int& exit_code) {
  auto c = agent::load_config(config_path);
  if (!c && config_path != agent::kDefaultConfigPath) {  // a --config that does not load: not the defaults
    std::cerr << agent::format_errors(c.error());
    exit_code = kExitUsage;
    return;
  }
  agent::Config cfg = c ? *c : agent::Config{};
  cronitor::RunEvent e;
  e.key = key;
  if (run_id.empty())
    if (const char* env = std::getenv("CRONITOR_RUN_ID")) run_id = env;
  if (!run_id.empty() && !valid_run_id(run_id)) {
    std::cerr << "cronitor-agent: --run-id must be a lowercase UUID\n";
    exit_code = kExitUsage;
    return;
  }
  e.run_id = run_id.empty() ? cronitor::new_run_id() : run_id;
  e.state = state == "run" ? RunState::kRun : state == "complete" ? RunState::kComplete : RunState::kFail;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
  e.ts = format_timestamp_ms(ms.count());
  e.host = cfg.hostname.empty() ? hostname() : cfg.hostname;
  e.pid = ::getpid();
  e.uid = ::getuid();
  if (is_terminal(e.state)) {
    e.exit_code = e.state == RunState::kFail && exit_status == 0 ? 1 : exit_status;
    if (!message.empty()) e.output_tail = message;
  }
  const std::string line = encode(e);
  if (!valid_key(key)) {
    std::cerr << "cronitor-agent: bad key \"" << escape_text(key) << "\"\n";
    exit_code = kExitUsage;
    return;
  }
  bool refused = false;
  if (auto r = wrapper::send_to_agent(cfg.socket, line, 2000000, &refused); r) {
    report_ping(json_out, key, state, e.run_id, "agent", "");
    exit_code = kExitOk;
    return;
  } else if (refused) {  // not ours to report: the spool would refuse it too
    std::cerr << "cronitor-agent: " << r.error().message << "\n";
    exit_code = kExitFailure;
    return;
  } else {
    wrapper::Spool spool(cfg.spool_dir, wrapper::SyncMode::kInline);
    if (auto s = spool.append(e.run_id, line); !s) {
      std::cerr << "cronitor-agent: the agent did not take the ping (" << r.error().message
                << ") and the spool failed: " << s.error().message << "\n";
      exit_code = kExitFailure;
      return;
    }
    report_ping(json_out, key, state, e.run_id, "spool", r.error().message);
    exit_code = kExitOk;
  }
}

}  // namespace

void register_alert_commands(CLI::App& app, int& exit_code) {
  auto config = std::make_shared<std::string>(agent::kDefaultConfigPath);
  auto list = std::make_shared<std::string>();
  auto* ta = app.add_subcommand("test-alert", "Send a test message to a notify list (default: defaults.notify)");
  ta->add_option("LIST", *list, "A notify list name or a target such as slack:URL");
  auto ta_json = std::make_shared<bool>(false);
  ta->add_option("--config", *config, "Configuration file");
  ta->add_flag("--json", *ta_json, "Print a JSON array: target, sent, error");
  ta->callback([&exit_code, config, list, ta_json] { test_alert(*config, *list, *ta_json, exit_code); });

  auto pconfig = std::make_shared<std::string>(agent::kDefaultConfigPath);
  auto key = std::make_shared<std::string>();
  auto state = std::make_shared<std::string>();
  auto status = std::make_shared<int>(0);
  auto msg = std::make_shared<std::string>();
  auto rid = std::make_shared<std::string>();
  auto* p = app.add_subcommand("ping", "Report a run, completion or failure of a monitor by hand");
  p->add_option("KEY", *key, "Monitor key")->required();
  p->add_option("--state", *state, "run, complete or fail")
      ->required()
      ->check(CLI::IsMember({"run", "complete", "fail"}));
  p->add_option("--exit-code", *status, "Exit code to report with complete/fail")->check(CLI::Range(0, 255));
  p->add_option("--message", *msg, "Text kept as the output tail");
  p->add_option("--run-id", *rid, "Ties run and complete/fail together (default: $CRONITOR_RUN_ID, else new)");
  auto pjson = std::make_shared<bool>(false);
  p->add_option("--config", *pconfig, "Configuration file");
  p->add_flag("--json", *pjson, "Print one JSON object: key, state, run_id, delivered (agent or spool)");
  p->callback([&exit_code, pconfig, key, state, status, msg, rid, pjson] {
    ping(*pconfig, *key, *state, *status, *msg, *rid, *pjson, exit_code);
  });
}

}  // namespace cronitor::cli
