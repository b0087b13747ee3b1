// An owned sd-event source: disabled and released once, when its owner ends or resets it, so that
// a part of the daemon that owns its sources needs no hand-kept teardown list. Add a source with
// the raw out-parameter sd-event wants, then hand it over, or through out_ptr (common/owned.h):
//   sd_event_source* s = nullptr;
//   if (sd_event_add_time(ev, &s, ...) >= 0) src_.reset(s);
//   int r = sd_event_add_time(ev, out_ptr(src_), ...);  // the same: src_ set only when added
// and the loop's monotonic time and one-shot timers in one place (the parts had a copy each).
#pragma once

#include <systemd/sd-event.h>
#include <time.h>

#include <cstdint>
#include <memory>

#include "common/owned.h"

namespace cronitor {

struct EventSourceRelease {
  void operator()(sd_event_source* s) const { sd_event_source_disable_unref(s); }
};

using EventSource = std::unique_ptr<sd_event_source, EventSourceRelease>;

/// CLOCK_MONOTONIC now in microseconds, the clock of sd-event's timers (not the loop's cached now).
inline uint64_t monotonic_usec() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

/// The loop's CLOCK_MONOTONIC time in microseconds (this iteration's, as sd-event caches it).
inline uint64_t loop_mono_usec(sd_event* ev) {
  uint64_t t = 0;
  sd_event_now(ev, CLOCK_MONOTONIC, &t);
  return t;
}

/// Arms the CLOCK_MONOTONIC timer `s` of loop `ev` to fire once, `usec` from the loop's now.
inline void arm_once_in(sd_event* ev, sd_event_source* s, uint64_t usec) {
  sd_event_source_set_time(s, loop_mono_usec(ev) + usec);
  sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

}  // namespace cronitor
