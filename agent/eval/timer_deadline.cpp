#include "agent/eval/timer_deadline.h"

#include <algorithm>

namespace cronitor::agent {

std::optional<Instant> elapse_instant(uint64_t usec) {
  if (usec == 0 || usec == UINT64_MAX) return std::nullopt;
  return Instant(std::chrono::microseconds(static_cast<int64_t>(std::min<uint64_t>(usec, INT64_MAX))));
}

bool expects_manager_elapse(const MonitorConfig& c) { return c.heartbeat || !c.schedule; }

bool adopt_next_elapse(const MonitorConfig& c, MonitorState& s, std::optional<Instant> next, Instant now) {
  if (s.removed || !expects_manager_elapse(c)) return false;
  if (s.expected && *s.expected <= now) return false;  // due: its run or its miss decides
  if (!next && c.schedule) return false;               // no elapse (timer not running): its own state says why
  if (s.expected == next) return false;
  s.expected = next;
  return true;
}

bool widen_grace(MonitorConfig& c, uint64_t accuracy_usec, uint64_t randomized_delay_usec) {
  const auto slack =
      std::chrono::ceil<std::chrono::seconds>(std::chrono::microseconds(accuracy_usec + randomized_delay_usec));
  if (slack <= c.grace) return false;
  c.grace = slack;
  return true;
}

bool skip_served_slots(const MonitorConfig& c, MonitorState& s, std::optional<Instant> last_trigger, bool persistent,
                       Instant now) {
  if (s.removed || !s.expected || *s.expected + c.grace > now) return false;
  const auto early = std::min<std::chrono::seconds>(c.grace, std::chrono::seconds(60));
  if (last_trigger && *last_trigger + early >= *s.expected) {
    // Slots after that trigger are still the evaluator's to judge.
    s.expected = c.schedule ? c.schedule->next(std::max(*s.expected, *last_trigger), c.zone) : std::nullopt;
    if (persistent && s.expected && *s.expected + c.grace <= now) s.expected = c.schedule->next(now - c.grace, c.zone);
    return true;
  }
  if (!persistent) return false;  // the host was off at the slot and nothing makes it up: missed
  s.expected = c.schedule ? c.schedule->next(now - c.grace, c.zone) : std::nullopt;
  return true;
}

bool absorb_catch_up(const MonitorConfig& c, MonitorState& s, Instant started) {
  s.catch_up_start = std::chrono::floor<std::chrono::milliseconds>(started);  // as run events carry it
  const size_t open = s.open_runs.size();
  std::erase_if(s.open_runs, [&](const OpenRun& r) { return r.started < started; });
  bool changed = s.open_runs.size() != open;
  if (s.expected && *s.expected + c.grace <= started) {
    // The first slot after the run, as after any run; none for a one-shot (OnBootSec= alone).
    s.expected = c.schedule ? c.schedule->next(started, c.zone) : std::nullopt;
    changed = true;
  }
  return changed;
}

bool catch_up_run(MonitorState& s, Instant started) {
  if (!s.catch_up_start) return false;
  const bool mine = *s.catch_up_start == std::chrono::floor<std::chrono::milliseconds>(started);
  // Any later run ends the wait too: a catch-up told is followed by its run at once.
  if (mine || started > *s.catch_up_start) s.catch_up_start.reset();
  return mine;
}

}  // namespace cronitor::agent
