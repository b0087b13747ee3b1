#include "agent/monitor_schedule.h"

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

}  // namespace cronitor::agent
