#include "agent/eval/slot_runs.h"

#include <algorithm>

namespace cronitor::agent {

using std::chrono::seconds;

SlotCount count_run_in_slot(const MonitorConfig& c, MonitorState& s, Instant started, std::optional<Instant> covered) {
  SlotCount out;
  if (c.max_runs_per_slot <= 0 || !c.schedule || c.heartbeat || c.schedule->interval()) return out;
  // The same allowance cover_slot gives a run that starts a little before its slot: cron starts
  // a job within a second of its minute, so a run this close to the slot is cron's, not a person's.
  const auto early = std::min<seconds>(c.grace, seconds(60));
  if (covered) {
    if (s.slot && !s.slot_alerted) out.clean_slot = *s.slot;
    if (s.slot && s.slot_alerted && s.slot_runs > s.slot_recorded_runs)
      out.closed_over = SlotCount::Closed{*s.slot, s.slot_runs, s.slot_prompt_runs};
    s.slot = *covered;
    s.slot_runs = 0;
    s.slot_prompt_runs = 0;
    s.slot_alerted = false;
    s.slot_recorded_runs = 0;
  } else if (!s.slot || started + early < *s.slot) {
    return out;  // before any slot the agent counted (a run by hand before the first slot)
  }
  ++s.slot_runs;
  if (started + early >= *s.slot && started <= *s.slot + early) ++s.slot_prompt_runs;
  out.over = s.slot_prompt_runs > c.max_runs_per_slot || s.slot_runs > c.max_runs_per_slot + 1;
  out.first_over = out.over && !s.slot_alerted;
  if (out.over) s.slot_alerted = true;
  return out;
}

}  // namespace cronitor::agent
