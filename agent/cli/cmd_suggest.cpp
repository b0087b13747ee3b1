// `cronitor-agent suggest [KEY] [--json]`: each job's durations, start delays and failure rate
// from its history in state.db, and the grace and max runtime they suggest, ready to paste.
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "agent/cli/commands.h"
#include "agent/config/config.h"
#include "agent/control/json_out.h"
#include "agent/eval/tolerance_advice.h"
#include "agent/state/state_store.h"
#include "common/duration.h"
#include "common/text.h"

namespace cronitor::cli {
namespace {

using nlohmann::json;

struct SuggestOptions {
  std::string config = std::string(agent::kDefaultConfigPath);
  std::string key;
  int runs = 200;
  bool json_out = false;
};

std::optional<schedule::Schedule> job_schedule(const agent::JobRow& j) {
  const auto kind = j.source == "systemd" ? schedule::Kind::kSystemd : schedule::Kind::kCron;
  auto s = schedule::Schedule::parse(j.schedule, kind);
  if (s) return std::move(*s);
  return std::nullopt;
}

std::string ms_text(const std::optional<std::chrono::milliseconds>& v) {
  if (!v) return "-";
  if (v->count() < 10'000) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(v->count()) / 1000.0);
    return buf;
  }
  return cronitor::format_duration(std::chrono::duration_cast<std::chrono::seconds>(*v));
}

json ms_json(const std::optional<std::chrono::milliseconds>& v) { return v ? json(v->count()) : json(nullptr); }

int suggest(const SuggestOptions& o) {
  auto c = agent::load_config(o.config);
  if (!c) {
    std::cerr << agent::format_errors(c.error());
    return kExitUsage;
  }
  auto store = agent::StateStore::open_readonly(c->state_dir + "/state.db");
  if (!store) {
    std::cerr << "cronitor-agent: " << store.error().message << "\n";
    return kExitFailure;
  }
  auto jobs = store->jobs();
  if (!jobs) {
    std::cerr << "cronitor-agent: " << jobs.error().message << "\n";
    return kExitFailure;
  }
  std::vector<agent::ToleranceAdvice> advice;
  bool found = false;
  for (const auto& j : *jobs) {
    if (!o.key.empty() && j.key != o.key) continue;
    found = true;
    auto runs = store->history(j.key, o.runs);
    if (!runs) {
      std::cerr << "cronitor-agent: " << runs.error().message << "\n";
      return kExitFailure;
    }
    auto zone = schedule::Zone::load(j.timezone.empty() ? "UTC" : j.timezone);
    advice.push_back(
        agent::advise(j.key, *runs, job_schedule(j), zone ? *zone : schedule::Zone::local(), c->defaults.grace));
  }
  if (!o.key.empty() && !found) {
    std::cerr << "cronitor-agent: no job \"" << escape_text(o.key) << "\" in " << store->path() << "\n";
    return kExitFailure;
  }
  if (o.json_out) {
    json out = json::array();
    for (const auto& a : advice) {
      out.push_back({{"key", a.key},
                     {"runs", a.runs},
                     {"failure_rate", a.failure_rate()},
                     {"duration_ms", {{"p50", ms_json(a.p50)}, {"p95", ms_json(a.p95)}, {"max", ms_json(a.max)}}},
                     {"start_delay_ms", {{"p50", ms_json(a.delay_p50)}, {"p95", ms_json(a.delay_p95)}}},
                     {"suggested",
                      {{"grace_seconds", a.grace.count()},
                       {"max_runtime_seconds", a.max_runtime ? json(a.max_runtime->count()) : json(nullptr)},
                       {"comment", a.comment()},
                       {"yaml", a.yaml()}}},
                     {"note", a.why.empty() ? json(nullptr) : json(a.why)}});
    }
    std::cout << json_text(out) << "\n";
    return kExitOk;
  }
  std::printf("%-28s %5s %8s %8s %8s %9s %6s  %s\n", "KEY", "RUNS", "P50", "P95", "MAX", "DELAY95", "FAIL%",
              "SUGGESTED");
  for (const auto& a : advice) {
    std::printf("%-28s %5d %8s %8s %8s %9s %5.1f%%  %s\n", escape_text(a.key).c_str(), a.runs, ms_text(a.p50).c_str(),
                ms_text(a.p95).c_str(), ms_text(a.max).c_str(), ms_text(a.delay_p95).c_str(), 100.0 * a.failure_rate(),
                escape_text(a.comment().substr(12)).c_str());
  }
  if (advice.size() == 1) {
    const auto& a = advice[0];
    std::printf("\nAbove the crontab line:\n%s\nOr in agent.yaml under monitors:\n%s",
                escape_lines(a.comment()).c_str(), escape_lines(a.yaml()).c_str());
    if (!a.why.empty()) std::printf("(%s)\n", escape_text(a.why).c_str());
  }
  return kExitOk;
}

}  // namespace

void register_suggest(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<SuggestOptions>();
  auto* cmd = app.add_subcommand("suggest", "Suggest grace and max runtime from each job's own history");
  cmd->add_option("KEY", o->key, "One job (default: every job)");
  cmd->add_option("--config", o->config, "Configuration file (for state_dir and the default grace)")
      ->capture_default_str();
  cmd->add_option("--runs", o->runs, "How many recent runs to look at")->check(CLI::Range(1, 100000));
  cmd->add_flag("--json", o->json_out, "Print JSON");
  cmd->callback([o, &exit_code] { exit_code = suggest(*o); });
}

}  // namespace cronitor::cli
