// The systemd manager over D-Bus (sd-bus on the agent's sd-event loop): lists the timers and
// their services, follows their property changes, and hands each run of a timer's service to
// the daemon as wrapper-style run events (agent/timer_run_tracker.h). Survives manager restarts
// (daemon-reexec, daemon-reload) and bus disconnects: it reconnects with back-off and reads every
// service again, so a run that ended meanwhile is reported once (the store drops repeats).
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/daemon/timer_run_tracker.h"
#include "common/event.h"

namespace cronitor::agent {

struct BusCall;

/// One timer unit the manager has loaded.
struct LiveTimer {
  std::string unit;     ///< "backup.timer"
  std::string key;      ///< its monitor key (discovery's derivation from the unit name)
  std::string service;  ///< the unit it starts (its Unit= property)
  std::string active_state;
  uint64_t next_elapse_realtime_usec = 0;   ///< NextElapseUSecRealtime; 0: none
  uint64_t next_elapse_monotonic_usec = 0;  ///< NextElapseUSecMonotonic; 0: none
};

class SystemdWatch {
 public:
  struct Handler {
    /// Run events of timers' services, oldest first.
    std::function<void(std::vector<cronitor::RunEvent>)> on_runs;
    /// A manager answered (true, with every loaded timer) or stopped answering (false, why).
    std::function<void(bool live, const std::string& why, const std::vector<LiveTimer>& timers)> on_manager;
    /// A monitored timer was stopped or unloaded ("stopped", "removed") or started again ("").
    std::function<void(const LiveTimer& timer, const std::string& what)> on_timer_state;
  };
  struct Options {
    uint64_t call_timeout_usec = 5'000'000;  ///< every D-Bus call
    size_t max_timers = 5000;                ///< units read from one listing at most
    size_t journal_lines = 10;               ///< output lines quoted from the journal
    uint64_t max_backoff_usec = 60'000'000;  ///< reconnect back-off: 1 s, doubling up to this
  };

  SystemdWatch(sd_event* ev, std::string host, Handler handler, Options options);
  ~SystemdWatch();
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

 private:
  struct Service {
    std::string unit;
    std::string timer_path;  // the timer that starts it (the first one listed)
    ServiceSnapshot snap;
    uint64_t oom_kills_at_start = 0;  // /proc/vmstat oom_kill when its run was first seen going
    bool oom_known = false;
    bool baseline_read = false;
    bool filling = false;  // a batch is reading it: signals merge, the batch evaluates
  };

  void connect();
  void disconnect(const std::string& why);
  void schedule_reconnect();
  [[nodiscard]] bool resync();  // Subscribe, list every timer, read every service; false: lost
  /// Reads timers (unit, object path) and their services; false: the manager stopped answering.
  [[nodiscard]] bool add_timers(const std::vector<std::pair<std::string, std::string>>& units,
                                std::vector<cronitor::RunEvent>& out);
  [[nodiscard]] bool read_services(const std::vector<Service*>& svcs);
  [[nodiscard]] bool run_batch(std::vector<BusCall>& calls);
  void evaluate(Service& svc, std::vector<cronitor::RunEvent>& out);
  void deliver(std::vector<cronitor::RunEvent> events);
  std::string journal_tail(const std::string& invocation_id) const;

  void on_properties_changed(sd_bus_message* m);
  void on_unit_new(sd_bus_message* m);
  void on_unit_removed(sd_bus_message* m);
  void on_job_removed(sd_bus_message* m);
  void on_reloading(sd_bus_message* m);
  void on_owner_changed(sd_bus_message* m);

  static int properties_cb(sd_bus_message*, void*, sd_bus_error*);
  static int unit_new_cb(sd_bus_message*, void*, sd_bus_error*);
  static int unit_removed_cb(sd_bus_message*, void*, sd_bus_error*);
  static int job_removed_cb(sd_bus_message*, void*, sd_bus_error*);
  static int reloading_cb(sd_bus_message*, void*, sd_bus_error*);
  static int owner_cb(sd_bus_message*, void*, sd_bus_error*);
  static int disconnected_cb(sd_bus_message*, void*, sd_bus_error*);
  static int retry_cb(sd_event_source*, uint64_t, void*);
  static int resync_cb(sd_event_source*, void*);

  sd_event* ev_;
  std::string host_;
  Handler handler_;
  Options options_;
  sd_bus* bus_ = nullptr;
  sd_event_source* retry_src_ = nullptr;
  sd_event_source* resync_src_ = nullptr;  // deferred full read (after Reloading false, a new owner)
  uint64_t backoff_usec_ = 0;
  bool live_ = false;
  bool reloading_ = false;
  std::string why_not_ = "not connected yet";
  std::string batch_error_;
  uint64_t last_listing_usec_ = 0;
  std::map<std::string, LiveTimer> timers_;               // object path -> timer
  std::unordered_map<std::string, Service> services_;     // object path -> service
  std::unordered_map<std::string, std::string> by_unit_;  // service unit name -> object path
  TimerRunTracker tracker_;
};

}  // namespace cronitor::agent
