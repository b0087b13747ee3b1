#include "agent/daemon/deadline_timer.h"

#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

namespace cronitor::agent {
namespace {

/// Sets the jump watch's timerfd far ahead, to be cancelled by a change of the wall clock.
void arm_clock_jump_fd(int fd) {
  itimerspec far{};
  far.it_value.tv_sec = INT32_MAX;
  ::timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &far, nullptr);
}

}  // namespace

void DeadlineTimer::attach(sd_event* ev) {
  sd_event_source* s = nullptr;
  sd_event_add_time(ev, &s, CLOCK_REALTIME, UINT64_MAX, 1000, on_deadline_cb, this);
  deadline_src_.reset(s);
}

void DeadlineTimer::watch_clock_jumps(sd_event* ev) {
  clock_fd_.reset(::timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC));
  if (!clock_fd_) return;
  arm_clock_jump_fd(clock_fd_.get());
  sd_event_source* s = nullptr;
  sd_event_add_io(ev, &s, clock_fd_.get(), EPOLLIN, on_clock_cb, this);
  clock_src_.reset(s);
}

void DeadlineTimer::arm(std::optional<Instant> next) { clock_.arm_timer(deadline_src_.get(), next); }

int DeadlineTimer::on_deadline_cb(sd_event_source*, uint64_t, void* ud) {
  static_cast<DeadlineTimer*>(ud)->hooks_.due();
  return 0;
}

int DeadlineTimer::on_clock_cb(sd_event_source*, int fd, uint32_t, void* ud) {
  uint64_t v;
  if (::read(fd, &v, sizeof v) < 0 && errno == ECANCELED) {
    arm_clock_jump_fd(fd);
    static_cast<DeadlineTimer*>(ud)->hooks_.clock_jumped();
  }
  return 0;
}

}  // namespace cronitor::agent
