// The systemd manager's timers, followed live: lists the timers and their services, follows
// their property changes, and hands each run of a timer's service to the daemon as wrapper-style
// run events (agent/sources/timer_run_tracker.h). Talks to the manager only through SystemdBus
// (agent/sources/systemd_bus.h), so that unit tests drive it with a fake bus. Survives manager restarts
// (daemon-reexec, daemon-reload) and bus disconnects: it reconnects with back-off and reads every
// service again, so a run that ended meanwhile is reported once (the store drops repeats).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/sources/systemd_bus.h"
#include "agent/sources/systemd_host.h"
#include "agent/sources/timer_run_tracker.h"
#include "common/event.h"

namespace cronitor::agent {

/// One timer unit the manager has loaded.
struct LiveTimer {
  std::string unit;     ///< "backup.timer"
  std::string key;      ///< its monitor key (discovery's derivation from the unit name)
  std::string service;  ///< the unit it starts (its Unit= property)
  std::string active_state;
  std::string load_state;                   ///< LoadState: "loaded", "masked" (after a daemon-reload), ...
  uint64_t next_elapse_realtime_usec = 0;   ///< NextElapseUSecRealtime; 0: none
  uint64_t next_elapse_monotonic_usec = 0;  ///< NextElapseUSecMonotonic; 0: none
  /// The next elapse as wall time (CLOCK_REALTIME µs): the sooner of the two above, the
  /// monotonic one moved by the CLOCK_REALTIME - CLOCK_MONOTONIC offset when it was read. 0: none.
  uint64_t next_elapse_usec = 0;
  uint64_t last_trigger_usec = 0;  ///< LastTriggerUSec
  uint64_t active_enter_usec = 0;  ///< when the timer unit last became active
  uint64_t accuracy_usec = 0;      ///< AccuracyUSec
  uint64_t randomized_delay_usec = 0;
  bool persistent = false;
  std::vector<std::string> calendar;   ///< TimersCalendar: its OnCalendar= specs, as the manager reads them
  std::vector<std::string> monotonic;  ///< TimersMonotonic: "OnUnitActiveSec=5s", ...
  /// The manager has the unit loaded. A timer that is stopped and that no other unit wants is
  /// unloaded by the manager a moment later; it stays a known timer (stopped) while its unit
  /// file remains, and is not read again until the manager loads it (a read would load it).
  bool loaded = true;
};

/// A catch-up run: the manager triggered it the moment the timer became active, for a slot that
/// passed while it was off. A Persistent= timer does so at boot or when started again; on
/// systemd 252 (Debian 12) any OnCalendar= timer started again does, when a slot passed since it
/// first became active (its next elapse counts from then: systemd #31231, fixed in 3fc44a0f).
bool is_catch_up(const LiveTimer& timer, uint64_t run_start_usec);

/// What a timer's change from `before` to `now` tells (SystemdWatch::Handler::on_timer_state):
/// "" started, "stopped" or "masked" down, or nothing. A stopped timer masked is "masked"; one
/// unmasked and read but not started (loaded now, still inactive or failed) is "stopped".
std::optional<std::string> timer_change(const LiveTimer& before, const LiveTimer& now);

class SystemdWatch final : private SystemdBus::Listener {
 public:
  struct Handler {
    /// Run events of timers' services, oldest first (a start failed by an Assert*= is a failed
    /// run with no exit code: failed_assert_events).
    std::function<void(std::vector<cronitor::RunEvent>)> on_runs;
    /// A manager answered (true, with every loaded timer) or stopped answering (false, why).
    std::function<void(bool live, const std::string& why, const std::vector<LiveTimer>& timers)> on_manager;
    /// A timer was stopped ("stopped": inactive, or unloaded with its unit file still there),
    /// masked ("masked": stopped, or failed by the daemon-reload that read the mask, and its
    /// unit is masked), removed ("removed": unloaded and its unit file gone) or started again
    /// (""). Each change once.
    std::function<void(const LiveTimer& timer, const std::string& what)> on_timer_state;
    /// The manager moved a timer's next elapse (LiveTimer::next_elapse_usec).
    std::function<void(const LiveTimer& timer)> on_elapse;
    /// A run is a catch-up (is_catch_up); called before on_runs delivers it.
    std::function<void(const LiveTimer& timer, uint64_t run_start_usec)> on_catch_up;
    /// The manager skipped a start of the timer's service at `at_usec` (ConditionTimestamp): a
    /// Condition*= failed (`condition`: "ConditionPathExists=/x", or "" if it could not be read).
    /// No run began. Each skip once per connection (the daemon's store drops repeats).
    std::function<void(const LiveTimer& timer, uint64_t at_usec, const std::string& condition)> on_skip;
  };
  struct Options {
    uint64_t call_timeout_usec = 5'000'000;  ///< every D-Bus call
    size_t max_timers = 5000;                ///< units read from one listing at most
    size_t journal_lines = 10;               ///< output lines quoted from the journal
    uint64_t max_backoff_usec = 60'000'000;  ///< reconnect back-off: 1 s, doubling up to this
  };

  SystemdWatch(std::unique_ptr<SystemdBus> bus, SystemdHost host, std::string hostname, Handler handler,
               Options options);
  ~SystemdWatch() override;
  SystemdWatch(const SystemdWatch&) = delete;
  SystemdWatch& operator=(const SystemdWatch&) = delete;

