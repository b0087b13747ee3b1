#include "discovery/job.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <utility>

namespace cronitor::discovery {

std::string Job::identity() const {
  std::string s;
  s.reserve(user.size() + schedule.size() + command.size() + unit.size() + 8);
  s += to_string(origin);
  s += '\n';
  s += user;
  s += '\n';
  s += schedule;
  s += '\n';
  s += command;
  s += '\n';
  s += unit;
  return s;
}

const char* to_string(SourceKind s) { return s == SourceKind::kSystemd ? "systemd" : "crontab"; }

const char* to_string(JobOrigin o) {
  switch (o) {
    case JobOrigin::kSystemCrontab:
      return "system-crontab";
    case JobOrigin::kUserCrontab:
      return "user-crontab";
    case JobOrigin::kRunParts:
      return "run-parts";
    case JobOrigin::kAnacron:
      return "anacron";
    case JobOrigin::kTimer:
      return "timer";
  }
  return "unknown";
}

namespace {
nlohmann::json opt(const std::optional<std::string>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }
nlohmann::json str_or_null(const std::string& v) { return v.empty() ? nlohmann::json(nullptr) : nlohmann::json(v); }
}  // namespace

nlohmann::json to_json(const Job& job) {
  nlohmann::json j;
  j["key"] = job.key;
  j["name"] = job.name;
  j["source"] = to_string(job.source);
  j["kind"] = to_string(job.origin);
  j["file"] = job.file;
  j["line"] = job.line > 0 ? nlohmann::json(job.line) : nlohmann::json(nullptr);
  j["user"] = job.user;
  j["schedule"] = job.schedule;
  j["timezone"] = job.timezone;
  j["command"] = job.source == SourceKind::kCrontab ? nlohmann::json(job.command) : nlohmann::json(nullptr);
  j["unit"] = str_or_null(job.unit);
  j["wrapped"] = job.wrapped;
  j["disabled"] = job.disabled;
  j["reason"] = opt(job.reason);
  j["twin_of"] = opt(job.twin_of);
  if (job.instrumented) {  // the upstream's own tool runs it, or ran it before `wrap --adopt`
    const Instrumentation& i = *job.instrumented;
    nlohmann::json in = {{"tool", i.tool},
                         {"upstream", i.upstream()},
                         {"setting", str_or_null(i.setting)},
                         {"id", str_or_null(i.id)},
                         {"adopted", i.adopted}};
    if (!i.server.empty()) in["server"] = i.server;
    if (!i.environment.empty()) in["environment"] = i.environment;
    if (!i.adopted) in["adoptable"] = i.not_adoptable.empty();
    if (!i.not_adoptable.empty()) in["not_adoptable"] = i.not_adoptable;
    j["instrumented"] = std::move(in);
  } else {
    j["instrumented"] = nullptr;
  }
  if (!job.more_lines.empty()) {  // one job on several lines: every line and schedule, in file order
    std::vector<std::pair<int, std::string>> all{{job.line, job.schedule}};
    for (const SameJobLine& l : job.more_lines) all.emplace_back(l.line, l.schedule);
    std::sort(all.begin(), all.end());
    nlohmann::json lines = nlohmann::json::array(), schedules = nlohmann::json::array();
    for (const auto& [line, schedule] : all) {
      lines.push_back(line);
      schedules.push_back(schedule);
    }
    j["lines"] = std::move(lines);
    j["schedules"] = std::move(schedules);
  }
  nlohmann::json env = nlohmann::json::object();
  if (!job.env.shell.empty()) env["SHELL"] = job.env.shell;
  if (!job.env.path.empty()) env["PATH"] = job.env.path;
  if (job.env.mailto_set) env["MAILTO"] = job.env.mailto;
  if (job.env.tz) env["TZ"] = *job.env.tz;
  if (job.env.cron_tz) env["CRON_TZ"] = *job.env.cron_tz;
  j["env"] = std::move(env);
  if (job.no_log) j["no_log"] = true;
  if (!job.run_parts_dir.empty()) j["run_parts"] = job.run_parts_dir;
  if (job.anacron) {
    j["anacron"] = {{"period", job.anacron->period},
                    {"period_days", job.anacron->period_days},
                    {"delay_minutes", job.anacron->delay_minutes},
                    {"id", job.anacron->id}};
  }
  if (job.timer) {
    const TimerInfo& t = *job.timer;
    j["timer"] = {{"on_calendar", t.on_calendar},
                  {"monotonic", t.monotonic},
                  {"service", t.service},
                  {"exec_start", str_or_null(t.exec_start)},
                  {"fragment", t.fragment},
                  {"enabled", t.enabled},
                  {"masked", t.masked},
                  {"persistent", t.persistent},
                  {"randomized_delay", str_or_null(t.randomized_delay)},
                  {"accuracy", str_or_null(t.accuracy)}};
  }
  return j;
}

}  // namespace cronitor::discovery
