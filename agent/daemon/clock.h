// The daemon's wall clock, taken from outside: the real one in production; in tests (root's
// `cronitor-agent run --simulated-clock`, agent/README.md) a simulated one that runs at the real
// pace from an offset and is moved forward on request, so that a test sees hours of deadlines,
// reminders and snooze ends in a moment. Everything the daemon judges by the wall clock (now(),
// the CLOCK_REALTIME timers of its deadlines, snooze end and outbox, the times wrappers stamp on
// their events) goes through it; log timestamps do not. Its relative (CLOCK_MONOTONIC) timers,
// delays that tests would otherwise wait for in real time (the cron daemon's 10-s confirmation,
// the heartbeats), run at the real pace too, and an advance moves them with the clock.
#pragma once

#include <systemd/sd-event.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>

#include "schedule/zone.h"

namespace cronitor::agent {

using schedule::Instant;

class Clock {
 public:
  /// The real clock: now() is the system clock and timer_usec() the identity.
  Clock() = default;
  /// A simulated clock that shows `start` now and runs on at the real pace from there.
  /// `real_now` reads the real clock (a test's fake; default: the system clock).
  static Clock simulated(Instant start, std::function<Instant()> real_now = {});

  bool is_simulated() const { return simulated_; }
  /// The time the daemon judges by.
  Instant now() const { return real_now() + offset_; }
  /// The simulated time minus the real: 0 for the real clock.
  std::chrono::microseconds offset() const { return offset_; }
  /// A time of the real world (a wrapper's timestamp) as this clock sees it.
  Instant from_real(Instant t) const { return t + offset_; }
  /// The CLOCK_REALTIME microseconds at which an sd-event timer must fire for `t` on this clock
  /// (1 at the least: 0 would be "now" for some callers).
  uint64_t timer_usec(Instant t) const;
  /// The inverse of timer_usec: the instant on this clock an armed timer stands for.
  Instant from_timer_usec(uint64_t usec) const;
  /// Arms the CLOCK_REALTIME sd-event timer `src` to fire once at `t` on this clock, or turns it
  /// off when there is no `t` (a null `src`: nothing to arm).
  void arm_timer(sd_event_source* src, std::optional<Instant> t) const;
  /// A simulated clock moves forward to `t` (never back: a `t` in its past changes nothing);
  /// false for the real clock, which nobody moves.
  bool jump_to(Instant t);

 private:
  Instant real_now() const;
  bool simulated_ = false;
  std::chrono::microseconds offset_{0};
  std::function<Instant()> real_now_;  // empty: the system clock
};

/// Moves a simulated `clock` forward to `target` as time passing would: while the earliest instant
/// `next_due` names is at or before `target`, the clock goes to it and `fire` runs what is due
/// there, in time order; then it goes to `target`. A `fire` that leaves the same instant due stops
/// the walk after `max_steps`. Returns the steps taken.
size_t advance_clock(Clock& clock, Instant target, const std::function<std::optional<Instant>()>& next_due,
                     const std::function<void()>& fire, size_t max_steps = 1000000);

/// One of the daemon's sd-event timers, CLOCK_REALTIME (armed with Clock::timer_usec) or
/// CLOCK_MONOTONIC (a delay from the loop's now): what advance_timers dispatches.
struct ClockTimer {
  sd_event_source* src = nullptr;
  sd_event_time_handler_t handler = nullptr;
  void* userdata = nullptr;
};

/// advance_clock over sd-event timers: each enabled timer is due at the instant its time stands
/// for (a monotonic one: its delay from the loop's now, counted from the clock's now); the
/// earliest is disabled (a oneshot timer's dispatch) and its handler called, as the loop would
/// when its time came; then `settle` (if any) lets finish what the handler started that real time
/// would have finished before the next instant. The timers beyond `target` keep their instants.
size_t advance_timers(Clock& clock, Instant target, std::span<const ClockTimer> timers,
                      const std::function<void()>& settle = {});

}  // namespace cronitor::agent
