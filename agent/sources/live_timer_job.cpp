#include "agent/sources/live_timer_job.h"

#include "agent/eval/systemd_timespan.h"
#include "discovery/job_identity.h"

namespace cronitor::agent {
namespace {}  // namespace

bool timer_runs(const LiveTimer& t) {
  return t.loaded && (t.active_state == "active" || t.active_state == "activating");
}

std::string live_timer_name(const std::string& unit, const std::function<bool(const std::string&)>& taken) {
  const std::string stem = unit.ends_with(".timer") ? unit.substr(0, unit.size() - 6) : unit;
  std::string name = discovery::slugify(stem);
  if (name.empty()) name = "timer";
  if (!taken(name)) return name;
  const std::string whole = discovery::slugify(unit).empty() ? "timer" : discovery::slugify(unit);
  if (whole != name && !taken(whole)) return whole;
  for (int n = 2;; ++n)  // ends: each number is a name, and only so many monitors hold names
    if (std::string numbered = whole + "-" + std::to_string(n); !taken(numbered)) return numbered;
}

discovery::Job live_timer_job(const LiveTimer& t, const std::string& zone) {
  discovery::Job j;
  j.source = discovery::SourceKind::kSystemd;
  j.origin = discovery::JobOrigin::kTimer;
  j.unit = t.unit;
  j.file = t.unit;
  j.user = "root";
  j.timezone = zone;
  j.key = t.key;
  const std::string stem = t.unit.ends_with(".timer") ? t.unit.substr(0, t.unit.size() - 6) : t.unit;
  j.name = discovery::slugify(stem);
  if (j.name.empty()) j.name = "timer";
  discovery::TimerInfo info;
  info.on_calendar = t.calendar;
  info.monotonic = t.monotonic;
  info.service = t.service;
  info.enabled = true;  // the manager runs it: as good as enabled for monitoring
  info.persistent = t.persistent;
  info.accuracy = systemd_timespan_text(t.accuracy_usec);
  info.randomized_delay = systemd_timespan_text(t.randomized_delay_usec);
  for (const auto& c : t.calendar) j.schedule += (j.schedule.empty() ? "" : "; ") + c;
  if (j.schedule.empty())
    for (const auto& m : t.monotonic) j.schedule += (j.schedule.empty() ? "" : "; ") + m;
  j.timer = std::move(info);
  return j;
}

}  // namespace cronitor::agent
