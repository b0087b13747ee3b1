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
#include "agent/control/rate_limiter.h"
#include "agent/control/request_handler.h"
#include "agent/daemon/heap_trim.h"
#include "agent/daemon/sender_thread.h"
#include "agent/eval/evaluator.h"
#include "agent/sources/cron_daemon_watch.h"
#include "agent/sources/kmsg_reader.h"
#include "agent/sources/oom_kill_log.h"
#include "agent/sources/proc_watch.h"
#include "agent/sources/run_follower.h"
#include "agent/sources/spool_reader.h"
#include "agent/state/state_store.h"
#include "common/event.h"
#include "uplink/alert_throttle.h"
#include "uplink/alertmanager_resend.h"
#include "uplink/delivery.h"
#include "uplink/healthchecks_api.h"
#include "uplink/prometheus.h"
#include "uplink/upstream_schedule.h"

namespace cronitor::discovery {
class DiskRoot;
class Scanner;
class Watcher;
struct Changes;
}  // namespace cronitor::discovery

namespace cronitor::agent {

using uplink::AlertThrottle;

class CronLogWatch;
class MetricsHttp;
namespace dashboard {
class DashboardServer;
}
class SettledFolderWatch;
class ShutdownWatch;
class SystemdWatch;
struct LiveTimer;

/// `t` as the microseconds of CLOCK_REALTIME that sd-event timers take (1 at the least: 0 would be
/// "now" for some callers).
inline uint64_t to_realtime_usec(Instant t) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  return us <= 0 ? 1 : static_cast<uint64_t>(us);
}

class Daemon : private ProcWatch::Handler, private RunFollower::Handler {
 public:
  struct Options {
    std::string config_path = std::string(kDefaultConfigPath);
  };

  /// Loads the config (refusing a broken one), opens state.db, discovers jobs, binds the socket.
  [[nodiscard]] static Result<std::unique_ptr<Daemon>> create(const Options& options);
  ~Daemon() override;
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  /// Runs until SIGTERM/SIGINT; returns the process exit code.
  int run();

 private:
  struct Conn {
    int fd = -1;
    uid_t uid = 0;
    pid_t pid = 0;
    std::string in;
    std::string out;
    uint64_t opened_usec = 0;  // CLOCK_MONOTONIC; its read deadline counts from here
    sd_event_source* src = nullptr;
    bool closing = false;
    bool counted = false;  // in conns_of_uid_: waits for its line
  };
  struct Pending {
    cronitor::RunEvent ev;
    int conn_fd = -1;  // -1: from the spool
    uid_t sender = 0;  // SO_PEERCRED uid, or the spool file's owner
  };

  explicit Daemon(Options options);
  [[nodiscard]] Result<void> init();
  [[nodiscard]] Result<void> lock_state_dir();  // flock on state_dir/agent.lock, or a clear error
  [[nodiscard]] Result<void> setup_loop();
  [[nodiscard]] Result<void> bind_socket();
  void rebuild_monitors(Instant now);
  void alert_removed_while_stopped(const std::vector<JobRow>& stored, Instant now);
  void apply_discovery(const discovery::Changes& changes, Instant now);
  void reload();
  /// Known crontab lines left unwrapped (auto_wrap only wraps new ones) await their first run.
  void mark_unwrapped(std::vector<MonitorConfig>& built);
  // Who owns a key (daemon_owners.cpp, agent/eval/key_owners.h).
  /// Keys users hold today: their crontabs' monitors and the keys they reported first.
  std::unordered_map<std::string, int64_t> key_holders() const;
  /// Takes out of `jobs` the users' lines that may not define their key or are past the limits of
  /// monitors per user, and returns them; keeps `refused_jobs_` (one entry per file past a limit),
  /// each said once in the log.
  std::vector<RefusedJob> refuse_claims(std::vector<DiscoveredJob>& jobs);
  /// The owner of `key` before a rebuild: its monitor's uid, else state.db's.
  std::optional<int64_t> previous_owner(const std::string& key) const;
  /// `key` is `new_owner`'s now: what `old_owner` built (runs, pause, incidents) is dropped.
  void start_fresh(const std::string& key, int64_t old_owner, int64_t new_owner);
  /// Every N runs stored for a key: its runs beyond what it may keep are deleted.
  void prune_runs_of(uint32_t i);
  /// auto_wrap: rewrites the crontab lines of jobs new to the agent so they report their runs.
  void auto_wrap(const std::vector<std::string>& files);
  /// Jobs of package files: their runs come from cron's log (agent/sources/cron_log_watch.h).
  void open_cron_log();
  // OOM kills from the kernel's log (daemon_oom.cpp): which run's process the killer killed.
  void start_oom_watch();
  void read_kmsg();
  void attribute_oom(RunEvent& ev);
  static int on_kmsg_cb(sd_event_source*, int, uint32_t, void*);
  void observe_from_cron_log(const std::vector<DiscoveredJob>& jobs);
  // Runs from the kernel's process events (daemon_proc.cpp, agent/sources/proc_watch.h).
  void start_proc_watch();
  void proc_runs(std::vector<cronitor::RunEvent> events) override;
  bool wrapper_reported(const std::string& key, Instant since) const override;

