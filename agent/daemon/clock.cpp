#include "agent/daemon/clock.h"

#include <cstdint>
#include <utility>
#include <vector>

namespace cronitor::agent {

Clock Clock::simulated(Instant start, std::function<Instant()> real_now) {
  Clock c;
  c.simulated_ = true;
  c.real_now_ = std::move(real_now);
  c.offset_ = start - c.real_now();
  return c;
}

Instant Clock::real_now() const {
  if (real_now_) return real_now_();
  return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

uint64_t Clock::timer_usec(Instant t) const {
  int64_t us = 0;  // saturated: Instant::max() (and near it) minus a negative offset stays in range
  if (__builtin_sub_overflow(t.time_since_epoch().count(), offset_.count(), &us))
    us = offset_.count() > 0 ? 0 : INT64_MAX;
  return us <= 0 ? 1 : static_cast<uint64_t>(us);
}

Instant Clock::from_timer_usec(uint64_t usec) const {
  return Instant{std::chrono::microseconds(static_cast<int64_t>(usec))} + offset_;
}

bool Clock::jump_to(Instant t) {
  if (!simulated_) return false;
  const Instant n = now();
  if (t > n) offset_ += t - n;
  return true;
}

namespace {

/// advance_clock, with `jump` moving the clock (advance_timers sets its timers again at each jump).
size_t walk(Clock& clock, Instant target, const std::function<std::optional<Instant>()>& next_due,
            const std::function<void()>& fire, size_t max_steps, const std::function<void(Instant)>& jump) {
  auto go = [&](Instant t) { jump ? jump(t) : (void)clock.jump_to(t); };
  size_t steps = 0;
  for (auto due = next_due(); due && *due <= target && steps < max_steps; due = next_due(), ++steps) {
    go(*due);
    fire();
  }
  go(target);
  return steps;
}

}  // namespace

size_t advance_clock(Clock& clock, Instant target, const std::function<std::optional<Instant>()>& next_due,
                     const std::function<void()>& fire, size_t max_steps) {
  return walk(clock, target, next_due, fire, max_steps, {});
}

size_t advance_timers(Clock& clock, Instant target, std::span<const ClockTimer> timers,
                      const std::function<void()>& settle) {
  const ClockTimer* earliest = nullptr;
  uint64_t earliest_usec = 0;
  auto next_due = [&]() -> std::optional<Instant> {
    earliest = nullptr;
    for (const ClockTimer& t : timers) {
      int enabled = SD_EVENT_OFF;
      uint64_t usec = 0;
      if (!t.src || sd_event_source_get_enabled(t.src, &enabled) < 0 || enabled == SD_EVENT_OFF ||
          sd_event_source_get_time(t.src, &usec) < 0)
        continue;
      if (!earliest || usec < earliest_usec) {
        earliest = &t;
        earliest_usec = usec;
      }
    }
    if (!earliest) return std::nullopt;
    return clock.from_timer_usec(earliest_usec);
  };
  // A timer armed for instant T fires at the real time T - offset: when the offset grows, it is
  // set again, else it would come late by the jump.
  auto jump = [&](Instant t) {
    std::vector<std::pair<sd_event_source*, Instant>> armed;
    for (const ClockTimer& ct : timers) {
      int enabled = SD_EVENT_OFF;
      uint64_t usec = 0;
      if (ct.src && sd_event_source_get_enabled(ct.src, &enabled) >= 0 && enabled != SD_EVENT_OFF &&
          sd_event_source_get_time(ct.src, &usec) >= 0)
        armed.emplace_back(ct.src, clock.from_timer_usec(usec));
    }
    clock.jump_to(t);
    for (const auto& [src, at] : armed) sd_event_source_set_time(src, clock.timer_usec(at));
  };
  auto fire = [&] {
    const ClockTimer t = *earliest;
    sd_event_source_set_enabled(t.src, SD_EVENT_OFF);
    t.handler(t.src, earliest_usec, t.userdata);
    if (settle) settle();
  };
  return walk(clock, target, next_due, fire, 1000000, jump);
}

}  // namespace cronitor::agent
