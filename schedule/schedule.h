// A job's schedule, whatever its syntax: cron (Debian crontab or extended monitor form),
// Cronitor's "every N unit" / "at HH:MM", or systemd OnCalendar=. Pure: time and zone are inputs.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/error.h"
#include "schedule/calendar_spec.h"
#include "schedule/cron_spec.h"
#include "schedule/zone.h"

namespace cronitor::schedule {

enum class Kind { kCron, kSystemd };

/// A fixed elapsed-time period ("every 5 minutes"), anchored at the reference time given to next().
struct IntervalSpec {
  std::chrono::seconds period;
};

class Schedule {
 public:
  /// Parses `expr`. Kind::kCron takes cron expressions in `dialect` and, in the extended dialect,
  /// "every N seconds|minutes|hours|days|weeks" and "at HH:MM". Kind::kSystemd takes OnCalendar=.
  [[nodiscard]] static Result<Schedule> parse(std::string_view expr, Kind kind = Kind::kCron,
                                              CronDialect dialect = CronDialect::kExtended);

  /// The first fire time strictly after `after`, as the real scheduler would run it in `zone`
  /// (an OnCalendar expression's own trailing zone wins); nullopt when it never fires again.
  std::optional<Instant> next(Instant after, const Zone& zone) const;

  /// "@reboot": runs at boot only, never from the clock.
  bool at_reboot() const;
  /// An elapsed-time period, or nullopt for calendar schedules.
  std::optional<std::chrono::seconds> interval() const;
  /// The expression as written (trimmed).
  const std::string& text() const { return text_; }
  /// A plain-English description ("At 02:30 on Monday through Friday").
  std::string explain() const;

  const std::variant<CronSpec, IntervalSpec, CalendarSpec>& spec() const { return spec_; }

 private:
  Schedule(std::string text, std::variant<CronSpec, IntervalSpec, CalendarSpec> spec)
      : text_(std::move(text)), spec_(std::move(spec)) {}

  std::string text_;
  std::variant<CronSpec, IntervalSpec, CalendarSpec> spec_;
};

}  // namespace cronitor::schedule