  // Monitors and deadlines.
  uint32_t add_monitor(MonitorConfig c, MonitorState s);
  void touch(uint32_t i);  // state changed: persist and recompute its deadline
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

  // Ingest (daemon_ingest.cpp).
  void on_accept();
  void on_conn_io(Conn& c, uint32_t revents);
  void handle_line(Conn& c, std::string_view line);
  void reply(Conn& c, std::string text);
  void close_conn(int fd);
  void uncount(Conn& c);
  void sweep_conns();
  void commit_pending();
  /// Stores and evaluates one event; an error when `sender` may not report it (checked again
  /// here: a key first reported in this batch has an owner now).
  [[nodiscard]] std::optional<std::string> ingest(const cronitor::RunEvent& ev, uid_t sender, Instant now,
                                                  bool from_wrapper = true);
  /// The owner of a key (RequestHandler::OwnerOf): a monitor's uid, or a key learnt from runs.
  std::optional<int64_t> owner_of(std::string_view key) const;
  /// One bounded pass over the spool; `before_batch`: a short one, ahead of a socket batch.
  void drain_spool(bool before_batch = false);
  bool take_spool_events();  // reads the spool's inotify events; true if a drain is due
  std::string run_control(const Conn& c, const Request& r);
  void accept_one(int fd);

  // systemd timers over D-Bus (daemon_timers.cpp).
  void start_systemd_watch();
  void apply_live_timers();  // timers a manager reports are live: deadlines from now on
  void on_timer_state(const LiveTimer& t, const std::string& what);
  /// Timers the manager runs that discovery does not monitor become monitors (live_timer_job.h).
  void adopt_live_timers(const std::vector<LiveTimer>& timers, Instant now);
  void on_timer_skip(const LiveTimer& t, uint64_t at_usec, const std::string& condition);  // skipped_run.h
  // Uplink (agent/daemon/uplink_hooks.cpp): upstreams fed from state.db's uplink_outbox.
  void start_uplink();
  void forward(const RunEvent& ev, uint32_t i);
  void forward_fault(const Action& a, const MonitorConfig* m);
  void sync_upstream_monitors();
  /// A monitor as upstreams see it; its schedule in a form they take (warns once per job when none).
  uplink::MonitorInfo upstream_monitor(const MonitorConfig& m);
  void on_uplink_stopped(const uplink::Deliverer::Refusal& r);
  // The agent's own liveness (daemon_liveness.cpp): the upstream heartbeat and its start time.
  void start_self_heartbeat();
  void send_self_heartbeat();
  static int on_self_beat_cb(sd_event_source*, uint64_t, void*);
  static std::optional<Instant> process_start_time();
  // Prometheus (agent/daemon/metrics_export.cpp): a node_exporter textfile, rewritten every 15 s, and/or
  // /metrics over HTTP (agent/control/metrics_http.h) on the loop.
  void start_metrics();
  void write_metrics();
  std::string metrics_text();
  void seed_run_counts();  // cronitor_job_runs_total from state.db's runs, once at start
  static int on_metrics_cb(sd_event_source*, uint64_t, void*);
  void start_dashboard();  // dashboard.listen (agent/daemon/dashboard_serve.cpp), from start_metrics

  // Runs whose wrapper was killed (daemon_runs.cpp): followed by follower_
  // (agent/sources/run_follower.h); the run is closed as lost once its wrapper and group are gone.
  void note_run_event(uint32_t i, const RunEvent& ev);  // from ingest: start or stop following
  void follow_open_runs();                              // at start: the open runs of state.db
  void follow_run(uint32_t i, OpenRun& run);
  OpenRun* open_run(const std::string& key, const std::string& run_id);
  void take_waiting_events() override;
  bool run_open(const std::string& key, const std::string& run_id) override;
  void run_lost(const std::string& key, const std::string& run_id, int64_t pgid) override;

  // A full disk under state.db (daemon_disk.cpp): said once, retried, recovered from.
  void on_store_failure(bool out_of_space, size_t events);
  void on_store_ok();
  void reload_states();  // after a rollback: the in-memory state as state.db has it
  static int on_disk_retry_cb(sd_event_source*, uint64_t, void*);

