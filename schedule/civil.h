// Proleptic Gregorian calendar arithmetic on plain integers: no time zones, no I/O.
// Hot paths of the schedule engine use these instead of cctz's civil types to avoid
// normalisation work on every step.
#pragma once

#include <cstdint>

namespace cronitor::schedule {

/// Days since 1970-01-01 of the civil date y-m-d (m 1..12, d 1..31).
constexpr int64_t days_from_civil(int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);                // [0, 399]
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;  // [0, 365]
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           // [0, 146096]
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct CivilDate {
  int64_t year;
  unsigned month;  // 1..12
  unsigned day;    // 1..31
};

/// Inverse of days_from_civil.
constexpr CivilDate civil_from_days(int64_t z) noexcept {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return CivilDate{static_cast<int64_t>(yoe) + era * 400 + (m <= 2), m, d};
}

/// 0 = Sunday .. 6 = Saturday, for a count of days since 1970-01-01 (a Thursday).
constexpr unsigned weekday_from_days(int64_t z) noexcept {
  return static_cast<unsigned>(z >= -4 ? (z + 4) % 7 : (z + 5) % 7 + 6);
}

constexpr bool is_leap(int64_t y) noexcept { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

constexpr unsigned days_in_month(int64_t y, unsigned m) noexcept {
  constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

/// A wall-clock time of day and date, in seconds resolution, as plain fields.
struct CivilTime {
  int64_t year = 1970;
  unsigned month = 1, day = 1, hour = 0, minute = 0, second = 0;

  /// Seconds since 1970-01-01T00:00:00 as if this wall time were UTC (a total order on wall times).
  constexpr int64_t linear() const noexcept {
    return days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
  }
  static constexpr CivilTime from_linear(int64_t s) noexcept {
    int64_t days = s >= 0 ? s / 86400 : (s - 86399) / 86400;
    auto secs = static_cast<unsigned>(s - days * 86400);
    CivilDate d = civil_from_days(days);
    return CivilTime{d.year, d.month, d.day, secs / 3600, secs / 60 % 60, secs % 60};
  }
  friend constexpr bool operator==(const CivilTime&, const CivilTime&) = default;
};

}  // namespace cronitor::schedule
