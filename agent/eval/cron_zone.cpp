#include "agent/eval/cron_zone.h"

#include "common/duration.h"
#include "schedule/iso8601.h"

namespace cronitor::agent {
namespace {

constexpr const char* kKey = "host:timezone";

Alert zone_alert(Alert::Kind kind, const CronZoneObservation& obs) {
  Alert a;
  a.kind = kind;
  a.key = kKey;
  a.name = "cron time zone";
  a.at = obs.now;
  return a;
}

std::string on(const std::string& host) { return host.empty() ? std::string() : " on " + host; }

}  // namespace

Actions observe_cron_zone(CronZoneState& s, const CronZoneObservation& obs) {
  Actions out;
  if (obs.host_zone.empty()) return out;
  if (obs.cron_pid > 0 && (obs.cron_pid != s.cron_pid || obs.cron_start != s.cron_start)) {
    // A cron the agent has not seen: it read the zone when it started. If the files changed
    // after that, the zone it read is the one the agent last saw before the change.
    const bool changed_since =
        obs.zone_changed_at && obs.cron_started_at && *obs.zone_changed_at > *obs.cron_started_at;
    s.zone = changed_since && !s.host_zone.empty() ? s.host_zone : obs.host_zone;
    s.cron_pid = obs.cron_pid;
    s.cron_start = obs.cron_start;
  }
  s.host_zone = obs.host_zone;
  if (s.zone.empty()) return out;
  if (s.zone != s.host_zone && !s.warned) {
    s.warned = obs.now;
    Alert a = zone_alert(Alert::Kind::kZoneChanged, obs);
    a.incident_opened = obs.now;
    a.timezone = s.zone;
    a.summary = "cron still runs jobs in " + s.zone + "; restart cron to apply " + s.host_zone + on(obs.host);
    a.detail = "The host's time zone changed to " + s.host_zone + " after the cron daemon (pid " +
               std::to_string(s.cron_pid) +
               ") started; cron reads it only when it starts. Until it is "
               "restarted, the agent expects cron jobs at " +
               s.zone + " times.";
    out.push_back(Action{Action::Type::kOpen, std::move(a)});
  } else if (s.zone == s.host_zone && s.warned) {
    Alert a = zone_alert(Alert::Kind::kRecovered, obs);
    a.update = true;
    a.incident_opened = *s.warned;
    a.down_for = std::chrono::duration_cast<std::chrono::seconds>(obs.now - *s.warned);
    a.timezone = s.zone;
    a.summary = "cron runs jobs in " + s.zone + " now" + on(obs.host);
    a.detail = "cron and the host agree on the time zone again (" + s.zone + ")";
    s.warned.reset();
    out.push_back(Action{Action::Type::kResolve, std::move(a)});
  }
  return out;
}

}  // namespace cronitor::agent
