#include "agent/daemon/heap_trim.h"

#include <malloc.h>

namespace cronitor::agent {

void IdleHeapTrim::trim() {
  ::malloc_trim(0);
  ++trims_;
}

void IdleHeapTrim::attach(sd_event* ev) {
  if (post_src_ || timer_src_) return;
  if (ev) (void)sd_event_add_post(ev, out_ptr(post_src_), on_post, this);
  if (post_src_)
    (void)sd_event_add_time_relative(ev, out_ptr(timer_src_), CLOCK_MONOTONIC, delay_usec_, delay_usec_ / 10, on_time,
                                     this);
  if (!timer_src_) {
    post_src_.reset();
    trim();
    return;
  }
  sd_event_source_set_priority(timer_src_.get(), SD_EVENT_PRIORITY_IDLE);
}

void IdleHeapTrim::arm(sd_event* ev) {
  int armed = SD_EVENT_OFF;
  if (sd_event_source_get_enabled(timer_src_.get(), &armed) >= 0 && armed != SD_EVENT_OFF) return;
  uint64_t now = 0;
  if (sd_event_now(ev, CLOCK_MONOTONIC, &now) < 0) return;
  sd_event_source_set_time(timer_src_.get(), now + delay_usec_);
  sd_event_source_set_enabled(timer_src_.get(), SD_EVENT_ONESHOT);
}

int IdleHeapTrim::on_post(sd_event_source* s, void* ud) {
  auto* self = static_cast<IdleHeapTrim*>(ud);
  if (self->just_trimmed_) {  // the trim itself is not work: the loop sleeps until something comes
    self->just_trimmed_ = false;
    return 0;
  }
  self->arm(sd_event_source_get_event(s));
  return 0;
}

int IdleHeapTrim::on_time(sd_event_source*, uint64_t, void* ud) {
  auto* self = static_cast<IdleHeapTrim*>(ud);
  self->trim();
  self->just_trimmed_ = true;
  return 0;
}

}  // namespace cronitor::agent
