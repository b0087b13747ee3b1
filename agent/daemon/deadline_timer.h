// DeadlineTimer: the daemon's one timer at the nearest deadline, on the daemon's clock (clock.h:
// a simulated clock moves it, timer()), and the watch that tells when the wall clock jumps (a
// timerfd that a clock change cancels): the deadlines are then recomputed. What is due and what a
// jump changes are the daemon's hooks; this part owns the two sources and the timerfd.
#pragma once

#include <systemd/sd-event.h>

#include <cstdint>
#include <functional>
#include <optional>

#include "agent/daemon/clock.h"
#include "common/event_source.h"
#include "common/unique_fd.h"

namespace cronitor::agent {

class DeadlineTimer {
 public:
  struct Hooks {
    /// The armed instant came (the daemon evaluates what is due and arms the next).
    std::function<void()> due;
    /// The wall clock was set: every deadline may be off.
    std::function<void()> clock_jumped;
  };

  DeadlineTimer(const Clock& clock, Hooks hooks) : clock_(clock), hooks_(std::move(hooks)) {}
  DeadlineTimer(const DeadlineTimer&) = delete;
  DeadlineTimer& operator=(const DeadlineTimer&) = delete;

  /// The timer on `ev` (off until arm()).
  void attach(sd_event* ev);
  /// The wall-clock jump watch on `ev` (none when the kernel has no timerfd for it).
  void watch_clock_jumps(sd_event* ev);
  /// Fires once at `next` on the clock; off without one. Nothing before attach().
  void arm(std::optional<Instant> next);
  /// The timer, for a simulated clock's advance (clock.h's advance_timers).
  ClockTimer timer() { return {deadline_src_.get(), on_deadline_cb, this}; }

 private:
  static int on_deadline_cb(sd_event_source*, uint64_t, void*);
  static int on_clock_cb(sd_event_source*, int, uint32_t, void*);

  const Clock& clock_;
  Hooks hooks_;
  EventSource deadline_src_;  // CLOCK_REALTIME, oneshot at the nearest deadline
  UniqueFd clock_fd_;         // a timerfd that a wall-clock jump cancels
  EventSource clock_src_;     // clock_fd_ readable; declared after it: released first
};

}  // namespace cronitor::agent
