// The time zone the cron daemon really runs jobs in (Healthchecks #385, #418). cron reads the
// host's zone (/etc/localtime) once, when it starts: after `timedatectl set-timezone` it keeps
// running jobs in the old zone until it is restarted. The agent evaluates cron jobs in the zone
// cron uses, and says once that cron needs a restart. Pure: the daemon feeds what it read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "agent/eval/evaluator.h"

namespace cronitor::agent {

/// One look at cron and the host's zone files.
struct CronZoneObservation {
  Instant now;
  int64_t cron_pid = 0;  // 0: cron is not running (nothing changes)
  uint64_t cron_start = 0;
  std::optional<Instant> cron_started_at;  // wall-clock start of that cron process, if known
  std::string host_zone;                   // the zone the files say now ("Europe/Lisbon")
  std::optional<Instant> zone_changed_at;  // newest change time of /etc/localtime, /etc/timezone
  std::string host;                        // this machine, for the message
};

/// Updates `s` and returns the warning (an incident keyed "host:timezone", opened once) or its
/// end (cron restarted, or the zone was set back). A cron process seen for the first time takes
/// the host's zone, unless the zone files changed after it started: then it still runs in the
/// zone the agent read before the change (when the agent read one).
Actions observe_cron_zone(CronZoneState& s, const CronZoneObservation& obs);

/// The zone to evaluate cron jobs without a zone of their own in: cron's, else the host's.
inline const std::string& cron_jobs_zone(const CronZoneState& s) { return s.zone.empty() ? s.host_zone : s.zone; }

}  // namespace cronitor::agent
