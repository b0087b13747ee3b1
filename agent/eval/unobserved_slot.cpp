#include "agent/eval/unobserved_slot.h"

namespace cronitor::agent {

bool absorb_unobserved_slot(const MonitorConfig& c, MonitorState& s, Instant from, Instant to) {
  if (s.removed || !c.schedule || c.heartbeat || !s.expected) return false;
  constexpr auto kSlack = std::chrono::seconds(1);
  if (*s.expected < from - kSlack || *s.expected > to + kSlack) return false;
  if (s.last_start && *s.last_start >= from - kSlack) return false;  // its run was seen
  for (const auto& r : s.open_runs)
    if (r.started >= from - kSlack) return false;
  s.expected = c.next_slot(to);
  return true;
}

}  // namespace cronitor::agent