  // Downtime, snooze and shutdown (daemon_snooze.cpp).
  void report_downtime(Instant now);  // at start: the slots of the time nobody watched, told once
  void recover_gap(Instant now);      // before it: the runs of that time the journal holds (daemon_backfill.cpp)
  void start_host_watches();          // last_seen heartbeat, snooze end timer, logind's shutdown signal
  void stop_host_watches();
  bool quiet(Instant t) const;  // snoozed or shutting down: alerts are recorded, not sent
  void on_stop_signal();        // SIGTERM: during a system shutdown, record it
  void on_shutdown_signal(bool active);
  void arm_snooze_timer();
  void end_snooze(Instant t);
  std::string run_snooze(const Conn& c, const Request& r);
  static int on_heartbeat_cb(sd_event_source*, uint64_t, void*);
  static int on_snooze_cb(sd_event_source*, uint64_t, void*);

  // Outbox.
  void pump_outbox();
  void on_sent();
  bool record_sent();   // the sender's outcomes into the outbox; false: none
  void finish_sends();  // at a stop: the alerts being sent finish first (1 s at most)
  // Alertmanager targets (daemon_alertmanager.cpp): an open incident's alert is posted again
  // every defaults.alertmanager_resend until the incident resolves.
  // At start the incidents still open resume; pump_outbox queues the posts due; incident_opened
  // says whether a key's incident is open in memory, and since when.
  void note_alertmanager_rows(const Action& a, const std::vector<std::string>& targets, Instant t);
  void resume_alertmanager_posts(Instant t);
  void queue_alertmanager_posts(Instant t);
  std::optional<Instant> incident_opened(const std::string& key) const;

  void notify_status();
  Instant now() const;
  uint64_t mono_usec() const;  // the loop's CLOCK_MONOTONIC time, for relative timers

  static int on_listen_cb(sd_event_source*, int, uint32_t, void*);
  static int on_conn_cb(sd_event_source*, int, uint32_t, void*);
  static int on_commit_cb(sd_event_source*, void*);
  static int on_spool_cb(sd_event_source*, int, uint32_t, void*);
  static int on_spool_drain_cb(sd_event_source*, void*);
  static int on_spool_retry_cb(sd_event_source*, uint64_t, void*);
  static int on_deadline_cb(sd_event_source*, uint64_t, void*);
  static int on_outbox_cb(sd_event_source*, uint64_t, void*);
  static int on_sent_cb(sd_event_source*, int, uint32_t, void*);
  static int on_sweep_cb(sd_event_source*, uint64_t, void*);
  static int on_signal_cb(sd_event_source*, const struct signalfd_siginfo*, void*);
  static int on_clock_cb(sd_event_source*, int, uint32_t, void*);
  static int on_watch_cb(sd_event_source*, int, uint32_t, void*);
  static int on_settle_cb(sd_event_source*, uint64_t, void*);
  static int on_prune_cb(sd_event_source*, uint64_t, void*);
  void watch_config();  // reload when the config file is written (after a short settle)
  // The zone cron runs jobs in (cron_zone_watch.cpp): /etc/localtime and /etc/timezone watched.
  void watch_zone();
  void check_cron_zone(Instant t);

  Options options_;
  Config config_;
  std::string host_;
  ZoneCache zones_;
  StateStore store_;

  std::vector<MonitorConfig> monitors_;
  std::vector<MonitorState> states_;
  std::unordered_map<std::string, uint32_t> index_;
  std::vector<std::optional<Instant>> deadline_of_;
  std::set<std::pair<Instant, uint32_t>> deadlines_;
  std::vector<uint8_t> dirty_flag_;
  std::vector<uint8_t> row_saved_;  // the jobs row holds this monitor's current config
  std::vector<uint32_t> dirty_;
  HostState host_state_;
  bool host_dirty_ = false;
  size_t adhoc_count_ = 0;

  std::unique_ptr<discovery::DiskRoot> root_;
  std::unique_ptr<discovery::Scanner> scanner_;
  std::unique_ptr<discovery::Watcher> watcher_;
  std::vector<DiscoveredJob> discovered_;
  WrapPolicy wrap_policy_;
  std::set<std::string> wrap_said_;  // auto_wrap refusals already logged (said once)
  std::unique_ptr<CronLogWatch> cron_log_;
  std::unique_ptr<KmsgReader> kmsg_;  // null: /dev/kmsg unreadable; the wrapper's hint stands
  std::unique_ptr<OomKillLog> oom_log_;
  sd_event_source* kmsg_src_ = nullptr;
  std::unique_ptr<SystemdWatch> systemd_;  // null: systemd discovery is off
  std::unique_ptr<ProcWatch> proc_watch_;  // null: observe: off; else live() or why_not()

