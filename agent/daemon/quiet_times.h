// QuietTimes: the host's quiet times and its sign of life. A snooze (until when is the host
// record's; this part owns the timer at its end) and a system shutdown (logind's
// PrepareForShutdown, or the unit's SIGTERM while systemd says "stopping") make the host quiet:
// alerts are recorded, not sent (quiet()). The 60-s heartbeat saves the host row while the agent
// idles, so that after a power loss last_seen tells when the host went down (agent/eval/downtime.h).
// What saving is and what the snooze's end does are the daemon's hooks; the timers follow the
// daemon's clock (clock.h), so a simulated clock moves them (snooze_timer(), heartbeat_timer()).
#pragma once

#include <systemd/sd-event.h>

#include <cstdint>
#include <functional>
#include <memory>

#include "agent/daemon/clock.h"
#include "agent/daemon/host_record.h"
#include "common/event_source.h"

namespace cronitor::agent {

class ShutdownWatch;

class QuietTimes {
 public:
  struct Hooks {
    /// Saves what changed in a transaction of its own (the host row: its write stamps last_seen).
    std::function<void()> save;
    /// The snooze's end time came (the snooze is still set: the daemon ends it and tells).
    std::function<void()> snooze_due;
  };
  /// last_seen is saved this often while the agent idles: the precision of a host-down window
  /// when the host lost power (a clean shutdown or stop records its own time).
  static constexpr uint64_t kHeartbeatUsec = 60ull * 1000000;

  QuietTimes(const Clock& clock, HostRecord& host, Hooks hooks);
  ~QuietTimes();
  QuietTimes(const QuietTimes&) = delete;
  QuietTimes& operator=(const QuietTimes&) = delete;

  /// On `ev`: the heartbeat, the snooze's end timer (armed for the host record's snooze) and,
  /// with `watch_logind`, logind's shutdown signal on the system bus.
  void start(sd_event* ev, bool watch_logind = true);
  /// Every source off and released.
  void stop();

  /// Snoozed at `t` or shutting down: alerts are recorded, not sent.
  bool quiet(Instant t) const;
  bool shutting_down() const { return shutting_down_; }
  /// The unit's SIGTERM: during a system shutdown (systemd says "stopping"), the shutdown is
  /// recorded; either way the host row is saved at the final save (last_seen).
  void on_stop_signal();
  /// logind: a shutdown begins (true) or was cancelled (false); recorded and saved at once.
  void on_shutdown_signal(bool active);
  /// The snooze of the host record changed: its end timer follows (off without an end).
  void arm_snooze();

  /// The timers, for a simulated clock's advance (clock.h's advance_timers).
  ClockTimer snooze_timer() { return {snooze_.get(), on_snooze_cb, this}; }
  ClockTimer heartbeat_timer() { return {heartbeat_.get(), on_heartbeat_cb, this}; }

 private:
  static int on_heartbeat_cb(sd_event_source*, uint64_t, void*);
  static int on_snooze_cb(sd_event_source*, uint64_t, void*);

  const Clock& clock_;
  HostRecord& host_;
  Hooks hooks_;
  sd_event* ev_ = nullptr;
  bool shutting_down_ = false;               // logind or the stop signal said so: alerts are recorded, not sent
  EventSource heartbeat_;                    // CLOCK_MONOTONIC, every kHeartbeatUsec
  EventSource snooze_;                       // CLOCK_REALTIME, at the snooze's end (off without one)
  std::unique_ptr<ShutdownWatch> shutdown_;  // logind's signal; null before start()
};

}  // namespace cronitor::agent
