// Timers the systemd manager runs that no unit file discovery reads makes a monitor: one started
// with `systemctl start` and never enabled, or a transient one from `systemd-run --on-calendar`.
// Each is a job as discovery would list it, from the manager's own word (TimersCalendar,
// TimersMonotonic, AccuracyUSec, ...): named after its unit, its source the unit's name. Pure.
#pragma once

#include <functional>
#include <string>

#include "agent/sources/systemd_watch.h"
#include "discovery/job.h"

namespace cronitor::agent {

/// True while the manager runs the timer (a stopped one that no unit file enables is no job).
bool timer_runs(const LiveTimer& t);

/// The job the manager's timer `t` is; `zone` is the zone its OnCalendar= times are in (the
/// host's, as for discovered timers).
discovery::Job live_timer_job(const LiveTimer& t, const std::string& zone);

/// The name of a timer known only from the manager, unique per host: its unit's stem as
/// discovery names a unit ("backup" for backup.timer), unless `taken` says another monitor has
/// that (a cron job running `backup`, an enabled timer whose stem slugs the same: discovery does
/// not know this timer, so this one yields); then its unit's whole name ("backup-timer"), then
/// numbered ("backup-timer-2", ...).
std::string live_timer_name(const std::string& unit, const std::function<bool(const std::string&)>& taken);

/// True when `source` (a monitor's source file) names a timer known only from the manager.
inline bool is_live_timer_source(const std::string& source) {
  return source.ends_with(".timer") && source.find('/') == std::string::npos;
}

}  // namespace cronitor::agent
