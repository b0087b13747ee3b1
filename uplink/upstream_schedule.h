// A job's schedule and zone in the forms Sentry's monitor_config and Cronitor's monitor API take:
// a 5-field crontab or an "every N unit" interval that fires at the same times, and an IANA zone
// name. Where no faithful form exists, none (and why, for the one warning naming the job).
// Pure apart from reading the host's zone files (under `root`, so tests give their own).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schedule/schedule.h"
#include "schedule/zone.h"

namespace cronitor::uplink {

struct UpstreamSchedule {
  std::string schedule;  // "37 13 * * *", "every 5 minutes", or empty
  std::string timezone;  // an IANA name from the zoneinfo list, or empty (the upstream's default, UTC)
  std::string why_not;   // set when the job has a schedule that no upstream form expresses
};

/// True for a name in the system's zoneinfo list, as Sentry's validator has it ("UTC",
/// "Europe/Berlin", "Etc/GMT-5"); false for "localtime", paths, offsets ("+05:30"), POSIX TZ strings.
[[nodiscard]] bool is_iana_zone(std::string_view name, const std::string& root = "");

/// The host's zone as an IANA name: the /etc/localtime symlink's target under zoneinfo/, else
/// /etc/timezone, else "UTC" when there is no /etc/localtime (glibc's default); nullopt when
/// /etc/localtime is a copied file /etc/timezone does not name.
[[nodiscard]] std::optional<std::string> host_iana_zone(const std::string& root = "");

/// A zone as the agent names it ("Europe/Berlin", "/etc/localtime", "localtime", "+05:30") as an
/// IANA name: IANA names as they are, the host's zone resolved, whole-hour offsets as Etc/GMT∓N,
/// UTC+0 as "UTC"; nullopt for other offsets (see upstream_schedule) and unresolvable names.
[[nodiscard]] std::optional<std::string> iana_zone_name(const schedule::Zone& zone, const std::string& root = "");

/// What an upstream receives for `schedules` (a job's schedule and any more crontab lines of it)
/// run in `zone`. `from_end`: an interval counted from the previous run's end (OnUnitInactiveSec=).
[[nodiscard]] UpstreamSchedule upstream_schedule(const std::vector<const schedule::Schedule*>& schedules,
                                                 const schedule::Zone& zone, bool from_end = false,
                                                 const std::string& root = "");

/// "every 90 seconds" / "every 5 minutes" -> {value, unit} in the largest whole unit of Sentry's
/// (minute, hour, day, week); nullopt when not a whole number of minutes.
struct Interval {
  long long value;
  std::string unit;
};
[[nodiscard]] std::optional<Interval> whole_interval(std::chrono::seconds period);
[[nodiscard]] std::optional<Interval> parse_interval(std::string_view every_text);

/// True for a standard 5-field crontab (digits, '*', ',', '-', '/'), the only kind this agent
/// sends: what Sentry (5 fields only) and Cronitor read the same way.
[[nodiscard]] bool is_plain_crontab(std::string_view text);

}  // namespace cronitor::uplink
