#include "agent/daemon/clock.h"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "common/event_source.h"

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

void Clock::arm_timer(sd_event_source* src, std::optional<Instant> t) const {
  if (!src) return;
  if (!t) {
    sd_event_source_set_enabled(src, SD_EVENT_OFF);
    return;
  }
  sd_event_source_set_time(src, timer_usec(*t));
  sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
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

namespace {

/// The instant on `clock` an enabled timer stands for (nullopt: off, or no time). A CLOCK_REALTIME
/// timer was armed with clock.timer_usec(); a CLOCK_MONOTONIC one (a delay: the cron daemon's
/// confirmation, the heartbeats) is as far ahead of the clock's now as its time is ahead of the
/// loop's monotonic `mono_now`, so that a simulated clock moves it too.
std::optional<Instant> due_at(const Clock& clock, sd_event_source* s, uint64_t mono_now, uint64_t* usec) {
  int enabled = SD_EVENT_OFF;
  clockid_t id = CLOCK_REALTIME;
  if (!s || sd_event_source_get_enabled(s, &enabled) < 0 || enabled == SD_EVENT_OFF ||
      sd_event_source_get_time(s, usec) < 0 || sd_event_source_get_time_clock(s, &id) < 0)
    return std::nullopt;
  if (id != CLOCK_MONOTONIC) return clock.from_timer_usec(*usec);
  constexpr uint64_t kFar = 100ull * 366 * 86400 * 1000000;  // beyond any delay: never due (no overflow)
  const uint64_t ahead = *usec > mono_now ? *usec - mono_now : 0;
  if (ahead > kFar) return std::nullopt;
  return clock.now() + std::chrono::microseconds(static_cast<int64_t>(ahead));
}

/// Sets timer `s` (of the kind due_at reads) to fire at `at` on `clock`.
void set_due(const Clock& clock, sd_event_source* s, Instant at, uint64_t mono_now) {
  clockid_t id = CLOCK_REALTIME;
  if (sd_event_source_get_time_clock(s, &id) < 0) return;
  if (id != CLOCK_MONOTONIC) {
    sd_event_source_set_time(s, clock.timer_usec(at));
    return;
  }
  const auto ahead = std::max<int64_t>(0, (at - clock.now()).count());
  sd_event_source_set_time(s, std::max<uint64_t>(1, mono_now + static_cast<uint64_t>(ahead)));
}

/// The loop's monotonic now, this iteration's as its handlers see it (0 with no timers).
uint64_t loop_mono_now(std::span<const ClockTimer> timers) {
  for (const ClockTimer& ct : timers)
    if (ct.src) return loop_mono_usec(sd_event_source_get_event(ct.src));
  return 0;
}

}  // namespace

size_t advance_timers(Clock& clock, Instant target, std::span<const ClockTimer> timers,
                      const std::function<void()>& settle) {
  // One reading for the whole walk: the handlers re-arm their delays from the loop's cached now,
  // and the clock's jumps carry the monotonic timers along (below).
  const uint64_t mono_now = loop_mono_now(timers);
  const ClockTimer* earliest = nullptr;
  uint64_t earliest_usec = 0;
  auto next_due = [&]() -> std::optional<Instant> {
    earliest = nullptr;
    std::optional<Instant> first;
    for (const ClockTimer& t : timers) {
      uint64_t usec = 0;
      const auto at = due_at(clock, t.src, mono_now, &usec);
      if (at && (!first || *at < *first)) {
        earliest = &t;
        earliest_usec = usec;
        first = at;
      }
    }
    return first;
  };
  // A timer armed for instant T fires at the real time T - offset (a monotonic one: at its delay
  // from the loop's now): when the clock jumps, it is set again, else it would come late by the jump.
  auto jump = [&](Instant t) {
    std::vector<std::pair<sd_event_source*, Instant>> armed;
    for (const ClockTimer& ct : timers) {
      uint64_t usec = 0;
      if (const auto at = due_at(clock, ct.src, mono_now, &usec)) armed.emplace_back(ct.src, *at);
    }
    clock.jump_to(t);
    for (const auto& [src, at] : armed) set_due(clock, src, at, mono_now);
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
