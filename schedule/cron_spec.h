// Cron expressions as bitmasks, and their fire times with the DST rules of Debian's cron daemon.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/error.h"
#include "schedule/civil.h"
#include "schedule/zone.h"

namespace cronitor::schedule {

enum class CronDialect {
  kDebian,    // a crontab line as Debian's cron reads it: 5 fields, names, ranges, steps, @aliases
  kExtended,  // a monitor definition: also 6 fields (seconds first), ?, L, L-N, LW, NW, wL, w#n, N/step
};

/// A parsed cron expression. Kept at 64 bytes or less: a host can hold many thousands.
struct CronSpec {
  enum Flag : uint8_t {
    kDomStar = 1 << 0,      // day-of-month field starts with '*' (or '?')
    kDowStar = 1 << 1,      // day-of-week field starts with '*' (or '?')
    kMinuteStar = 1 << 2,   // minute field starts with '*': a "wildcard" job for cron's DST rules
    kHourStar = 1 << 3,     // hour field starts with '*' (and @hourly)
    kLastWeekday = 1 << 4,  // LW: the last Monday-to-Friday of the month
    kReboot = 1 << 5,       // @reboot: no clock times at all
    kNever = 1 << 6,        // no date ever matches (e.g. "0 0 30 2 *")
    kSeconds = 1 << 7,      // 6 fields: no cron daemon runs it, so it follows elapsed time across DST
  };

  uint64_t seconds = 1;      // bit s: second s (bit 0 only for 5-field expressions)
  uint64_t minutes = 0;      // bit m
  uint32_t hours = 0;        // bit h
  uint32_t dom = 0;          // bit d: day d of the month (1..31)
  uint32_t dom_last = 0;     // bit k: k days before the last day of the month (L = bit 0)
  uint32_t dom_nearest = 0;  // bit d: the weekday (Mon-Fri) nearest day d (dW)
  uint16_t months = 0;       // bit m: month m (1..12)
  uint8_t dow = 0;           // bit w: weekday w (0 = Sunday)
  uint8_t dow_last = 0;      // bit w: the last weekday w of the month (wL)
  uint8_t dow_nth[5] = {};   // dow_nth[k] bit w: the (k+1)-th weekday w of the month (w#k+1)
  uint8_t flags = 0;

  /// Parses a cron expression; errors name the field, the token and what is allowed.
  [[nodiscard]] static Result<CronSpec> parse(std::string_view expr, CronDialect dialect);
  /// "HH:MM" daily (Cronitor's "at 13:37"), a fixed-time job.
  [[nodiscard]] static Result<CronSpec> daily_at(std::string_view hhmm);

  bool has(Flag f) const { return (flags & f) != 0; }
  /// Cron's "wildcard" jobs (minute or hour field starting with '*') follow real time across DST.
  bool wildcard() const { return (flags & (kMinuteStar | kHourStar)) != 0; }

  /// Bit d set for each day d of month `month` of `year` that matches (dom/dow combined as Vixie cron).
  uint32_t day_mask(int64_t year, unsigned month) const;
  /// The first matching wall time strictly after `after`, ignoring time zones; nullopt if none
  /// within 400 years (the Gregorian cycle, after which everything repeats).
  std::optional<CivilTime> next_civil(const CivilTime& after) const;
  /// The first fire time strictly after `after` (Unix seconds) in `zone`, with Debian cron's DST
  /// rules: skipped fixed-time jobs run right after a forward jump, repeated wall times run fixed
  /// jobs once and wildcard jobs twice, jumps of 3 hours or more are clock corrections. A 6-field
  /// expression (kSeconds) is not one Debian cron runs: it follows elapsed time (skipped wall
  /// times do not fire, repeated ones fire in both copies), as cronsim computes it.
  std::optional<int64_t> next_fire(int64_t after, const Zone& zone) const;
};

static_assert(sizeof(CronSpec) <= 64, "a parsed cron schedule must stay within 64 bytes");

}  // namespace cronitor::schedule
