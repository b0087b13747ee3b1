// The daemon's inputs: the wrapper socket (SO_PEERCRED, bounded size and rate), the spool
// folder, and the batch commit that makes events durable before they are acknowledged.
#include <fcntl.h>
#include <pwd.h>
#include <spdlog/spdlog.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <unordered_set>

#include "agent/config/monitor_set.h"
#include "agent/daemon/daemon.h"
#include "agent/sources/event_adapter.h"
#include "agent/sources/spool_reader.h"

namespace cronitor::agent {
namespace {

// Connections that have not sent their line yet, per uid: one user can hold a quarter of the
// table at most, so it takes four to crowd out the rest. Closing more of them sooner would
// only make an attacker reconnect in a loop, which costs everyone CPU.
constexpr size_t kMaxWaitingConnsPerUid = 1024;
constexpr size_t kBatch = 512;  // events per commit at most
// A client has 1 to 2 s to send its line (wrappers wait 1 s at most). The spread keeps idle
// connections from expiring, and their owner reconnecting, all in one burst.
constexpr uint64_t kConnTimeoutUsec = 2000000;
constexpr uint64_t kConnTimeoutSpreadUsec = 1000000;

// The connection table's size: 4 x kMaxWaitingConnsPerUid, within the descriptor limit.
size_t max_conns() {
  static const size_t n = [] {
    struct rlimit rl {};
    size_t limit = ::getrlimit(RLIMIT_NOFILE, &rl) == 0 ? static_cast<size_t>(rl.rlim_cur) : 1024;
    return std::clamp<size_t>(limit > 256 ? limit - 256 : 64, 64, 4 * kMaxWaitingConnsPerUid);
  }();
  return n;
}
constexpr uint64_t kSpoolRetryMinUsec = 200000;  // a uid out of budget: its files are looked at again after this
constexpr size_t kMaxAdhocMonitors = 1000;       // keys reported that no config or discovery knows
constexpr size_t kMaxAdhocPerUser = 100;         // ... of them owned by one uid other than root
constexpr size_t kSpoolFilesPerDrain = 5000;

}  // namespace

Result<void> Daemon::bind_socket() {
  const std::string& path = config_.socket;
  if (path.size() >= sizeof(sockaddr_un::sun_path)) return fail("socket path \"" + path + "\" is too long");
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return std::unexpected(Error::from_errno("socket", path));
  ::unlink(path.c_str());  // a stale socket of a previous run
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return std::unexpected(Error::from_errno("bind", path));
  ::chmod(path.c_str(), 0666);  // every user's jobs report here; SO_PEERCRED tells them apart
  if (::listen(listen_fd_, 1024) != 0) return std::unexpected(Error::from_errno("listen", path));
  return {};
}

int Daemon::on_listen_cb(sd_event_source*, int, uint32_t, void* ud) {
  static_cast<Daemon*>(ud)->on_accept();
  return 0;
}

int Daemon::on_conn_cb(sd_event_source*, int fd, uint32_t revents, void* ud) {
  auto* d = static_cast<Daemon*>(ud);
  auto it = d->conns_.find(fd);
  if (it != d->conns_.end()) d->on_conn_io(*it->second, revents);
  return 0;
}

int Daemon::on_commit_cb(sd_event_source*, void* ud) {
  static_cast<Daemon*>(ud)->commit_pending();
  return 0;
}

int Daemon::on_sweep_cb(sd_event_source*, uint64_t, void* ud) {
  static_cast<Daemon*>(ud)->sweep_conns();
  return 0;
}

int Daemon::on_spool_cb(sd_event_source*, int, uint32_t, void* ud) {
  auto* d = static_cast<Daemon*>(ud);
  if (d->take_spool_events()) sd_event_source_set_enabled(d->spool_drain_src_, SD_EVENT_ONESHOT);
  return 0;
}

bool Daemon::take_spool_events() {
  // The events name the files: only those are looked at again (a lost event: all of them).
  alignas(inotify_event) char buf[16384];
  for (ssize_t n; spool_fd_ >= 0 && (n = ::read(spool_fd_, buf, sizeof buf)) > 0;) {
    spool_ready_ = true;
    for (ssize_t off = 0; off + static_cast<ssize_t>(sizeof(inotify_event)) <= n;) {
      const auto* e = reinterpret_cast<const inotify_event*>(buf + off);
      if (e->mask & IN_Q_OVERFLOW) spool_index_.relist();
      if (e->len > 0) spool_index_.note(std::string_view(e->name, ::strnlen(e->name, e->len)));
      off += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
    }
  }
  return spool_ready_;
}

int Daemon::on_spool_drain_cb(sd_event_source*, void* ud) {
  static_cast<Daemon*>(ud)->drain_spool();
  return 0;
}

void Daemon::on_accept() {
  for (int n = 0; n < 256; ++n) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0 && (errno == EMFILE || errno == ENFILE) && reserve_fd_ >= 0) {
      // Out of descriptors: the backlog would stay full and starve everyone. Free the reserve to
      // take one connection off the backlog and close it (its wrapper spools).
      ::close(reserve_fd_);
      if (int dropped = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC); dropped >= 0) ::close(dropped);
      reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      continue;
    }
    if (fd < 0) return;
    accept_one(fd);
  }
}

