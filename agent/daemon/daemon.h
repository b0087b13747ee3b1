// `cronitor-agent run`: one sd-event loop around the evaluator. Sources: the wrapper socket, the
// spool folder (inotify), discovery's watcher, one timer at the nearest deadline, the outbox
// timer and sender thread, SIGHUP/SIGTERM, the watchdog and a wall-clock-jump watch.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/config/config.h"
#include "agent/config/monitor_set.h"
#include "agent/config/wrap_policy.h"
#include "agent/daemon/alert_outbox.h"
#include "agent/daemon/clock.h"
#include "agent/daemon/deadline_timer.h"
#include "agent/daemon/disk_full_watch.h"
#include "agent/daemon/event_batch.h"
#include "agent/daemon/exports.h"
#include "agent/daemon/heap_trim.h"
#include "agent/daemon/host_record.h"
#include "agent/daemon/key_ownership.h"
#include "agent/daemon/loop_signals.h"
#include "agent/daemon/loop_time.h"
#include "agent/daemon/monitor_table.h"
#include "agent/daemon/quiet_times.h"
#include "agent/daemon/run_retention.h"
#include "agent/daemon/upstreams.h"
#include "agent/daemon/wrapper_intake.h"
#include "agent/eval/evaluator.h"
#include "agent/sources/config_file_watch.h"
#include "agent/sources/job_discovery.h"
#include "agent/sources/proc_watch.h"
#include "agent/sources/run_follower.h"
#include "agent/sources/run_sources.h"
#include "agent/state/state_store.h"
#include "common/event.h"
#include "common/event_source.h"
#include "common/owned.h"
#include "common/unique_fd.h"

namespace cronitor::agent {

class CronDaemonWatch;
class CronLogRunSource;
class CronLogWatch;
class OomWatch;
class ProcRunSource;
class SystemdRunSource;
class SystemdWatch;
struct LiveTimer;

class Daemon : private ProcWatch::Handler, private RunFollower::Handler, private RunSink {
 public:
  struct Options {
    std::string config_path = std::string(kDefaultConfigPath);
    std::optional<Instant> simulated_clock;  // tests only (clock.h): the simulated clock's start
  };

  /// Loads the config (refusing a broken one), opens state.db, discovers jobs, binds the socket.
  [[nodiscard]] static Result<std::unique_ptr<Daemon>> create(const Options& options);
  ~Daemon() override;
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  /// Runs until SIGTERM/SIGINT; returns the process exit code.
  int run();

 private:
  using Pending = EventBatch::Event;  // an event of the next transaction (event_batch.h)

  explicit Daemon(Options options);
  [[nodiscard]] Result<void> init();
  [[nodiscard]] Result<void> lock_state_dir();  // flock on state_dir/agent.lock, or a clear error
  [[nodiscard]] Result<void> setup_loop();
  void rebuild_monitors(Instant now);
  void alert_removed_while_stopped(const std::vector<JobRow>& stored, Instant now);
  void apply_discovery(const discovery::Changes& changes, Instant now);
  void reload();
  /// The config loaded at start or reload becomes the daemon's: host name, alert limits, and its
  /// warnings logged.
  void adopt_config(Config cfg);
  /// Known crontab lines left unwrapped (auto_wrap only wraps new ones) await their first run.
  void mark_unwrapped(std::vector<MonitorConfig>& built);
  // Who owns a key: owners_ (key_ownership.h).
  /// `key` is `new_owner`'s now: what `old_owner` built (runs, pause, incidents, open runs
  /// followed) is dropped (daemon_owners.cpp).
  void start_fresh(const std::string& key, int64_t old_owner, int64_t new_owner);
  /// What discovery_ (agent/sources/job_discovery.h) asks of the daemon (daemon_discovery.cpp).
  JobDiscovery::Hooks discovery_hooks();
  // The sources of runs and host facts (agent/sources/run_sources.h): their list, and what the
  // core calls on one of them alone (daemon_sources.cpp).
  void register_sources();
  void take_runs(std::vector<cronitor::RunEvent> events) override;  // RunSink: runs of cron's log, systemd
  CronLogWatch* cron_log() const;                                   // null: not followed
  ProcWatch* proc_watch() const;                                    // null: observe: off; else live() or why_not()
  ProcWatch* live_proc_watch() const;
  SystemdWatch* systemd() const;  // null: systemd discovery is off
  SystemdWatch* live_systemd() const;
  OomWatch& oom() const;
  RunFollower& follower() const;
  CronDaemonWatch& cron_watch() const;
  /// Jobs of package files: their runs come from cron's log (agent/sources/cron_log_run_source.h).
  std::unique_ptr<CronLogRunSource> cron_log_source();
  void observe_from_cron_log(const std::vector<DiscoveredJob>& jobs);
  // Runs from the kernel's process events (daemon_proc.cpp, agent/sources/proc_run_source.h).
  std::unique_ptr<ProcRunSource> proc_source();
  void proc_runs(std::vector<cronitor::RunEvent> events) override;
  bool wrapper_reported(const std::string& key, Instant since) const override;
  void events_lost(Instant from, Instant to) override;

