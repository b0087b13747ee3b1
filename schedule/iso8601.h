// ISO 8601 timestamps for people and scripts: parsing --from, printing fire times.
#pragma once

#include <string>
#include <string_view>

#include "common/error.h"
#include "schedule/civil.h"
#include "schedule/zone.h"

namespace cronitor::schedule {

/// "2026-03-29T03:00:00+02:00" (with ".ffffff" only when the instant has a fraction).
std::string format_iso8601(Instant t, const Zone& zone);
/// "2026-03-29T01:00:00Z": `t` in UTC, to the second (the fraction dropped), as alerts and replies show it.
std::string format_iso8601_utc(Instant t);
/// The same text for a wall time already known with its UTC offset (seconds east), written at
/// `out` (room for kIso8601Max bytes); returns the end. For loops that print many times.
inline constexpr size_t kIso8601Max = 48;
char* format_iso8601(char* out, const CivilTime& wall, int64_t frac_usec, int offset);
/// "2026-03-29T01:00:00Z", "...+01:00", "2026-03-29 01:00[:00[.fff]]" (wall time in `zone`;
/// the first one when repeated, an error when skipped), or "@UNIX_SECONDS".
[[nodiscard]] Result<Instant> parse_iso8601(std::string_view text, const Zone& zone);

}  // namespace cronitor::schedule
