#include "agent/eval/skipped_run.h"

#include "agent/eval/evaluator_rules.h"

namespace cronitor::agent {

std::string skipped_status(const std::string& condition) {
  return "skipped (" + (condition.empty() ? std::string("a condition") : condition) + " failed)";
}

Actions absorb_skip(const MonitorConfig& c, MonitorState& s, Instant at, const std::string& condition) {
  Actions out;
  if (s.removed) return out;
  // The manager fires at or after the slot (AccuracySec=): a slot up to a second after the check
  // is the same one, seen through two clocks' rounding.
  if (s.expected && *s.expected <= at + std::chrono::seconds(1))
    s.expected = c.schedule && !c.heartbeat ? c.next_slot(at) : std::nullopt;  // monotonic: the manager's next elapse
  s.consecutive_misses = 0;
  s.last_start = at;
  s.last_end = at;
  s.last_exit_code.reset();
  s.last_duration_ms = 0;
  s.last_status = skipped_status(condition);
  if (!c.alert_on_skip || c.paused || (s.paused_until && *s.paused_until > at)) return out;
  Alert a = rules::make_alert(c, Alert::Kind::kSkipped, at);
  a.summary = rules::display(c) + " was skipped: " + (condition.empty() ? std::string("a condition") : condition) +
              " failed when its timer fired";
  a.detail =
      "systemd did not start the service because a condition it checks at each start was false; nothing ran. "
      "You get this because alert_on_skip is set for this monitor";
  out.push_back(Action{Action::Type::kNotice, std::move(a)});
  return out;
}

}  // namespace cronitor::agent