  /// Connects now (and retries later if nobody answers).
  void start();
  bool live() const { return live_; }
  /// Why no manager answers (empty while live).
  const std::string& why_not() const { return why_not_; }
  /// How long the last full listing took, µs (for the log and the bench).
  uint64_t last_listing_usec() const { return last_listing_usec_; }
  size_t timer_count() const { return timers_.size(); }
  /// Every timer the manager has loaded, as last read.
  std::vector<LiveTimer> timer_list() const;
  /// The back-off before the next reconnect attempt (µs; 0 while none is due).
  uint64_t backoff_usec() const { return backoff_usec_; }

 private:
  struct Service {
    std::string unit;
    std::string timer_path;  // the timer that starts it (the first one listed)
    ServiceSnapshot snap;
    std::string control_group;                     // of the run going (its memory cgroup holds the OOM counter)
    std::optional<uint64_t> cgroup_kills_last;     // that cgroup's oom_kill, last read in the run
    std::optional<uint64_t> system_kills_start;    // /proc/vmstat oom_kill before the run
    std::function<OomNotifications()> oom_events;  // its cgroup's OOM notifications (v1)
    bool oom_watch_tried = false;
    uint64_t skip_told_usec = 0;   // the ConditionTimestamp of the last skip told
    uint64_t conditions_usec = 0;  // the ConditionTimestamp `failed_condition` was read for
    std::string failed_condition;
    uint64_t assert_told_usec = 0;  // the AssertTimestamp of the last failed start told
    uint64_t asserts_usec = 0;      // the AssertTimestamp `failed_assert` was read for
    std::string failed_assert;
  };
  /// A start the manager skipped that has not been told: its conditions were checked anew, one
  /// failed, and no run is going.
  static bool skip_pending(const Service& svc);
  /// A start the manager failed because an Assert*= did not hold, not told yet: a failed run.
  static bool assert_pending(const Service& svc);

  void wake();  // the one deferred step: connect, read everything again, or read some services
  void connect();
  void lost(const std::string& why);  // the connection is gone: close it, retry with back-off
  void not_answering(const std::string& why);
  void read_failed(const std::string& why);  // not_answering while the bus is up, else lost
  void retry_later();
  [[nodiscard]] bool resync();  // list every timer, read every service; false: failed (handled)
  [[nodiscard]] bool add_timers(const std::vector<UnitRef>& units, std::vector<cronitor::RunEvent>& out);
  [[nodiscard]] bool read_services(const std::vector<Service*>& svcs);
  /// Timers the manager unloaded (held in timers_): those whose unit file remains stay, stopped;
  /// the others go. Asks the manager for unit files, never reads the units. false: failed (handled).
  [[nodiscard]] bool judge_unloaded(const std::vector<std::string>& paths);
  /// Runs the reads, with signals about units being read merged into them (stream order).
  [[nodiscard]] Result<void> read(std::vector<UnitRead>& reads);
  void apply_timer(LiveTimer& t, const UnitProps& p);
  void evaluate(Service& svc, std::vector<cronitor::RunEvent>& out);
  bool oom_killed(Service& svc);
  void deliver(std::vector<cronitor::RunEvent> events);

  // SystemdBus::Listener
  void properties_changed(const std::string& path, const UnitProps& props) override;
  void unit_new(const std::string& name, const std::string& path) override;
  void unit_removed(const std::string& name, const std::string& path) override;
  void job_removed(const std::string& unit) override;
  void reloading(bool active) override;
  void manager_owner(bool present) override;
  void disconnected() override;

  std::unique_ptr<SystemdBus> bus_;
  SystemdHost host_;
  std::string hostname_;
  Handler handler_;
  Options options_;
  uint64_t backoff_usec_ = 0;
  bool live_ = false;
  bool listed_ = false;  // timers were listed once: later listings are resyncs
  bool reloading_ = false;
  bool resync_due_ = false;
  std::string why_not_ = "not connected yet";
  uint64_t last_listing_usec_ = 0;
  std::map<std::string, LiveTimer> timers_;               // object path -> timer
  std::unordered_map<std::string, Service> services_;     // object path -> service
  std::unordered_map<std::string, std::string> by_unit_;  // service unit name -> object path
  std::unordered_map<std::string, UnitProps*> reading_;   // object path -> its read in flight
  std::set<std::string> reread_;                          // services to read again once the loop is free
  std::map<std::string, std::string> new_timers_;         // path -> name: timers to add once the loop is free
  std::set<std::string> unloaded_;                        // timers unloaded, to judge once the loop is free
  // Timers read as "not-found" (their unit file gone): path -> name. Reading one loaded it, and
  // its UnitNew is the echo of that read, not a new timer (see unit_new).
  std::map<std::string, std::string> not_found_;
  TimerRunTracker tracker_;
};

/// Applies the properties set in `p` to a service's snapshot; true if ActiveState or
/// InvocationID was among them (systemd sends those last: the snapshot is then whole).
bool apply_service_props(ServiceSnapshot& s, const UnitProps& p);
/// Sets in `into` every property set in `from`.
void merge_props(UnitProps& into, const UnitProps& from);

}  // namespace cronitor::agent
