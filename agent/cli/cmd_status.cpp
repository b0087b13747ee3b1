// status, history, pause, resume: ask the daemon when it runs, else read state.db.
#include <iostream>
#include <memory>

#include "agent/cli/cmd_daemon.h"
#include "agent/cli/commands.h"
#include "agent/cli/control_client.h"
#include "agent/config/config.h"
#include "agent/control/json_out.h"
#include "agent/control/status_view.h"
#include "agent/state/state_json.h"
#include "agent/state/state_store.h"
#include "common/duration.h"
#include "common/text.h"
#include "schedule/iso8601.h"

namespace cronitor::cli {
namespace {

using nlohmann::json;

struct Common {
  std::string config = std::string(agent::kDefaultConfigPath);
  bool config_given = false;  // --config on the command line: a file that fails to load is an error
  bool json_out = false;
};

/// The config for socket and state_dir. A --config that does not load is an error (exit 2); a
/// broken default config still gives the default paths, with a warning.
std::optional<agent::Config> paths(const Common& o, int& exit_code) {
  auto c = agent::load_config(o.config);
  if (c) return *c;
  if (o.config_given) {
    std::cerr << agent::format_errors(c.error());
    exit_code = kExitUsage;
    return std::nullopt;
  }
  std::cerr << "warning: " << agent::format_errors(c.error()) << "using the default paths\n";
  agent::Config d;
  d.source = o.config + " (broken: default paths)";
  return d;
}

std::string iso(agent::Instant t) {
  return schedule::format_iso8601(std::chrono::floor<std::chrono::seconds>(t), schedule::Zone::utc());
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
    std::cerr << "cronitor-agent: the daemon is not running (no socket at " << c.socket << ") and " << s.error().message
              << "\n";
    exit_code = kExitFailure;
    return std::nullopt;
  }
  return std::move(*s);
}

/// How runs reach the agent where that is not the wrapper (agent/config/wrap_policy.h): said under the table.
void print_reporting_notes(const json& out) {
  if (out.contains("wrap_refused") && out["wrap_refused"].is_string())
    std::cout << "not wrapping crontab lines: " << escape_text(out["wrap_refused"].get<std::string>())
              << " (unwrapped jobs stay unreported)\n";
  if (out.contains("refused_lines") && out["refused_lines"].is_array())
    for (const auto& r : out["refused_lines"])  // users' lines that may not define their key
      std::cout << "refused: " << r.value("reason", std::string()) << "\n";
  std::string observed;
  for (const auto& m : out["monitors"])
    if (m.value("reported_by", json()) == "cron log")
      observed += (observed.empty() ? "" : ", ") + escape_text(m.value("key", std::string()));
  if (!observed.empty()) std::cout << "observed from cron's log (files a package owns): " << observed << "\n";
  std::string by_proc;
  for (const auto& m : out["monitors"])
    if (m.value("reported_by", json()) == "process events")
      by_proc += (by_proc.empty() ? "" : ", ") + escape_text(m.value("key", std::string()));
  if (!by_proc.empty()) std::cout << "observed (process events): " << by_proc << "\n";
  if (out.contains("process_events") && out["process_events"].is_object()) {
    const json& pe = out["process_events"];
    if (!pe.value("live", false))
      std::cout << "process events: unobserved: " << escape_text(pe.value("why_not", std::string()))
                << " (runs come from wrappers and cron's log only)\n";
    else if (pe.value("losses", 0) > 0)
      std::cout << "process events: the kernel dropped events " << pe.value("losses", 0) << " times; "
                << pe.value("ended_unknown", 0) << " runs ended with their outcome unknown\n";
    // cron's log as the fallback: said when it was used (the fast-exit gap, issue 21).
    if (pe.value("named_from_cron_log", 0) + pe.value("from_cron_log", 0) + pe.value("unnamed", 0) > 0)
      std::cout << "process events: cron's log used: " << pe.value("named_from_cron_log", 0)
                << " runs gone before their command was read named by its CMD lines, " << pe.value("from_cron_log", 0)
                << " CMD lines with no run seen recorded with their outcome unknown, " << pe.value("unnamed", 0)
                << " short runs left unnamed\n";
  }
  // Said once for all such jobs: the cause and the fix are the host's cron, not the job.
  std::string unseen, why;
  for (const auto& m : out["monitors"])
    if (m.contains("failures_unseen") && m["failures_unseen"].is_string()) {
      unseen += (unseen.empty() ? "" : ", ") + escape_text(m.value("key", std::string()));
      why = m["failures_unseen"].get<std::string>();
    }
  if (!unseen.empty()) std::cout << "failures not seen for " << unseen << ": " << escape_text(why) << "\n";
  for (const auto& m : out["monitors"])  // a timer the manager masked or stopped: how to bring it back
    if (m.contains("hint") && m["hint"].is_string())
      std::cout << escape_text(m.value("key", std::string())) << " is " << escape_text(m.value("state", std::string()))
                << ": " << escape_text(m["hint"].get<std::string>()) << "\n";
  if (out.contains("systemd") && out["systemd"].is_object()) {
    const json& sd = out["systemd"];
    if (sd.value("live", false))
      std::cout << "systemd timers: observed live from the manager (" << sd.value("timers", 0) << " loaded)\n";
    else
      std::cout << "systemd timers: unobserved: " << escape_text(sd.value("why_not", std::string())) << "\n";
  }
}

void status(const Common& o, int& exit_code) {
  auto c = paths(o, exit_code);
  if (!c) return;
  json out;
  if (auto r = ask(*c, {{"control", "status"}}, exit_code)) {
    out = *r;
    out["socket"] = c->socket;
  } else {
    if (exit_code != kExitOk) return;
    auto store = open_state(*c, false, exit_code);
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
    json snoozed = nullptr;
    if (auto h = store->host()) {
      cron = agent::cron_incident_json(*h);
      snoozed = agent::snooze_json(
          *h, std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()));
    }
    out = {{"ok", true}, {"daemon", "stopped"}, {"monitors", list}, {"cron_incident", cron}, {"snooze", snoozed}};
    out["state"] = store->path();
  }
  // Which state this is: a sysadmin with two configs must not read the wrong one unawares.
  out["config"] = c->source;
  json warnings = json::array();
  if (auto w = agent::no_target_warning(*c); !w.empty()) warnings.push_back(w);
  out["warnings"] = warnings;
  for (const auto& w : warnings) std::cerr << "warning: " << escape_text(w.get<std::string>()) << "\n";
  if (o.json_out) {
    std::cout << json_text(out) << "\n";
  } else {
    if (out["daemon"] == "stopped")
      std::cout << "The daemon is not running: state as last saved in " << out["state"].get<std::string>()
                << " (config " << c->source << ")\n";
    else
      std::cout << "The daemon is running (socket " << c->socket << ", config " << c->source << ")\n";
    if (out["cron_incident"].is_object())
      std::cout << "CRON DAEMON DOWN since " << out["cron_incident"].value("opened", "") << ": "
                << escape_text(out["cron_incident"].value("reason", "")) << "\n";
    if (out.contains("snooze") && out["snooze"].is_object())
      std::cout << "snoozed until " << out["snooze"].value("until", "")
                << (out["snooze"].value("reason", json()).is_string()
                        ? " (" + escape_text(out["snooze"]["reason"].get<std::string>()) + ")"
                        : std::string())
                << ": alerts are recorded, not sent\n";
    if (out.value("shutting_down", false)) std::cout << "HOST SHUTTING DOWN: alerts are recorded, not sent\n";
    if (out.contains("disk_full") && out["disk_full"].is_object())
      std::cout << "DISK FULL under " << out["disk_full"].value("state_dir", "")
                << ": runs wait in the spool until space returns\n";
    if (out.value("alerts_held", 0) > 0)
      std::cout << out["alerts_held"].get<uint64_t>()
                << " alert message(s) held back by alert_rate_limit since the agent started (recorded; see "
                   "`history KEY`)\n";
    if (out.contains("uplink")) std::cout << agent::uplink_notes(out["uplink"]);
    std::cout << agent::status_table(out["monitors"]);
    print_reporting_notes(out);
  }
  exit_code = kExitOk;
}