  sd_event* ev_ = nullptr;
  sd_event_source* listen_src_ = nullptr;
  sd_event_source* commit_src_ = nullptr;
  sd_event_source* spool_src_ = nullptr;
  sd_event_source* spool_drain_src_ = nullptr;
  sd_event_source* deadline_src_ = nullptr;
  sd_event_source* outbox_src_ = nullptr;
  sd_event_source* sent_src_ = nullptr;
  sd_event_source* sweep_src_ = nullptr;
  sd_event_source* clock_src_ = nullptr;
  sd_event_source* watch_src_ = nullptr;
  sd_event_source* settle_src_ = nullptr;
  sd_event_source* prune_src_ = nullptr;
  std::optional<struct stat> config_stat_;  // the config file as it was just before it was read
  std::vector<sd_event_source*> signal_srcs_;
  int listen_fd_ = -1;
  int spool_fd_ = -1;
  int clock_fd_ = -1;
  bool spool_ready_ = false;  // the spool changed since the last drain

  std::map<int, std::unique_ptr<Conn>> conns_;
  std::vector<Pending> pending_;
  RateLimiter rate_;
  std::unique_ptr<RequestHandler> handler_;
  // What the spool holds: names to look at, files read, odd entries warned about.
  SpoolIndex spool_index_;
  std::unordered_map<uid_t, size_t> conns_of_uid_;              // open connections per peer uid
  std::unordered_map<std::string, int64_t> owners_;             // keys learnt from runs -> owner uid (state.db)
  std::set<uid_t> spool_waiting_;                               // uids whose spool files wait for the rate limit
  sd_event_source* spool_retry_src_ = nullptr;                  // drains again once those uids have tokens
  std::vector<RefusedJob> refused_jobs_;                        // users' lines that may not define their key
  std::set<std::string> refused_said_;                          // ... already logged (key and where)
  std::set<std::string> new_owner_keys_;                        // keys whose owner the last rebuild changed
  std::unordered_map<std::string, uint32_t> runs_since_prune_;  // key -> runs stored since its pruning
  int reserve_fd_ = -1;  // given up to accept and close a connection when out of descriptors
  std::unique_ptr<SenderThread> sender_;
  std::set<int64_t> in_flight_;
  uint64_t events_stored_ = 0;
  bool outbox_dirty_ = false;                  // alerts were queued since the last pump
  AlertThrottle throttle_;                     // per-target rate limit; its digests are queued by pump_outbox
  uplink::AlertmanagerResend am_resend_;       // open incidents posted again to Alertmanager targets
  std::optional<Instant> disk_full_since_;     // state.db's disk is full since then
  uint64_t disk_full_failures_ = 0;            // transactions that failed meanwhile
  sd_event_source* disk_retry_src_ = nullptr;  // while full: looks for space every few seconds
  int exit_code_ = 0;
  std::unique_ptr<uplink::Outbox> uplink_outbox_;
  std::unique_ptr<uplink::Deliverer> deliverer_;    // declared after the outbox: ends first
  std::unique_ptr<uplink::CheckLedger> hc_ledger_;  // Healthchecks checks last queued (uplink_hooks.cpp)
  size_t synced_hash_ = 0;                          // the monitors last queued for upsert
  sd_event_source* self_beat_src_ = nullptr;        // uplink.heartbeat: the agent's own beat
  // Per job: the schedule and zone last translated for upstreams ("text|zone|anchor" -> result),
  // so the host's zone files are read once per job and reload, and its warning said once.
  std::unordered_map<std::string, std::pair<std::string, uplink::UpstreamSchedule>> upstream_schedules_;
  sd_event_source* metrics_src_ = nullptr;
  // The last prometheus.textfile failure, warned about once.
  std::string textfile_error_;
  std::unique_ptr<MetricsHttp> metrics_http_;                      // prometheus.listen
  std::unique_ptr<MetricsHttp> dashboard_http_;                    // dashboard.listen
  std::unique_ptr<dashboard::DashboardServer> dashboard_;          // its routes and sessions
  std::unordered_map<std::string, uplink::RunCounts> run_counts_;  // by key
  uint64_t rescans_ = 0;
  int lock_fd_ = -1;        // holds the flock on state_dir/agent.lock for the daemon's life
  HostState previous_run_;  // the host state as the previous run left it (its last_seen, shutdown)
  bool shutting_down_ = false;
  sd_event_source* heartbeat_src_ = nullptr;
  sd_event_source* snooze_src_ = nullptr;
  std::unique_ptr<ShutdownWatch> shutdown_;
  IdleHeapTrim heap_trim_;  // malloc_trim(0) 1 s after work, at most once a second (issue 17)
  // Parts that own their event sources (attached to the loop in setup_loop).
  RunFollower follower_{*this};                       // runs whose wrapper was killed
  CronDaemonWatch cron_watch_;                        // the cron daemon's pid; made in the constructor
  std::unique_ptr<SettledFolderWatch> config_watch_;  // the config file's folder: a write reloads
  std::unique_ptr<SettledFolderWatch> zone_watch_;    // the root's /etc: the zone files
};

}  // namespace cronitor::agent
