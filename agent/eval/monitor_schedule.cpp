#include "agent/eval/monitor_schedule.h"

#include <string>
#include <utility>

#include "agent/eval/monitor.h"

namespace cronitor::agent {

Result<schedule::Schedule> parse_monitor_schedule(std::string_view text) {
  auto cron = schedule::Schedule::parse(text, schedule::Kind::kCron, schedule::CronDialect::kExtended);
  if (cron) return cron;
  auto cal = schedule::Schedule::parse(text, schedule::Kind::kSystemd);
  if (cal) return cal;
  bool looks_systemd = text.find('-') != std::string_view::npos || text.find(':') != std::string_view::npos ||
                       text == "daily" || text == "weekly" || text == "hourly" || text == "monthly";
  return fail("bad schedule \"" + std::string(text) +
              "\": " + (looks_systemd ? cal.error().message : cron.error().message));
}

Result<schedule::Schedule> interval_schedule(std::chrono::seconds period) {
  const int64_t s = period.count();
  if (s < 1) return fail("a heartbeat period must be at least 1 second");
  int64_t n = s;
  std::string unit = "second";
  for (auto [size, name] : {std::pair<int64_t, const char*>{86400, "day"}, {3600, "hour"}, {60, "minute"}}) {
    if (s % size == 0) {
      n = s / size;
      unit = name;
      break;
    }
  }
  return schedule::Schedule::parse("every " + std::to_string(n) + " " + unit + (n == 1 ? "" : "s"),
                                   schedule::Kind::kCron, schedule::CronDialect::kExtended);
}

std::optional<Instant> MonitorConfig::next_slot(Instant after) const {
  if (!schedule) return std::nullopt;
  std::optional<Instant> best = schedule->next(after, zone);
  for (const auto& more : more_schedules)
    if (auto t = more.next(after, zone); t && (!best || *t < *best)) best = t;
  return best;
}

std::string MonitorConfig::schedule_text() const {
  if (!schedule) return {};
  std::string out = schedule->text();
  for (const auto& more : more_schedules) out += " + " + more.text();
  return out;
}

}  // namespace cronitor::agent