/// True when `key` names a monitor (history of an unknown key is an error, not an empty list).
bool known_monitor(const agent::Config& c, const std::string& key, bool daemon_runs, int& exit_code) {
  if (daemon_runs) {
    auto r = ask(c, {{"control", "status"}}, exit_code);
    if (!r) return false;
    for (const auto& m : (*r)["monitors"])
      if (m.value("key", "") == key) return true;
    return false;
  }
  auto store = open_state(c, false, exit_code);
  if (!store) return false;
  auto jobs = store->jobs();
  if (!jobs) return false;
  for (const auto& j : *jobs)
    if (j.key == key) return true;
  return false;
}

void history(const Common& o, const std::string& key, int limit, int& exit_code) {
  auto c = paths(o, exit_code);
  if (!c) return;
  json runs;
  bool daemon_runs = false;
  if (auto r = ask(*c, {{"control", "history"}, {"key", key}, {"limit", limit}}, exit_code)) {
    runs = (*r)["runs"];
    daemon_runs = true;
  } else {
    if (exit_code != kExitOk) return;
    auto store = open_state(*c, false, exit_code);
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
  if (runs.empty() && !known_monitor(*c, key, daemon_runs, exit_code)) {
    if (exit_code != kExitOk) return;
    std::cerr << "cronitor-agent: no monitor with key \"" << escape_text(key)
              << "\" (cronitor-agent status lists them)\n";
    exit_code = kExitFailure;
    return;
  }
  if (o.json_out)
    std::cout << json_text(runs) << "\n";
  else
    std::cout << agent::history_table(runs);
  exit_code = kExitOk;
}

/// What pause and resume print: one line, or one JSON object.
void report_pause(const Common& o, const std::string& key, const std::string& state,
                  const std::optional<agent::Instant>& until, agent::Instant now, bool daemon_runs) {
  json paused_until = nullptr;
  if (until) paused_until = *until == agent::Instant::max() ? json("resume") : json(iso(*until));
  if (o.json_out) {
    std::cout << json_text(json({{"key", key},
                                 {"state", state},
                                 {"paused_until", paused_until},
                                 {"daemon", daemon_runs ? "running" : "stopped"}}))
              << "\n";
    return;
  }
  std::cout << escape_text(key) << ": " << state;
  if (until && *until != agent::Instant::max())
    std::cout << " until " << iso(*until) << " (for "
              << cronitor::format_duration(std::chrono::ceil<std::chrono::seconds>(*until - now)) << ")";
  else if (until)
    std::cout << " until cronitor-agent resume " << escape_text(key);
  if (!daemon_runs) std::cout << " (the daemon is not running; it applies this at start)";
  std::cout << "\n";
}

void pause_resume(const Common& o, const std::string& key, const std::string& for_text, bool pause, int& exit_code) {
  auto c = paths(o, exit_code);
  if (!c) return;
  std::optional<agent::Instant> until;
  const auto now = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
  if (pause) {
    until = agent::Instant::max();
    if (!for_text.empty()) {
      auto d = cronitor::parse_duration(for_text);
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
  if (auto r = ask(*c, req, exit_code)) {
    report_pause(o, key, (*r)["state"].get<std::string>(), until, now, true);
    exit_code = kExitOk;
    return;
  }
  if (exit_code != kExitOk) return;
  auto store = open_state(*c, true, exit_code);
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
    report_pause(o, key, pause ? "paused" : "resumed", until, now, false);
    exit_code = kExitOk;
    return;
  }
  std::cerr << "cronitor-agent: no monitor with key \"" << key << "\" in " << store->path() << "\n";
  exit_code = kExitFailure;
}

}  // namespace

void register_state_commands(CLI::App& app, int& exit_code) {
  // Each subcommand gets its own options; --config given on the command line must load.
  auto common = [](CLI::App* cmd, const std::shared_ptr<Common>& o, bool json_flag) {
    auto* cfg = cmd->add_option("--config", o->config, "Configuration file (default /etc/cronitor/agent.yaml)");
    if (json_flag) cmd->add_flag("--json", o->json_out, "Print JSON");
    return cfg;
  };
  auto o = std::make_shared<Common>();
  auto* st = app.add_subcommand("status", "Every monitor: state, last run, next expected time, open incident");
  auto* st_cfg = common(st, o, true);
  st->callback([&exit_code, o, st_cfg] {
    o->config_given = st_cfg->count() > 0;
    status(*o, exit_code);
  });

  auto ho = std::make_shared<Common>();
  auto key = std::make_shared<std::string>();
  auto limit = std::make_shared<int>(20);
  auto* hi = app.add_subcommand("history", "The last runs of one monitor");
  hi->add_option("KEY", *key, "Monitor key")->required();
  hi->add_option("--limit,-n", *limit, "How many runs")->check(CLI::Range(1, 10000));
  auto* hi_cfg = common(hi, ho, true);
  hi->callback([&exit_code, ho, key, limit, hi_cfg] {
    ho->config_given = hi_cfg->count() > 0;
    history(*ho, *key, *limit, exit_code);
  });

  auto po = std::make_shared<Common>();
  auto pkey = std::make_shared<std::string>();
  auto pfor = std::make_shared<std::string>();
  auto* pa = app.add_subcommand("pause", "Stop alerting for a monitor (for a while with --for 2h)");
  pa->add_option("KEY", *pkey, "Monitor key")->required();
  pa->add_option("--for", *pfor, "Duration, e.g. 2h or \"30 minutes\"");
  auto* pa_cfg = common(pa, po, true);
  pa->callback([&exit_code, po, pkey, pfor, pa_cfg] {
    po->config_given = pa_cfg->count() > 0;
    pause_resume(*po, *pkey, *pfor, true, exit_code);
  });

  auto ro = std::make_shared<Common>();
  auto rkey = std::make_shared<std::string>();
  auto* re = app.add_subcommand("resume", "Resume alerting for a paused monitor");
  re->add_option("KEY", *rkey, "Monitor key")->required();
  auto* re_cfg = common(re, ro, true);
  re->callback([&exit_code, ro, rkey, re_cfg] {
    ro->config_given = re_cfg->count() > 0;
    pause_resume(*ro, *rkey, "", false, exit_code);
  });
}

}  // namespace cronitor::cli
