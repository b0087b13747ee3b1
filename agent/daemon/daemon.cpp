#include "agent/daemon/daemon.h"

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "agent/config/discovery_adapter.h"
#include "agent/eval/key_owners.h"
#include "agent/sources/host_facts.h"
#include "common/endpoint_file.h"
#include "common/event_source.h"
#include "discovery/fs_root.h"
#include "discovery/scanner.h"

namespace cronitor::agent {
namespace {

std::string hostname_of(const Config& c) {
  if (!c.hostname.empty()) return c.hostname;
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

Result<void> make_dir(const std::string& path, mode_t mode) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return fail("\"" + path + "\": mkdir: " + ec.message());
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 07777) != mode && st.st_uid == ::geteuid())
    ::chmod(path.c_str(), mode);
  return {};
}

// Every local user may hold a few connections: the default soft limit of 1,024 descriptors
// would run out before the connection caps do. sd-event uses epoll, so more is harmless.
void raise_fd_limit() {
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= 65536 || rl.rlim_cur >= rl.rlim_max) return;
  rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, 65536);
  ::setrlimit(RLIMIT_NOFILE, &rl);
}

}  // namespace

Daemon::Daemon(Options options)
    : options_(std::move(options)),
      clock_(options_.simulated_clock ? Clock::simulated(*options_.simulated_clock) : Clock()) {
  register_sources();
}

Daemon::~Daemon() {
  sources_.stop();
  quiet_.stop();
  // Before the lock goes (below): the socket file removed then could be the next agent's.
  intake_.close();
  // The loop goes with ev_, after the parts declared after it (their sources hold references to it).
}

uint64_t Daemon::mono_usec() const { return loop_mono_usec(ev_.get()); }