void Daemon::accept_one(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (conns_.size() >= max_conns() || ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    ::close(fd);  // the wrapper spools instead
    return;
  }
  auto c = std::make_unique<Conn>();
  c->fd = fd;
  c->uid = cred.uid;
  c->pid = cred.pid;
  static uint32_t seq = 0;
  c->opened_usec = mono_usec() - (++seq * 2654435761u) % kConnTimeoutSpreadUsec;
  Conn& ref = *c;
  conns_.emplace(fd, std::move(c));
  on_conn_io(ref, EPOLLIN);  // the line is usually there already
  if (!conns_.count(fd) || ref.src || ref.closing) return;
  // Still waiting for its line: it holds a descriptor. Each uid may hold only a few of those,
  // so that one user's idle connections cannot take everyone's.
  size_t& waiting = conns_of_uid_[ref.uid];
  if (ref.uid != 0 && waiting >= kMaxWaitingConnsPerUid) {
    ::send(fd, "busy too many connections\n", 26, MSG_NOSIGNAL | MSG_DONTWAIT);
    close_conn(fd);
    return;
  }
  ++waiting;
  ref.counted = true;
  sd_event_add_io(ev_, &ref.src, fd, EPOLLIN, on_conn_cb, this);
  if (sd_event_source_get_enabled(sweep_src_, nullptr) == 0) {
    sd_event_source_set_time(sweep_src_, ref.opened_usec + kConnTimeoutUsec);
    sd_event_source_set_enabled(sweep_src_, SD_EVENT_ONESHOT);
  }
}

void Daemon::on_conn_io(Conn& c, uint32_t revents) {
  if (revents & EPOLLOUT) {
    reply(c, "");
    return;
  }
  if (c.closing) return;
  char buf[16384];
  while (true) {
    ssize_t n = ::read(c.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      close_conn(c.fd);  // closed before a whole line
      return;
    }
    size_t before = c.in.size();
    c.in.append(buf, static_cast<size_t>(n));
    auto nl = c.in.find('\n', before);
    if (nl != std::string::npos) {
      std::string line = c.in.substr(0, nl + 1);
      if (c.src) sd_event_source_set_enabled(c.src, SD_EVENT_OFF);
      c.closing = true;
      uncount(c);
      handle_line(c, line);
      return;
    }
    if (c.in.size() > cronitor::kMaxLineBytes) {
      c.closing = true;
      uncount(c);
      reply(c, "err line longer than 64 KiB\n");
      return;
    }
  }
}

void Daemon::handle_line(Conn& c, std::string_view line) {
  Request r = handler_->handle(line, Peer{c.uid, c.pid}, mono_usec());
  switch (r.kind) {
    case Request::Kind::kReply:
      reply(c, std::move(r.reply));
      return;
    case Request::Kind::kEvent:
      // The wrapper is the peer (SO_PEERCRED), whatever it says.
      if (r.event.wrapper_pid) r.event.wrapper_pid = c.pid;
      pending_.push_back(Pending{std::move(r.event), c.fd, c.uid});
      if (pending_.size() >= kBatch)
        commit_pending();
      else
        sd_event_source_set_enabled(commit_src_, SD_EVENT_ONESHOT);
      return;
    default:
      commit_pending();
      reply(c, run_control(c, r));
      return;
  }
}