  // Monitors and deadlines (monitor_table.h holds them; deadline_timer.h fires at the next).
  DeadlineTimer::Hooks deadline_hooks();
  void rearm_deadline_timer();
  void on_deadline(Instant now);
  /// Looks at the cron daemon (when cron jobs are monitored) and watches its pid, so that its
  /// death is seen at once; returns what evaluate_cron decided, for the caller to record.
  Actions observe_cron_daemon(Instant now);
  void check_cron_daemon();  // observe_cron_daemon in a transaction of its own
  void realign_after_clock_jump(Instant now);
  void record_actions(const Actions& actions, const MonitorConfig* m, Instant now);
  [[nodiscard]] Result<void> flush_dirty();
  void save_dirty();
  void end_transaction();  // after begin(): the dirty monitors saved and committed, else rolled back

  // Ingest (daemon_ingest.cpp): the socket's events and requests and the spool's passes, as
  // the wrapper intake (wrapper_intake.h) hands them over after its budget and owner rule.
  WrapperIntake::Hooks intake_hooks();
  std::optional<std::string> on_request(ControlEndpoint::ConnId conn, const Peer& peer, Request r);
  bool spool_store(std::span<const SpoolIntake::Spooled> events);
  void spool_stored();
  void commit_pending();
  /// Stores and evaluates one event; an error when `sender` may not report it (checked again
  /// here: a key first reported in this batch has an owner now).
  [[nodiscard]] std::optional<std::string> ingest(const cronitor::RunEvent& ev, uid_t sender, Instant now,
                                                  bool from_wrapper = true, bool by_process = false);
  /// One bounded pass over the spool; `before_batch`: a short one, ahead of a socket batch.
  void drain_spool(bool before_batch = false);
  bool take_spool_events();  // reads the spool's inotify events; true if a drain is due
  std::string run_control(const Peer& peer, const Request& r);
  /// The status request's reply (`status --json`): `peer`'s jobs, or every job when `sees_all`.
  /// The dashboard takes it as it is, not written as a line and parsed back.
  nlohmann::json status_reply(const Peer& peer, bool sees_all);
  /// The reply's `monitors`: the status objects of the jobs `peer` sees (all when `sees_all`),
  /// or only that of the job `only` names (none when there is no such job).
  nlohmann::json monitors_status(const Peer& peer, bool sees_all, const std::string* only = nullptr);

  // systemd timers over D-Bus (daemon_timers.cpp).
  std::unique_ptr<SystemdRunSource> systemd_source();  // agent/sources/systemd_run_source.h
  void apply_live_timers();                            // timers a manager reports are live: deadlines from now on
  void on_timer_state(const LiveTimer& t, const std::string& what);
  /// Timers the manager runs that discovery does not monitor become monitors (live_timer_job.h).
  void adopt_live_timers(const std::vector<LiveTimer>& timers, Instant now);
  void on_timer_skip(const LiveTimer& t, uint64_t at_usec, const std::string& condition);  // skipped_run.h
  // The parts that carry the daemon's outputs (alert_outbox.h, upstreams.h, exports.h), made
  // in the constructor: what each reads of the daemon.
  AlertOutbox::Reads alert_reads();
  Upstreams::Reads upstream_reads();
  Exports::Reads export_reads();
  /// A stored run event: counted for Prometheus, queued for the upstreams.
  void forward(const RunEvent& ev, uint32_t i);
  /// An upstream refuses us for good (daemon_alerts.cpp): a local alert.
  void on_uplink_stopped(const uplink::Deliverer::Refusal& r);
  /// The dashboard's sources and actions (dashboard_serve.cpp).
  dashboard::DashboardServer::Data dashboard_data();

  // Runs whose wrapper was killed (daemon_runs.cpp): followed by follower_
  // (agent/sources/run_follower.h); the run is closed as lost once its wrapper and group are gone.
  void note_run_event(uint32_t i, const RunEvent& ev);  // from ingest: start or stop following
  void follow_open_runs();                              // at start: the open runs of state.db
  void follow_run(uint32_t i, OpenRun& run);
  OpenRun* open_run(const std::string& key, const std::string& run_id);
  void take_waiting_events() override;
  bool run_open(const std::string& key, const std::string& run_id) override;
  void run_lost(const std::string& key, const std::string& run_id, int64_t pgid) override;

