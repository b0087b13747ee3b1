// Gives the heap's freed memory back to the kernel soon after the loop did some work (issue 17). The daemon keeps
// glibc's trim threshold at 2 MiB so that bursts of events do not brk up and down (agent/daemon/daemon.cpp), so the
// memory that work freed (the start's backfill and first commits, a discovery pass, an alert) would otherwise stay
// resident: calling malloc_trim(0) from gdb on the idle agent (108 monitors, bench/agent/memory_pss.sh) gave 418 KiB of
// its PSS back.
#pragma once

#include <systemd/sd-event.h>

#include <cstdint>

#include "common/event_source.h"

namespace cronitor::agent {

class IdleHeapTrim {
 public:
  // 1 s after work, at most once a second: a trim with nothing to give back costs tens of
  // microseconds. Not "after 1 s of quiet": the host's process events (agent/sources/proc_watch.h)
  // come many times a second on a busy host, and the heap was then never trimmed.
  static constexpr uint64_t kDelayUsec = 1'000'000;

  explicit IdleHeapTrim(uint64_t delay_usec = kDelayUsec) : delay_usec_(delay_usec) {}
  IdleHeapTrim(const IdleHeapTrim&) = delete;
  IdleHeapTrim& operator=(const IdleHeapTrim&) = delete;

  /// From now on: malloc_trim(0) the delay after `ev` dispatched anything (and after the attach),
  /// at most once per delay while events keep coming, none while the loop sleeps. Without a loop
  /// it trims once at once.
  void attach(sd_event* ev);
  /// Trims done so far (tests).
  unsigned trims() const { return trims_; }

 private:
  static int on_post(sd_event_source* s, void* ud);
  static int on_time(sd_event_source* s, uint64_t usec, void* ud);
  void arm(sd_event* ev);
  void trim();

  uint64_t delay_usec_;
  EventSource post_src_;       // after every dispatch: arms the trim unless armed
  EventSource timer_src_;      // the trim, delay_usec_ after the first dispatch since the last
  bool just_trimmed_ = false;  // the dispatch that the post source sees was the trim's own
  unsigned trims_ = 0;
};

}  // namespace cronitor::agent
