// `cronitor-agent schedule next|explain`: the schedule engine for people and scripts.
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/cli/commands.h"
#include "schedule/calendar_spec.h"
#include "schedule/iso8601.h"
#include "schedule/schedule.h"

namespace cronitor::cli {
namespace {

using schedule::Instant;
using schedule::Kind;
using schedule::Schedule;
using schedule::Zone;

struct ScheduleOptions {
  std::vector<std::string> expr;
  std::string kind = "cron";
  std::string tz;
  std::string from;
  long count = 1;
};

std::string joined(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

Result<Schedule> parse_expr(const ScheduleOptions& o) {
  const Kind kind = o.kind == "systemd" ? Kind::kSystemd : Kind::kCron;
  const std::string text = joined(o.expr);
  if (kind == Kind::kSystemd) {
    // As systemd-analyze takes it: Schedule::parse strips around the text, as a unit file's
    // parser does before systemd sees the value; the command line's text is taken as it is.
    if (auto exact = schedule::CalendarSpec::parse_exact(text); !exact) return std::unexpected(exact.error());
  }
  return Schedule::parse(text, kind, schedule::CronDialect::kExtended);
}

int run_next(const ScheduleOptions& o) {
  auto sched = parse_expr(o);
  if (!sched) {
    std::fprintf(stderr, "cronitor-agent: %s\n", sched.error().message.c_str());
    return kExitUsage;
  }
  Zone zone = Zone::local();
  if (!o.tz.empty()) {
    auto z = Zone::load(o.tz);
    if (!z) {
      std::fprintf(stderr, "cronitor-agent: --tz: %s\n", z.error().message.c_str());
      return kExitUsage;
    }
    zone = std::move(*z);
  }
  // An OnCalendar expression that names its own zone is printed in that zone.
  if (const auto* cal = std::get_if<schedule::CalendarSpec>(&sched->spec())) {
    if (cal->utc)
      zone = Zone::utc();
    else if (!cal->timezone.empty())
      zone = *Zone::load(cal->timezone);
  }
  Instant from = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
  if (!o.from.empty()) {
    auto f = schedule::parse_iso8601(o.from, zone);
    if (!f) {
      std::fprintf(stderr, "cronitor-agent: --from: %s\n", f.error().message.c_str());
      return kExitUsage;
    }
    from = *f;
  }
  std::string out;
  out.reserve(static_cast<size_t>(std::min(o.count, 100000L)) * 26);
  auto flush_if_full = [&] {
    if (out.size() > (1u << 20)) std::fwrite(out.data(), 1, out.size(), stdout), out.clear();
  };
  long printed = 0;
  const auto* cron = std::get_if<schedule::CronSpec>(&sched->spec());
  if (cron != nullptr && zone.fixed() && !cron->has(schedule::CronSpec::kReboot) &&
      !cron->has(schedule::CronSpec::kNever)) {
    // A zone without transitions: walk wall times directly (what next_fire does per call, without
    // converting to instants and back for each line). Instants of whole seconds, as next_fire's.
    const int64_t from_us = from.time_since_epoch().count();
    const int64_t from_s = from_us >= 0 ? from_us / 1'000'000 : -((-from_us + 999'999) / 1'000'000);
    const int off = zone.offset_at(from_s);
    std::optional<schedule::CivilTime> wall = schedule::CivilTime::from_linear(from_s + off);
    char line[schedule::kIso8601Max + 1];
    for (; printed < o.count && (wall = cron->next_civil(*wall)); ++printed) {
      char* end = schedule::format_iso8601(line, *wall, 0, off);
      *end++ = '\n';
      out.append(line, end);
      flush_if_full();
    }
  } else {
    for (Instant t = from; printed < o.count; ++printed) {
      auto n = sched->next(t, zone);
      if (!n) break;
      out += schedule::format_iso8601(*n, zone);
      out += '\n';
      flush_if_full();
      t = *n;
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  if (printed < o.count) {
    if (sched->at_reboot()) {
      std::fprintf(stderr, "cronitor-agent: \"%s\" runs at boot only, never from the clock\n", sched->text().c_str());
    } else if (printed == 0) {
      std::fprintf(stderr, "cronitor-agent: \"%s\" never fires after %s\n", sched->text().c_str(),
                   schedule::format_iso8601(from, zone).c_str());
    } else {
      std::fprintf(stderr, "cronitor-agent: \"%s\" fires only %ld more time(s)\n", sched->text().c_str(), printed);
    }
  }
  return kExitOk;
}

int run_explain(const ScheduleOptions& o) {
  auto sched = parse_expr(o);
  if (!sched) {
    std::fprintf(stderr, "cronitor-agent: %s\n", sched.error().message.c_str());
    return kExitUsage;
  }
  std::printf("%s\n", sched->explain().c_str());
  return kExitOk;
}

}  // namespace

void register_schedule(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<ScheduleOptions>();
  auto* sched = app.add_subcommand("schedule", "Compute and explain schedules (cron, every/at, OnCalendar)");
  sched->require_subcommand(1);

  auto* next = sched->add_subcommand("next", "Print the next fire times, one ISO 8601 timestamp per line");
  next->add_option("expr", opts->expr, "The schedule expression (quote it)")->required()->expected(1, -1);
  next->add_option("--kind", opts->kind, "cron (default; also 'every ...' and 'at HH:MM') or systemd (OnCalendar=)")
      ->check(CLI::IsMember({"cron", "systemd"}));
  next->add_option("--tz", opts->tz, "IANA time zone (default: this host's zone)");
  next->add_option("--from", opts->from, "Start after this time (ISO 8601 or @UNIX; default: now)");
  next->add_option("--count", opts->count, "How many fire times to print (default 1)")
      ->check(CLI::Range(1L, 10'000'000L));
  next->callback([opts, &exit_code] { exit_code = run_next(*opts); });

  auto* explain = sched->add_subcommand("explain", "Describe a schedule in plain English");
  explain->add_option("expr", opts->expr, "The schedule expression (quote it)")->required()->expected(1, -1);
  explain->add_option("--kind", opts->kind, "cron (default) or systemd")->check(CLI::IsMember({"cron", "systemd"}));
  explain->callback([opts, &exit_code] { exit_code = run_explain(*opts); });
}

}  // namespace cronitor::cli
