// The cron daemon's pid, watched: a pidfd on the cron the last look found, so that its exit is
// seen at once with no polling while it runs, and one timer that looks again while cron is down
// (for its return), when no pidfd could be had, and a little after an exit (a restart, stop then
// start, is no outage). Whether cron is up, and what that means for the host's incident, stays
// with the core (agent/sources/cron_check.h looks, agent/eval/ judges): this part only says when
// to look and since when cron was seen gone. It owns its pidfd and timer.
#pragma once

#include <sys/types.h>
#include <systemd/sd-event.h>

#include <cstdint>
#include <functional>
#include <optional>

#include "agent/sources/run_source.h"
#include "common/event_source.h"
#include "schedule/zone.h"

namespace cronitor::agent {

using schedule::Instant;

class CronDaemonWatch final : public RunSource {
 public:
  struct Options {
    uint64_t up_usec = 60ull * 1000000;            // cron up but no pidfd of it
    uint64_t down_usec = 5ull * 1000000;           // while it is down: its return
    uint64_t gone_confirm_usec = 10ull * 1000000;  // a restart of cron is no outage
  };

  /// `look`: the time to look at cron again (the core observes it and calls observed()).
  /// `clock`: the wall time, for when an exit was seen.
  CronDaemonWatch(std::function<void()> look, std::function<Instant()> clock, Options options);
  CronDaemonWatch(std::function<void()> look, std::function<Instant()> clock);
  CronDaemonWatch(const CronDaemonWatch&) = delete;
  CronDaemonWatch& operator=(const CronDaemonWatch&) = delete;

  /// Makes its timer on `ev` (off until a look arms it); before it, nothing is watched.
  void attach(sd_event* ev);
  void attach(const SourceEnv& env) override { attach(env.ev); }  // as a run source (run_source.h)
  /// No cron jobs are monitored: no pidfd, no timer, no pid. As a run source: the daemon ends.
  void stop() override;
  /// The core looked: cron runs as `pid` (`running`), or not (pid 0). Watches that pid's exit
  /// and arms the timer only when it must. Returns when a cron that exited was seen gone, once
  /// (its outage counts from then), and logs its return.
  std::optional<Instant> observed(pid_t pid, bool running);

  pid_t pid() const { return pid_; }  // the cron followed; 0: none
  bool pidfd_watched() const { return exit_src_ != nullptr; }
  /// When the timer looks next (CLOCK_MONOTONIC, µs); nullopt when it is off.
  std::optional<uint64_t> next_look_usec() const;
  /// Tests on a simulated clock (agent/daemon/daemon_clock.cpp): the timer as advance_timers()
  /// fires it, so that its delays (the 10-s confirmation) pass in simulated time.
  sd_event_source* timer_source() const { return timer_src_.get(); }
  static int fire_timer(sd_event_source* s, uint64_t usec, void* ud) { return on_timer_cb(s, usec, ud); }

 private:
  void arm(uint64_t after_usec);
  static int on_timer_cb(sd_event_source*, uint64_t, void*);
  static int on_exit_cb(sd_event_source*, int, uint32_t, void*);

  std::function<void()> look_;
  std::function<Instant()> clock_;
  Options options_;
  sd_event* ev_ = nullptr;
  EventSource timer_src_;
  EventSource exit_src_;  // the pidfd of the cron daemon (owned by the source)
  pid_t pid_ = 0;
  pid_t gone_ = 0;     // the pid of a cron that exited, until we looked again
  Instant gone_at_{};  // when its exit was seen
};

}  // namespace cronitor::agent