void Daemon::reply(Conn& c, std::string text) {
  c.closing = true;
  c.out += text;
  while (!c.out.empty()) {
    ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!c.src)
        sd_event_add_io(ev_, &c.src, c.fd, EPOLLOUT, on_conn_cb, this);
      else {
        sd_event_source_set_io_events(c.src, EPOLLOUT);
        sd_event_source_set_enabled(c.src, SD_EVENT_ON);
      }
      return;
    }
    if (n <= 0) break;
    c.out.erase(0, static_cast<size_t>(n));
  }
  close_conn(c.fd);
}

void Daemon::uncount(Conn& c) {
  if (!c.counted) return;
  c.counted = false;
  auto it = conns_of_uid_.find(c.uid);
  if (it != conns_of_uid_.end() && --it->second == 0) conns_of_uid_.erase(it);
}

void Daemon::close_conn(int fd) {
  auto it = conns_.find(fd);
  if (it == conns_.end()) return;
  uncount(*it->second);
  sd_event_source_disable_unref(it->second->src);
  ::close(fd);
  conns_.erase(it);
}

void Daemon::sweep_conns() {
  const uint64_t t = mono_usec();
  std::unordered_set<int> waiting;  // connections whose event awaits its commit
  for (const auto& p : pending_) waiting.insert(p.conn_fd);
  std::vector<int> old;
  uint64_t oldest = UINT64_MAX;
  for (auto& [fd, c] : conns_) {
    if (waiting.contains(fd)) continue;
    if (t - c->opened_usec >= kConnTimeoutUsec)
      old.push_back(fd);
    else
      oldest = std::min(oldest, c->opened_usec);
  }
  for (int fd : old) close_conn(fd);
  if (oldest != UINT64_MAX) {
    sd_event_source_set_time(sweep_src_, oldest + kConnTimeoutUsec);
    sd_event_source_set_enabled(sweep_src_, SD_EVENT_ONESHOT);
  }
}

