// Runs too often (Healthchecks #17, #236): counting the runs that start in each slot of a
// calendar schedule, to catch a job installed twice, a second cron daemon or a stuck loop.
#pragma once

#include <optional>

#include "agent/eval/monitor.h"

namespace cronitor::agent {

/// What counting one run did to the slot it belongs to.
struct SlotCount {
  bool over = false;        // the slot holds more runs than the rule allows
  bool first_over = false;  // ... and this run made it so (the slot was within the rule before)
  /// A new slot began after one that kept within the rule: a "ran too often" incident may end.
  std::optional<Instant> clean_slot;
  /// A new slot began after one over the rule that gained runs after it was recorded (a stuck
  /// loop): that slot and its final counts, recorded once instead of once per extra run.
  struct Closed {
    Instant slot;
    int runs = 0;
    int prompt_runs = 0;
  };
  std::optional<Closed> closed_over;
};

/// Counts a run that started at `started`. `covered` is the slot the run took (the one the
/// monitor waited for), or nullopt when the run came after its slot was already taken. The rule:
/// at most `max_runs_per_slot` runs on time (within the early allowance of the slot, as cron
/// starts them) and one more run by hand at any time; 0 turns it off. Calendar schedules only.
SlotCount count_run_in_slot(const MonitorConfig& c, MonitorState& s, Instant started, std::optional<Instant> covered);

}  // namespace cronitor::agent
