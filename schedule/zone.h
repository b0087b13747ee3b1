// A time zone (IANA, through cctz) with the few questions the schedule engine asks of it.
#pragma once

#include <cctz/time_zone.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"
#include "schedule/civil.h"

namespace cronitor::schedule {

/// A point in time, microseconds since the Unix epoch (UTC).
using Instant = std::chrono::sys_time<std::chrono::microseconds>;

/// A UTC offset change: at `at` (Unix seconds) wall clocks jump from `from` to `to`
/// (both as CivilTime::linear() values). to > from is a gap, to < from a repeated interval.
struct Transition {
  int64_t at;
  int64_t from;
  int64_t to;
};

/// How one wall-clock time maps to instants (Unix seconds).
struct CivilMapping {
  enum class Kind { kUnique, kSkipped, kRepeated };
  Kind kind;
  int64_t pre;    // unique: the instant; skipped: the wall time read with the old offset;
                  // repeated: the first (earlier) instant
  int64_t trans;  // skipped/repeated: the transition instant
  int64_t post;   // repeated: the second (later) instant
};

class Zone {
 public:
  /// "UTC", any IANA name ("Europe/Berlin"), or a fixed offset ("+05:30", "UTC-3").
  [[nodiscard]] static Result<Zone> load(std::string_view name);
  /// The zone of this host (TZ, else /etc/localtime), UTC when that fails.
  static Zone local();
  static Zone utc();

  const std::string& name() const { return name_; }
  /// True when the zone never changes its offset (UTC, fixed offsets): the fast path.
  bool fixed() const { return fixed_; }

  /// UTC offset in seconds at the instant `unix_seconds`.
  int offset_at(int64_t unix_seconds) const;
  /// The wall time at `unix_seconds`.
  CivilTime to_civil(int64_t unix_seconds) const;
  /// The instants a wall time stands for.
  CivilMapping from_civil(const CivilTime& c) const;
  /// The first offset change strictly after `unix_seconds`.
  std::optional<Transition> next_transition(int64_t unix_seconds) const;
  /// The last offset change at or before `unix_seconds`.
  std::optional<Transition> prev_transition(int64_t unix_seconds) const;

 private:
  Zone(std::string name, cctz::time_zone tz, bool fixed, int fixed_offset)
      : name_(std::move(name)), tz_(tz), fixed_(fixed), fixed_offset_(fixed_offset) {}

  std::string name_;
  cctz::time_zone tz_;
  bool fixed_;
  int fixed_offset_;
};

}  // namespace cronitor::schedule