std::optional<std::string> Daemon::ingest(const cronitor::RunEvent& w, uid_t sender, Instant t, bool from_wrapper) {
  if (auto why = handler_->refuse(w, sender)) return why;
  if (w.state == RunState::kMetric) {
    if (auto r = store_.record_metrics(w.key, w.run_id, w.metrics, w.host, w.uid, t); !r)
      spdlog::warn("storing metrics of {}: {}", w.key, r.error().message);
    return std::nullopt;
  }
  auto ev = from_wire(w);
  if (!ev) {
    spdlog::warn("event for {}: {}", w.key, ev.error().message);
    return std::nullopt;
  }
  ev->ts = clock_.from_real(ev->ts);  // the wrapper's real clock; a simulated one is offset (clock.h)
  auto it = index_.find(ev->key);
  // A key no crontab or agent.yaml defines: its first reporter owns it, for good (state.db keeps
  // it across restarts); bounded, per user too.
  int64_t owner = -1;
  if (it == index_.end()) {
    owner = owner_of(ev->key).value_or(static_cast<int64_t>(sender == 0 ? w.uid : sender));
    if (adhoc_count_ >= kMaxAdhocMonitors)
      return "too many keys on this host that no crontab or agent.yaml defines (" + std::to_string(kMaxAdhocMonitors) +
             "); add this job to agent.yaml";
    size_t of_owner = 0;
    for (const auto& [key, uid] : owners_) of_owner += uid == owner;
    if (owner != 0 && of_owner >= kMaxAdhocPerUser)
      return "uid " + std::to_string(owner) + " already reports " + std::to_string(kMaxAdhocPerUser) +
             " keys that no crontab or agent.yaml defines; add this job to a crontab or agent.yaml";
  }
  if (from_wrapper) attribute_oom(*ev);  // before it is stored: history keeps the verdict
  std::map<std::string, double> merged;
  auto stored = store_.record_event(*ev, t, &merged);
  if (!stored) {
    if (!store_.out_of_space()) spdlog::error("storing an event of {}: {}", w.key, stored.error().message);
    return std::nullopt;
  }
  if (!*stored) return std::nullopt;  // seen before (a late ack, then spooled): already evaluated
  ++events_stored_;
  uint32_t i;
  if (it != index_.end()) {
    i = it->second;
  } else {
    MonitorConfig m = monitor_from_defaults(config_.defaults);
    m.key = ev->key;
    m.name = ev->key;
    m.uid = owner;
    // Alerts name whose key it is ("user alice: ..."), as for a job of their crontab.
    if (owner > 0)
      if (const passwd* pw = ::getpwuid(static_cast<uid_t>(owner))) m.user = pw->pw_name;
    owners_[m.key] = m.uid;
    ++adhoc_count_;
    i = add_monitor(std::move(m), MonitorState{});
  }
  prune_runs_of(i);  // retention as runs come, not only at start and daily
  if (ev->state == RunEvent::State::kComplete)
    for (auto& [k, v] : merged) ev->metrics.emplace(k, v);
  const int failed_before = states_[i].failed_since_success;
  auto actions = evaluate(monitors_[i], states_[i], &*ev, host_state_);
  // An exit 0 the job's assertions count as a failure (a hung run's max runtime): history says
  // so, and its count of failed runs is the alerts' "N runs failed since".
  if (ev->state == RunEvent::State::kComplete && states_[i].failed_since_success > failed_before)
    if (auto r = store_.mark_run_failed(ev->run_id); !r) spdlog::error("state.db: {}", r.error().message);
  if (!actions.empty()) host_dirty_ = true;
  record_actions(actions, &monitors_[i], t);
  touch(i);
  note_run_event(i, *ev);
  forward(*ev, i);  // queued for the upstreams in this transaction: durable before the ack
  return std::nullopt;
}

void Daemon::commit_pending() {
  if (pending_.empty()) return;
  // A wrapper that once missed its ack spools the rest of that run: a run's end may sit in the
  // spool while the next run arrives on the socket. Older events first, so that is no overlap.
  if (take_spool_events()) drain_spool(true);
  std::vector<Pending> batch;
  batch.swap(pending_);
  const Instant t = now();
  std::vector<std::optional<std::string>> refused(batch.size());
  bool ok = static_cast<bool>(store_.begin());
  bool full = false;
  if (ok) {
    for (size_t k = 0; k < batch.size(); ++k)  // socket events are the wrappers' (timers, cron log: the agent's)
      refused[k] = ingest(batch[k].ev, batch[k].sender, t, batch[k].conn_fd >= 0);
    ok = flush_dirty() && store_.commit();
    full = !ok && store_.out_of_space();
    if (!ok) store_.rollback();
  }
  if (!ok)
    on_store_failure(full, batch.size());
  else
    on_store_ok();
  for (size_t k = 0; k < batch.size(); ++k) {
    const auto& p = batch[k];
    if (p.conn_fd < 0) continue;
    auto it = conns_.find(p.conn_fd);
    if (it == conns_.end()) continue;
    reply(*it->second, !ok ? "busy storage unavailable\n" : refused[k] ? "err " + *refused[k] + "\n" : "ok\n");
  }
  rearm_deadline_timer();
  if (outbox_dirty_) pump_outbox();
  if (ok && deliverer_) deliverer_->kick();
}