  // A failed transaction (daemon_disk.cpp): the state read back; a full disk is disk_full_'s.
  void on_store_failure(bool out_of_space, size_t events);
  void reload_states();  // after a rollback: the in-memory state as state.db has it
  DiskFullWatch::Hooks disk_full_hooks();

  // Downtime, snooze and shutdown (daemon_snooze.cpp).
  void report_downtime(Instant now);  // at start: the slots of the time nobody watched, told once
  void recover_gap(Instant now);      // before it: the runs of that time the journal holds (daemon_backfill.cpp)
  QuietTimes::Hooks quiet_hooks();    // the heartbeat's save, the snooze's end (quiet_times.h)
  bool quiet(Instant t) const { return quiet_.quiet(t); }  // snoozed or shutting down: alerts recorded, not sent
  void end_snooze(Instant t);
  std::string run_snooze(const Peer& peer, const Request& r);

  // Alerts out (alert_outbox.h): what is due goes to the sender thread.
  void pump_outbox() { alerts_.pump(); }
  /// Whether a key's incident is open in memory, and since when (Alertmanager's re-posts).
  std::optional<Instant> incident_opened(const std::string& key) const;

  void notify_status();
  /// Tests only (daemon_clock.cpp): moves the simulated clock forward, firing what falls due.
  std::string run_advance(const Peer& peer, const Request& r);
  Instant now() const { return clock_.now(); }
  uint64_t mono_usec() const;  // the loop's CLOCK_MONOTONIC time, for relative timers

  LoopSignals::Hooks signal_hooks();  // SIGHUP reloads; SIGTERM may record a shutdown (loop_signals.h)
  // The zone cron runs jobs in (cron_zone_watch.cpp): discovery_ watches /etc/localtime and /etc/timezone.
  void check_cron_zone(Instant t);

  Options options_;
  Clock clock_;  // the wall clock everything is judged by: real, or simulated (tests, clock.h)
  Config config_;
  std::string host_;
  ZoneCache zones_;
  StateStore store_;

  MonitorTable monitors_;   // each monitor's config, state, deadline and whether its row is saved
  HostRecord host_record_;  // the host's row: cron's incident, snooze, shutdown, last sign of life

  JobDiscovery discovery_{discovery_hooks()};  // the jobs under discovery.root, watched; auto_wrap
  // Each source of runs and host facts, registered in register_sources(): cron's log, the process
  // events, OOM kills, systemd, killed wrappers' runs, the cron daemon's pid.
  RunSources sources_{{.config = config_, .host = host_, .now = [this] { return now(); }, .sink = *this}};

  Owned<sd_event, sd_event_unref> ev_;  // the loop (sd_event_default), unref'd after the parts below

  EventBatch batch_{[this] { commit_pending(); }};    // the next transaction's events, committed when the loop idles
  DeadlineTimer deadline_{clock_, deadline_hooks()};  // the nearest deadline's timer, the wall-clock jump watch
  LoopSignals signals_{signal_hooks()};               // SIGTERM, SIGINT, SIGHUP
  WrapperIntake intake_{intake_hooks()};              // the agent socket and the spool: one rate budget and owner rule
  KeyOwnership owners_{monitors_};                    // keys learnt from runs, users' lines refused, owners changed
  RunRetention retention_{config_, store_, [this] { return now(); }};  // runs kept: as they come, daily
  DiskFullWatch disk_full_{config_.state_dir, disk_full_hooks()};      // state.db's disk full: said, retried
  UniqueFd lock_fd_;  // holds the flock on state_dir/agent.lock; declared before the parts: ends after them
  QuietTimes quiet_{clock_, host_record_, quiet_hooks()};  // snooze, shutdown, last_seen's heartbeat
  IdleHeapTrim heap_trim_;  // malloc_trim(0) 1 s after work, at most once a second (issue 17)
  // The config file's folder: a write reloads it, as SIGHUP does, and the spool is read.
  ConfigFileWatch config_file_{options_.config_path, [this] {
                                 reload();
                                 drain_spool();
                               }};

  // The daemon's outputs, each a part that owns its sources and state; declared last, they end
  // first (before state.db closes and the state folder's lock is let go).
  AlertOutbox alerts_{store_, alert_reads()};
  Upstreams upstreams_{config_, host_, monitors_, store_, upstream_reads()};
  Exports exports_{config_, monitors_, store_, export_reads()};
};

}  // namespace cronitor::agent
