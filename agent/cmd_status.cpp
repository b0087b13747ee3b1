// status, history, pause, resume: ask the daemon when it runs, else read state.db.
#include <iostream>
#include <memory>

#include "agent/cmd_daemon.h"
#include "agent/commands.h"
#include "agent/config.h"
#include "agent/control_client.h"
#include "agent/duration.h"
#include "agent/state_json.h"
#include "agent/state_store.h"
#include "agent/status_view.h"

namespace cronitor::cli {
namespace {

using nlohmann::json;

struct Common {
  std::string config = std::string(agent::kDefaultConfigPath);
  bool json_out = false;
};

/// The config for socket and state_dir; a broken config still gives the defaults' paths.
agent::Config paths(const Common& o) {
  auto c = agent::load_config(o.config);
  if (c) return *c;
  std::cerr << "warning: " << agent::format_errors(c.error()) << "using the default paths\n";
  return agent::Config{};
}

bool daemon_down(const Error& e) { return e.sys_errno == ENOENT || e.sys_errno == ECONNREFUSED; }

/// The reply of a running daemon, nullopt when none runs; exits on other errors.
std::optional<json> ask(const agent::Config& c, const json& req, int& exit_code) {
  auto r = agent::ask_daemon(c.socket, req);
  if (!r) {
    if (!daemon_down(r.error())) {
      std::cerr << "cronitor-agent: " << r.error().message << "\n";
      exit_code = kExitFailure;
    }
    return std::nullopt;
  }
  if (!(*r)["ok"].is_boolean() || !(*r)["ok"].get<bool>()) {
    std::cerr << "cronitor-agent: " << r->value("error", "request failed") << "\n";
    exit_code = kExitFailure;
    return std::nullopt;
  }
  return *r;
}

std::optional<agent::StateStore> open_state(const agent::Config& c, bool writable, int& exit_code) {
  const std::string path = c.state_dir + "/state.db";
  auto s = writable ? agent::StateStore::open(path, nullptr) : agent::StateStore::open_readonly(path);
  if (!s) {
    std::cerr << "cronitor-agent: the daemon is not running and " << s.error().message << "\n";
    exit_code = kExitFailure;
    return std::nullopt;
  }
  return std::move(*s);
}

/// How runs reach the agent where that is not the wrapper (agent/wrap_policy.h): said under the table.
void print_reporting_notes(const json& out) {
  if (out.contains("wrap_refused") && out["wrap_refused"].is_string())
    std::cout << "not wrapping crontab lines: " << out["wrap_refused"].get<std::string>()
              << " (unwrapped jobs stay unreported)\n";
  std::string observed;
  for (const auto& m : out["monitors"])
    if (m.value("reported_by", json()) == "cron log")
      observed += (observed.empty() ? "" : ", ") + m.value("key", std::string());
  if (!observed.empty()) std::cout << "observed from cron's log (files a package owns): " << observed << "\n";
}

void status(const Common& o, int& exit_code) {
  auto c = paths(o);
  json out;
  if (auto r = ask(c, {{"control", "status"}}, exit_code)) {
    out = *r;
  } else {
    if (exit_code != kExitOk) return;
    auto store = open_state(c, false, exit_code);
    if (!store) return;
    auto jobs = store->jobs();
    if (!jobs) {
      std::cerr << "cronitor-agent: " << jobs.error().message << "\n";
      exit_code = kExitFailure;
      return;
    }
    json list = json::array();
    for (const auto& j : *jobs)
      list.push_back(agent::status_json(j.key, j.name, j.schedule, j.timezone, j.source, j.state));
    json cron = nullptr;
    if (auto h = store->host(); h && h->cron_incident)
      cron = {{"opened", agent::to_us(h->cron_incident->opened)}, {"reason", h->cron_incident->reason}};
    out = {{"ok", true}, {"daemon", "stopped"}, {"monitors", list}, {"cron_incident", cron}};
  }
  if (o.json_out) {
    std::cout << out.dump(2) << "\n";
  } else {
    if (out["daemon"] == "stopped") std::cout << "(the daemon is not running: state as last saved)\n";
    if (out["cron_incident"].is_object())
      std::cout << "CRON DAEMON DOWN: " << out["cron_incident"].value("reason", "") << "\n";
    if (out.contains("disk_full") && out["disk_full"].is_object())
      std::cout << "DISK FULL under " << out["disk_full"].value("state_dir", "")
                << ": runs wait in the spool until space returns\n";
    if (out.value("alerts_held", 0) > 0)
      std::cout << out["alerts_held"].get<uint64_t>()
                << " alert message(s) held back by alert_rate_limit since the agent started (recorded; see "
                   "`history KEY`)\n";
    std::cout << agent::status_table(out["monitors"]);
    print_reporting_notes(out);
  }
  exit_code = kExitOk;
}

void history(const Common& o, const std::string& key, int limit, int& exit_code) {
  auto c = paths(o);
  json runs;
  if (auto r = ask(c, {{"control", "history"}, {"key", key}, {"limit", limit}}, exit_code)) {
    runs = (*r)["runs"];
  } else {
    if (exit_code != kExitOk) return;
    auto store = open_state(c, false, exit_code);
    if (!store) return;
    auto rows = store->history(key, limit);
    if (!rows) {
      std::cerr << "cronitor-agent: " << rows.error().message << "\n";
      exit_code = kExitFailure;
      return;
    }
    runs = json::array();
    for (const auto& r : *rows) runs.push_back(agent::run_json(r));
  }
  if (o.json_out)
    std::cout << runs.dump(2) << "\n";
  else
    std::cout << agent::history_table(runs);
  exit_code = kExitOk;
}

void pause_resume(const Common& o, const std::string& key, const std::string& for_text, bool pause, int& exit_code) {
  auto c = paths(o);
  std::optional<agent::Instant> until;
  const auto now = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
  if (pause) {
    until = agent::Instant::max();
    if (!for_text.empty()) {
      auto d = agent::parse_duration(for_text);
      if (!d) {
        std::cerr << "cronitor-agent: --for: " << d.error().message << "\n";
        exit_code = kExitUsage;
        return;
      }
      until = now + *d;
    }
  }
  json req = {{"control", pause ? "pause" : "resume"}, {"key", key}};
  if (until && *until != agent::Instant::max()) req["until_us"] = agent::to_us(*until);
  if (auto r = ask(c, req, exit_code)) {
    std::cout << key << ": " << (*r)["state"].get<std::string>() << "\n";
    exit_code = kExitOk;
    return;
  }
  if (exit_code != kExitOk) return;
  auto store = open_state(c, true, exit_code);
  if (!store) return;
  auto jobs = store->jobs();
  if (!jobs) return;
  for (auto& j : *jobs) {
    if (j.key != key) continue;
    j.state.paused_until = until;
    if (!pause) j.state.expected.reset();  // the daemon recomputes it at start
    if (auto r = store->save_job_state(key, j.state); !r || !*r) {
      std::cerr << "cronitor-agent: saving the state failed\n";
      exit_code = kExitFailure;
      return;
    }
    std::cout << key << ": " << (pause ? "paused" : "resumed")
              << " (the daemon is not running; it applies this at start)\n";
    exit_code = kExitOk;
    return;
  }
  std::cerr << "cronitor-agent: no monitor with key \"" << key << "\" in " << store->path() << "\n";
  exit_code = kExitFailure;
}

}  // namespace

void register_state_commands(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<Common>();
  auto* st = app.add_subcommand("status", "Every monitor: state, last run, next expected time, open incident");
  st->add_option("--config", o->config, "Configuration file");
  st->add_flag("--json", o->json_out, "Print JSON");
  st->callback([&exit_code, o] { status(*o, exit_code); });

  auto ho = std::make_shared<Common>();
  auto key = std::make_shared<std::string>();
  auto limit = std::make_shared<int>(20);
  auto* hi = app.add_subcommand("history", "The last runs of one monitor");
  hi->add_option("KEY", *key, "Monitor key")->required();
  hi->add_option("--limit,-n", *limit, "How many runs")->check(CLI::Range(1, 10000));
  hi->add_option("--config", ho->config, "Configuration file");
  hi->add_flag("--json", ho->json_out, "Print JSON");
  hi->callback([&exit_code, ho, key, limit] { history(*ho, *key, *limit, exit_code); });

  auto po = std::make_shared<Common>();
  auto pkey = std::make_shared<std::string>();
  auto pfor = std::make_shared<std::string>();
  auto* pa = app.add_subcommand("pause", "Stop alerting for a monitor (for a while with --for 2h)");
  pa->add_option("KEY", *pkey, "Monitor key")->required();
  pa->add_option("--for", *pfor, "Duration, e.g. 2h or \"30 minutes\"");
  pa->add_option("--config", po->config, "Configuration file");
  pa->callback([&exit_code, po, pkey, pfor] { pause_resume(*po, *pkey, *pfor, true, exit_code); });

  auto ro = std::make_shared<Common>();
  auto rkey = std::make_shared<std::string>();
  auto* re = app.add_subcommand("resume", "Resume alerting for a paused monitor");
  re->add_option("KEY", *rkey, "Monitor key")->required();
  re->add_option("--config", ro->config, "Configuration file");
  re->callback([&exit_code, ro, rkey] { pause_resume(*ro, *rkey, "", false, exit_code); });
}

}  // namespace cronitor::cli