// Spooled events are older than those waiting on the socket: they go first (commit_pending
// calls this before its batch). Each file is judged whole, once: refused files are deleted with
// one log line; the files of a uid out of its rate budget wait, unread, for a later drain.
// One call is one bounded pass (spool_reader.h): what is left is read by the idle-priority
// drain source, so the loop answers the socket in between.
void Daemon::drain_spool(bool before_batch) {
  spool_ready_ = false;
  const uint64_t mono = mono_usec();
  std::set<uid_t> waiting;
  SpoolOptions o;
  o.stale_after = std::chrono::hours(48);
  if (before_batch) {  // the acks wait for this one: the names the watch just gave, no listing
    o.max_names = o.max_files = 256;
    o.may_list = false;
  }
  o.want = [&](const std::string&, uid_t owner, off_t, time_t) {
    if (rate_.take(owner, mono)) return true;  // one event's token now; the file's others below
    waiting.insert(owner);
    return false;
  };
  auto scan = spool_index_.pass(config_.spool_dir, o, ::time(nullptr));
  for (const auto& w : scan.warnings) spdlog::warn("{}", w);
  std::vector<std::pair<const cronitor::RunEvent*, uid_t>> events;
  std::set<std::string> refused_files;
  for (const auto& f : scan.files) {
    if (f.events.size() > 1) rate_.charge(f.owner, mono, static_cast<double>(f.events.size() - 1));
    // The socket's rule: the owner of the file (the sender) must own the job.
    std::optional<std::string> why;
    for (const auto& e : f.events)
      if (!why) why = handler_->refuse(e, f.owner);
    if (why) {
      spdlog::warn("spool file \"{}\" (uid {}): {}, refusing the file", f.path, f.owner, *why);
      refused_files.insert(f.path);
      continue;
    }
    for (const auto& e : f.events) events.emplace_back(&e, f.owner);
  }
  for (uid_t u : waiting)
    if (spool_waiting_.insert(u).second) spdlog::info("spool: files of uid {} wait for its rate limit", u);
  std::erase_if(spool_waiting_, [&](uid_t u) { return !waiting.contains(u); });
  if (!waiting.empty()) {
    uint64_t wait = UINT64_MAX;
    for (uid_t u : waiting) wait = std::min(wait, rate_.wait_usec(u, mono));
    sd_event_source_set_time(spool_retry_src_, mono + std::max(wait, kSpoolRetryMinUsec));
    sd_event_source_set_enabled(spool_retry_src_, SD_EVENT_ONESHOT);
  }
  if (scan.files.empty()) {
    if (scan.more) sd_event_source_set_enabled(spool_drain_src_, SD_EVENT_ONESHOT);
    return;
  }
  // Late events take their place in time: oldest first (the timestamps sort as text).
  std::stable_sort(events.begin(), events.end(),
                   [](const auto& a, const auto& b) { return a.first->ts < b.first->ts; });
  const Instant t = now();
  if (!store_.begin()) {
    for (const auto& f : scan.files) spool_index_.retry(f);
    return;
  }
  for (const auto& [e, owner] : events)
    if (auto why = ingest(*e, owner, t))  // a key first reported earlier in this batch
      spdlog::warn("spooled {} event of \"{}\" (uid {}): {}, ignoring", to_string(e->state), e->key, owner, *why);
  if (!flush_dirty() || !store_.commit()) {
    const bool full = store_.out_of_space();
    store_.rollback();
    if (!full) spdlog::error("storing spooled events failed; the spool files stay");
    for (const auto& f : scan.files) spool_index_.retry(f);
    on_store_failure(full, 0);
    return;
  }
  on_store_ok();
  size_t removed = 0, empty = 0;
  for (const auto& f : scan.files) {
    if (f.finished || f.drop || refused_files.contains(f.path)) {
      const bool gone = ::unlink(f.path.c_str()) == 0 || errno == ENOENT;
      removed += gone;
      empty += gone && f.empty;
      spool_index_.stored(f, gone);
    } else {
      spool_index_.stored(f, false);  // unfinished: read again once it grows
    }
  }
  if (!events.empty()) spdlog::info("spool: {} events stored, {} files removed", events.size(), removed);
  if (empty > 0) spdlog::info("spool: {} empty files older than a minute removed", empty);
  if (scan.more) sd_event_source_set_enabled(spool_drain_src_, SD_EVENT_ONESHOT);
  rearm_deadline_timer();
  pump_outbox();
  if (deliverer_) deliverer_->kick();
}

int Daemon::on_spool_retry_cb(sd_event_source*, uint64_t, void* ud) {
  static_cast<Daemon*>(ud)->drain_spool();
  return 0;
}

}  // namespace cronitor::agent
