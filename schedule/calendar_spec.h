// systemd OnCalendar= expressions (systemd.time(7)), evaluated the way systemd computes them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "schedule/zone.h"

namespace cronitor::schedule {

/// Microseconds in a second (the seconds component is kept in microseconds), and systemd's last
/// year: nothing elapses after it.
inline constexpr int64_t kUsecPerSec = 1'000'000;
inline constexpr int64_t kCalendarMaxYear = 2199;

struct CalendarSpec {
  /// One item of a component list: `start`, `start..stop`, `start/repeat`, `start..stop/repeat`.
  struct Item {
    int64_t start;
    int64_t stop = -1;  // -1: open (with repeat) or a single value (without)
    int64_t repeat = 0;
  };
  using Component = std::vector<Item>;  // empty: '*' (any value)

  uint8_t weekdays = 0;       // bit w: weekday w (0 = Sunday); 0: any
  bool end_of_month = false;  // the day component counts back from the month's end ('~')
  bool utc = false;           // trailing " UTC"
  std::string timezone;       // trailing IANA zone, or empty
  Component year, month, day, hour, minute;
  Component usec;  // seconds, in microseconds

  /// Parses an OnCalendar= expression; errors say which part is wrong and why. Spaces and tabs
  /// around it are stripped first, as systemd does with a unit file's value.
  [[nodiscard]] static Result<CalendarSpec> parse(std::string_view expr);
  /// As `systemd-analyze calendar EXPR` takes EXPR: nothing stripped. Leading whitespace, tabs and
  /// newlines are refused; trailing spaces are taken only where systemd's parser skips them (after
  /// the weekdays or the date: "*-*~05,3 "), not after a time, a zone, a shortcut or @timestamp.
  [[nodiscard]] static Result<CalendarSpec> parse_exact(std::string_view expr);
  /// The normalised form, as `systemd-analyze calendar` prints it.
  std::string normalized() const;
  /// The first elapse strictly after `after` (microseconds since the epoch) in `zone`, unless the
  /// expression names its own zone; nullopt when it never elapses again (systemd stops at 2199).
  std::optional<int64_t> next_usec(int64_t after, const Zone& zone) const;

 private:
  [[nodiscard]] static Result<CalendarSpec> parse_as_is(std::string_view expr);
};

}  // namespace cronitor::schedule