// One agent per state folder: two would share state.db, delete each other's socket and send
// every alert twice. The lock is a flock on "agent.lock", dropped by the kernel when we die.
Result<void> Daemon::lock_state_dir() {
  const std::string path = config_.state_dir + "/agent.lock";
  lock_fd_.reset(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!lock_fd_) return std::unexpected(Error::from_errno("open", "\"" + path + "\""));
  if (::flock(lock_fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return std::unexpected(Error::from_errno("flock", "\"" + path + "\""));
    char buf[32] = {};
    ssize_t n = ::pread(lock_fd_.get(), buf, sizeof buf - 1, 0);
    std::string holder = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    return fail("another cronitor-agent" + (holder.empty() ? std::string() : " (pid " + holder + ")") +
                " already runs on the state folder \"" + config_.state_dir + "\" (it holds \"" + path +
                "\"); not starting a second one");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(lock_fd_.get(), 0) != 0 || ::pwrite(lock_fd_.get(), pid.data(), pid.size(), 0) < 0)
    spdlog::warn("\"{}\": writing our pid: {}", path, std::strerror(errno));
  return {};
}

Result<std::unique_ptr<Daemon>> Daemon::create(const Options& options) {
  std::unique_ptr<Daemon> d(new Daemon(options));
  if (auto r = d->init(); !r) return std::unexpected(r.error());
  return d;
}

Result<void> Daemon::init() {
  // The loop takes these through signalfd; blocked from the start, so that every thread made
  // from here on inherits the mask, and a SIGTERM during a long start waits for the loop.
  LoopSignals::block();
  ::signal(SIGPIPE, SIG_IGN);
  // Every batch of events allocates and frees a few hundred KiB: keep that much at the top of
  // the heap instead of returning it to the kernel and asking again (brk was 7% of the CPU at
  // 20,000 events/s). Idle memory is still given back by the malloc_trim calls below.
  ::mallopt(M_TOP_PAD, 512 << 10);
  ::mallopt(M_TRIM_THRESHOLD, 2 << 20);
  // One arena for every thread: the sender's and the checkpointer's would each reserve 64 MiB
  // and keep ~120 KiB resident (measured after the first alert, bench/agent/memory_pss.sh) for
  // a few allocations a minute; their small blocks come from the per-thread tcache anyway.
  ::mallopt(M_ARENA_MAX, 1);
  config_file_.note_read();
  auto cfg = load_config(options_.config_path);
  if (!cfg) return fail("refusing to start with a broken config:\n" + format_errors(cfg.error()));
  adopt_config(std::move(*cfg));
  if (config_.mode != "standalone" && !config_.uplink.any())
    spdlog::warn("mode: {} without an upstream under uplink:; alerting locally as in standalone mode", config_.mode);
  if (auto r = make_dir(config_.state_dir, 0700); !r) return r;
  if (auto r = lock_state_dir(); !r) return r;  // before state.db, crontabs and the socket
  std::vector<std::string> warnings;
  auto store = StateStore::open(config_.state_dir + "/state.db", &warnings);
  if (!store) return std::unexpected(store.error());
  store_ = std::move(*store);
  for (const auto& w : warnings) spdlog::warn("{}", w);
  if (auto r = store_.checkpoint_in_background(); !r)
    spdlog::warn("{}; checkpoints run inside commits instead", r.error().message);
  host_record_.load(store_);
  owners_.load(store_);
  if (clock_.is_simulated()) {
    intake_.requests().accept_clock_advance();
    spdlog::warn("simulated clock (tests only): now is {} µs, root moves it with the \"advance\" request",
                 clock_.now().time_since_epoch().count());
  }
  raise_fd_limit();
  discovery_.start(config_);
  std::set<std::string> known;
  if (auto rows = store_.jobs())
    for (const auto& r : *rows) known.insert(r.key);
  sources_.configure();  // before the monitors: the jobs the process events report are not "unreported"
  rebuild_monitors(now());
  for (const auto& k : owners_.new_owner_keys()) known.erase(k);  // another owner's line: new to the agent, wrapped
  if (discovery_.on()) {
    std::set<std::string> files;
    for (const auto& j : discovery_.jobs())
      if (j.from_cron && !j.wrapped && !known.count(j.key) && j.line > 0) files.insert(j.file);
    discovery_.auto_wrap(config_, {files.begin(), files.end()});
    if (!files.empty()) {  // the inventory must hold the lines as they are now, wrapped (else an unwrap looks like no
                           // change)
      (void)discovery_.scan();
      rebuild_monitors(now());
    }
  }
  if (auto r = setup_loop(); !r) return r;
  ::malloc_trim(0);  // parsing the config and the first scan left freed memory behind
  return {};
}

void Daemon::rebuild_monitors(Instant t) {
  std::vector<std::string> warnings;
  // The jobs the config discovers, claims refused, the wrap policy applied (job_discovery.h).
  std::vector<DiscoveredJob>& discovered = discovery_.rediscover(config_, warnings);
  if (ProcWatch* proc = live_proc_watch(); discovery_.on() && proc) {
    mark_process_observed(discovered, discovered);
    proc->set_jobs(discovered);
  }
  auto built = build_monitors(config_, discovered, zones_, warnings);
  for (const auto& w : warnings) spdlog::warn("{}", w);
  // A key whose owner changes (root now defines a key a user reported first) starts fresh.
  owners_.begin_rebuild();
  for (const auto& m : built)
    if (auto prev = owners_.owner_of(m.key); owner_changed(prev, m.uid)) start_fresh(m.key, *prev, m.uid);
  mark_unwrapped(built);
  // Keep the state of monitors we already had; load the rest from state.db.
  std::unordered_map<std::string, MonitorState> old;
  for (uint32_t i = 0; i < monitors_.size(); ++i) old.emplace(monitors_.config(i).key, std::move(monitors_.state(i)));
  std::vector<JobRow> stored;  // at start: the jobs of the previous run, from state.db
  if (monitors_.empty())
    if (auto rows = store_.jobs()) stored = std::move(*rows);
  for (auto& r : stored) old.emplace(r.key, r.state);
  monitors_.clear();
  monitors_.reserve(built.size());
  for (auto& m : built) {
    MonitorState s;
    if (auto it = old.find(m.key); it != old.end() && !it->second.removed && !owners_.owner_changed(m.key)) {
      s = std::move(it->second);
      if (m.schedule && !s.expected) s.expected = m.next_slot(t);
      if (!m.schedule) s.expected.reset();
    } else {
      s = initial_state(m, t);
    }
    monitors_.add(std::move(m), std::move(s));
  }
  alert_removed_while_stopped(stored, t);
  if (systemd()) apply_live_timers();
  observe_from_cron_log(discovery_.jobs());
  spdlog::info("{} monitors ({} discovered jobs)", monitors_.size(), discovery_.jobs().size());
}

// Saves every changed monitor in a transaction of its own; on failure it writes nothing.
void Daemon::save_dirty() {
  if (!store_.begin()) return;
  end_transaction();
}

void Daemon::end_transaction() {
  if (flush_dirty())
    (void)store_.commit();
  else
    store_.rollback();
}

Result<void> Daemon::flush_dirty() {
  if (auto r = monitors_.flush(store_); !r) return r;
  return host_record_.flush(store_, now());  // stamps last_seen: a sign of life (report_downtime)
}

void Daemon::on_deadline(Instant t) {
  const std::vector<uint32_t> due = monitors_.due(t);
  bool cron_due = false;
  for (uint32_t i : due) cron_due |= monitors_.config(i).from_cron;
  if (due.empty() && !host_record_.state().cron_incident) return;
  if (auto r = store_.begin(); !r) {
    spdlog::error("{}", r.error().message);
    return;
  }
  if (cron_due) {
    auto actions = observe_cron_daemon(t);
    if (!actions.empty()) host_record_.changed();
    record_actions(actions, nullptr, t);
  }
  for (uint32_t i : due) {
    auto actions = evaluate(monitors_.config(i), monitors_.state(i), TimeInput{t}, host_record_.state());
    record_actions(actions, &monitors_.config(i), t);
    monitors_.touch(i);
  }
  host_record_.changed();
  Result<void> r = flush_dirty();
  if (r) r = store_.commit();
  if (!r) {
    const bool full = store_.out_of_space();
    if (!full) spdlog::error("saving state: {}", r.error().message);
    store_.rollback();
    on_store_failure(full, 0);
    return;
  }
  pump_outbox();
  notify_status();
}

DeadlineTimer::Hooks Daemon::deadline_hooks() {
  return {
      .due =
          [this] {
            commit_pending();
            on_deadline(now());
            rearm_deadline_timer();
          },
      .clock_jumped = [this] { realign_after_clock_jump(now()); },
  };
}

void Daemon::rearm_deadline_timer() { deadline_.arm(monitors_.next_due()); }

void Daemon::realign_after_clock_jump(Instant t) {
  int moved = 0;
  for (uint32_t i = 0; i < monitors_.size(); ++i) {
    if (agent::realign_after_clock_jump(monitors_.config(i), monitors_.state(i), t)) {
      ++moved;
      monitors_.touch(i);
    }
  }
  spdlog::warn("the wall clock changed; {} deadlines recomputed", moved);
  save_dirty();
  rearm_deadline_timer();
}

void Daemon::adopt_config(Config cfg) {
  config_ = std::move(cfg);
  host_ = hostname_of(config_);
  alerts_.configure(config_.defaults.alert_rate_limit, config_.defaults.alert_rate_window,
                    config_.defaults.alertmanager_resend);
  for (const auto& w : config_.warnings) spdlog::warn("{}", w);
  if (auto w = no_target_warning(config_); !w.empty()) spdlog::warn("{}", w);
}

void Daemon::reload() {
  auto cfg = load_config(options_.config_path);
  if (!cfg) {
    // One log line per error: the log escapes newlines (a message is one line, agent/README.md).
    spdlog::error("reload failed, keeping the old config:");
    for (const auto& e : cfg.error()) spdlog::error("  {}", e.text());
    sd_notifyf(0, "STATUS=reload failed, running with the old config: %s", cfg.error()[0].text().c_str());
    return;
  }
  if (cfg->socket != config_.socket || cfg->state_dir != config_.state_dir || cfg->spool_dir != config_.spool_dir)
    spdlog::warn("socket, state_dir and spool_dir changes take effect at the next start");
  cfg->socket = config_.socket;
  cfg->state_dir = config_.state_dir;
  cfg->spool_dir = config_.spool_dir;
  adopt_config(std::move(*cfg));
  commit_pending();
  sources_.configure();  // observe: may have changed
  rebuild_monitors(now());
  save_dirty();
  rearm_deadline_timer();
  upstreams_.start(ev_.get());  // new keys and URLs; a stopped upstream gets another chance
  upstreams_.sync_monitors();
  exports_.start(ev_.get(), retention_.events_stored() == 0);  // a new prometheus.listen address or textfile
  ::malloc_trim(0);
  spdlog::info("config reloaded from \"{}\"", config_.source);
  check_cron_daemon();  // cron jobs may have come or gone
  notify_status();
}

void Daemon::notify_status() {
  size_t incidents = 0;
  for (const auto& s : monitors_.states()) incidents += s.incident.has_value();
  sd_notifyf(0, "STATUS=%zu monitors, %zu open incidents%s, %llu events stored", monitors_.size(), incidents,
             host_record_.state().cron_incident ? ", cron daemon down" : "",
             static_cast<unsigned long long>(retention_.events_stored()));
}

Result<void> Daemon::setup_loop() {
  if (int r = sd_event_default(out_ptr(ev_)); r < 0)
    return std::unexpected(Error::from_errno("sd_event_default", "", -r));
  signals_.attach(ev_.get());
  sd_event_set_watchdog(ev_.get(), true);
  config_file_.attach(ev_.get());  // before the socket: a change made once the socket is there is seen
  // The spool folder, before the socket: once the socket is there, a wrapper (or a test) may
  // spool at once into a folder that exists and is watched. Drained now and on every write.
  if (auto r = make_dir(config_.spool_dir, 01733); !r) return r;
  if (auto r = intake_.open(ev_.get(), config_.spool_dir, config_.socket); !r) return r;
  batch_.attach(ev_.get());
  deadline_.attach(ev_.get());
  disk_full_.attach(ev_.get());
  retention_.attach(ev_.get());
  alerts_.attach(ev_.get(), std::make_unique<SenderThread>(host_));  // the open incidents' Alertmanager posts resume
  deadline_.watch_clock_jumps(ev_.get());                            // a wall-clock jump: deadlines are then recomputed
  discovery_.watch_zone(ev_.get(), config_);
  upstreams_.start(ev_.get());
  exports_.start(ev_.get(), retention_.events_stored() == 0);
  spdlog::info("{}", describe(probe_host_access()));
  sources_.attach(ev_.get());
  discovery_.watch(ev_.get());
  return {};
}

int Daemon::run() {
  const Instant t = now();
  drain_spool();  // late events first, at their own times, then the clock
  follow_open_runs();
  recover_gap(t);  // runs the journal holds of the time the agent was not running, at their times
  // The manager first: a timer's slot that passed while the host was off may have been served or
  // be a Persistent= timer's to catch up on (agent/eval/timer_deadline.h), which the clock cannot tell.
  sources_.start();    // systemd's watch
  report_downtime(t);  // before the clock: slots nobody could watch are downtime, not misses
  on_deadline(t);
  save_dirty();  // every monitor has its row from the start (status, and removals seen at the next start)
  if (store_.begin()) {
    if (auto n = store_.prune(config_.retention.runs, config_.retention.days, t); n && *n > 0)
      spdlog::info("retention: {} old runs deleted", *n);
    (void)store_.outbox_release_all(t);
    (void)store_.commit();
  }
  quiet_.start(ev_.get());  // last_seen heartbeat, snooze end timer, logind's shutdown signal
  check_cron_daemon();
  rearm_deadline_timer();
  pump_outbox();
  upstreams_.sync_monitors();
  // Wrapped lines carry no paths: the host's agent (the default config, or where
  // CRONITOR_ENDPOINT_FILE says) tells wrappers where it listens. See wrapper/README.md.
  if (options_.config_path == kDefaultConfigPath || std::getenv("CRONITOR_ENDPOINT_FILE"))
    if (auto r = write_endpoint_file(endpoint_file_path(), {config_.socket, config_.spool_dir}); !r)
      spdlog::warn("{}; wrapped jobs report to the default socket and spool", r.error().message);
  spdlog::info("listening on \"{}\", {} monitors", config_.socket, monitors_.size());
  sd_notify(0, "READY=1");
  notify_status();
  heap_trim_.attach(ev_.get());  // what the start and later work freed goes back 1 s after the work
  int r = sd_event_loop(ev_.get());
  sd_notify(0, "STOPPING=1");
  alerts_.finish_sends();
  host_record_.changed();  // last_seen: the agent stops now
  commit_pending();
  save_dirty();
  if (r < 0) {
    spdlog::error("event loop: {}", std::strerror(-r));
    return 1;
  }
  return 0;  // SIGTERM and SIGINT end the loop with 0 (loop_signals.h)
}

LoopSignals::Hooks Daemon::signal_hooks() {
  return {
      .reload =
          [this] {
            reload();
            intake_.relist_spool();  // every name again: a way out of anything the watch missed
            drain_spool();
          },
      .stopping =
          [this](bool sigterm) {
            if (sigterm) quiet_.on_stop_signal();
          },
  };
}

}  // namespace cronitor::agent
