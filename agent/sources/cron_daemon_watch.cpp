#include "agent/sources/cron_daemon_watch.h"

#include <spdlog/spdlog.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/unique_fd.h"

namespace cronitor::agent {

CronDaemonWatch::CronDaemonWatch(std::function<void()> look, std::function<Instant()> clock, Options options)
    : look_(std::move(look)), clock_(std::move(clock)), options_(options) {}

CronDaemonWatch::CronDaemonWatch(std::function<void()> look, std::function<Instant()> clock)
    : CronDaemonWatch(std::move(look), std::move(clock), Options{}) {}

void CronDaemonWatch::attach(sd_event* ev) {
  ev_ = ev;
  sd_event_source* s = nullptr;
  if (sd_event_add_time(ev_, &s, CLOCK_MONOTONIC, UINT64_MAX, 100000, on_timer_cb, this) < 0) return;
  sd_event_source_set_enabled(s, SD_EVENT_OFF);
  timer_src_.reset(s);
}

void CronDaemonWatch::stop() {
  if (timer_src_) sd_event_source_set_enabled(timer_src_.get(), SD_EVENT_OFF);
  exit_src_.reset();
  pid_ = 0;
}

std::optional<Instant> CronDaemonWatch::observed(pid_t pid, bool running) {
  std::optional<Instant> gone_since;
  if (gone_ != 0) gone_since = gone_at_;
  if (gone_ != 0 && running) spdlog::info("the cron daemon runs again, as pid {}", pid);
  gone_ = 0;
  // Its exit wakes us at once (a pidfd); a timer looks again only while cron is down (for its
  // return) or when no pidfd could be had.
  if (pid != pid_ || !exit_src_) {
    exit_src_.reset();
    pid_ = pid;
    UniqueFd fd(pid > 0 ? static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)) : -1);
    sd_event_source* s = nullptr;
    if (fd && ev_ && sd_event_add_io(ev_, &s, fd.get(), EPOLLIN, on_exit_cb, this) >= 0) {
      sd_event_source_set_io_fd_own(s, 1);
      fd.release();
      exit_src_.reset(s);
    }
  }
  // Idle means no wakeups: while the pidfd watches cron, no timer runs.
  if (timer_src_ && !(running && exit_src_))
    arm(running ? options_.up_usec : options_.down_usec);
  else if (timer_src_)
    sd_event_source_set_enabled(timer_src_.get(), SD_EVENT_OFF);
  return gone_since;
}

std::optional<uint64_t> CronDaemonWatch::next_look_usec() const {
  int on = SD_EVENT_OFF;
  uint64_t at = 0;
  if (!timer_src_ || sd_event_source_get_enabled(timer_src_.get(), &on) < 0 || on == SD_EVENT_OFF ||
      sd_event_source_get_time(timer_src_.get(), &at) < 0)
    return std::nullopt;
  return at;
}

void CronDaemonWatch::arm(uint64_t after_usec) { arm_once_in(ev_, timer_src_.get(), after_usec); }

int CronDaemonWatch::on_timer_cb(sd_event_source*, uint64_t, void* ud) {
  static_cast<CronDaemonWatch*>(ud)->look_();
  return 0;
}

// cron exited: seen at once, judged a little later, so that a restart (stop, then start) does
// not open an incident. A cron job due meanwhile looks at once (the core's deadlines).
int CronDaemonWatch::on_exit_cb(sd_event_source*, int, uint32_t, void* ud) {
  auto* w = static_cast<CronDaemonWatch*>(ud);
  w->exit_src_.reset();  // closes the pidfd
  spdlog::info("the cron daemon (pid {}) exited; looking again in {} s", w->pid_,
               w->options_.gone_confirm_usec / 1000000);
  w->gone_ = w->pid_;
  w->gone_at_ = w->clock_();
  w->pid_ = 0;
  if (w->timer_src_) w->arm(w->options_.gone_confirm_usec);
  return 0;
}

}  // namespace cronitor::agent
