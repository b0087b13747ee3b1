// The daemon's inputs: the wrapper socket (SO_PEERCRED, bounded size and rate), the spool
// folder, and the batch commit that makes events durable before they are acknowledged.
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <unordered_set>

#include "agent/daemon.h"
#include "agent/event_adapter.h"
#include "agent/monitor_set.h"
#include "agent/spool_reader.h"

namespace cronitor::agent {
namespace {

constexpr size_t kMaxConns = 4096;
constexpr size_t kBatch = 512;                  // events per commit at most
constexpr uint64_t kConnTimeoutUsec = 2000000;  // a client has 2 s to send its line
constexpr double kUserRate = 200;               // events per second for a non-root uid
constexpr double kUserBurst = 2000;
constexpr size_t kMaxAdhocMonitors = 1000;  // keys reported that no config or discovery knows
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
  char buf[8192];
  while (spool_fd_ >= 0 && ::read(spool_fd_, buf, sizeof buf) > 0) spool_ready_ = true;
  return spool_ready_;
}

int Daemon::on_spool_drain_cb(sd_event_source*, void* ud) {
  static_cast<Daemon*>(ud)->drain_spool();
  return 0;
}

void Daemon::on_accept() {
  for (int n = 0; n < 256; ++n) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    ucred cred{};
    socklen_t len = sizeof cred;
    if (conns_.size() >= kMaxConns || ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
      ::close(fd);  // the wrapper spools instead
      continue;
    }
    auto c = std::make_unique<Conn>();
    c->fd = fd;
    c->uid = cred.uid;
    c->pid = cred.pid;
    c->opened_usec = mono_usec();
    Conn& ref = *c;
    conns_.emplace(fd, std::move(c));
    on_conn_io(ref, EPOLLIN);  // the line is usually there already
    if (conns_.count(fd) && !ref.src && !ref.closing) {
      sd_event_add_io(ev_, &ref.src, fd, EPOLLIN, on_conn_cb, this);
      if (sd_event_source_get_enabled(sweep_src_, nullptr) == 0) {
        sd_event_source_set_time(sweep_src_, ref.opened_usec + kConnTimeoutUsec);
        sd_event_source_set_enabled(sweep_src_, SD_EVENT_ONESHOT);
      }
    }
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
      handle_line(c, line);
      return;
    }
    if (c.in.size() > cronitor::kMaxLineBytes) {
      c.closing = true;
      reply(c, "err line longer than 64 KiB\n");
      return;
    }
  }
}

void Daemon::handle_line(Conn& c, std::string_view line) {
  if (line.starts_with("{\"control\"")) {
    commit_pending();
    reply(c, handle_control(c, line));
    return;
  }
  auto ev = cronitor::decode(line);
  if (!ev) {
    reply(c, "err " + ev.error().message.substr(0, 200) + "\n");
    return;
  }
  if (ev->wrapper_pid) ev->wrapper_pid = c.pid;  // the wrapper is the peer (SO_PEERCRED), whatever it says
  if (c.uid != 0 && ev->uid != static_cast<int64_t>(c.uid)) {
    reply(c, "err uid " + std::to_string(ev->uid) + " does not match the sender's uid " + std::to_string(c.uid) + "\n");
    return;
  }
  if (c.uid != 0) {
    if (auto it = index_.find(ev->key); it != index_.end() && monitors_[it->second].uid >= 0 &&
                                        monitors_[it->second].uid != static_cast<int64_t>(c.uid)) {
      reply(c, "err job \"" + ev->key + "\" does not run as uid " + std::to_string(c.uid) + "\n");
      return;
    }
    if (!allow_rate(c.uid)) {
      reply(c, "err rate limit for uid " + std::to_string(c.uid) + "\n");
      return;
    }
  }
  pending_.push_back(Pending{std::move(*ev), c.fd});
  if (pending_.size() >= kBatch)
    commit_pending();
  else
    sd_event_source_set_enabled(commit_src_, SD_EVENT_ONESHOT);
}

bool Daemon::allow_rate(uid_t uid) {
  const uint64_t t = mono_usec();
  Bucket& b = buckets_[uid];
  if (b.at_usec == 0) b.tokens = kUserBurst;
  b.tokens = std::min(kUserBurst, b.tokens + static_cast<double>(t - b.at_usec) / 1e6 * kUserRate);
  b.at_usec = t;
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
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

void Daemon::close_conn(int fd) {
  auto it = conns_.find(fd);
  if (it == conns_.end()) return;
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

void Daemon::ingest(const cronitor::RunEvent& w, Instant t) {
  if (w.state == RunState::kMetric) {
    if (auto r = store_.record_metrics(w.key, w.run_id, w.metrics, w.host, w.uid, t); !r)
      spdlog::warn("storing metrics of {}: {}", w.key, r.error().message);
    return;
  }
  auto ev = from_wire(w);
  if (!ev) {
    spdlog::warn("event for {}: {}", w.key, ev.error().message);
    return;
  }
  std::map<std::string, double> merged;
  auto stored = store_.record_event(*ev, t, &merged);
  if (!stored) {
    if (!store_.out_of_space()) spdlog::error("storing an event of {}: {}", w.key, stored.error().message);
    return;
  }
  if (!*stored) return;  // seen before (a late ack, then spooled): already evaluated
  ++events_stored_;
  auto it = index_.find(ev->key);
  uint32_t i;
  if (it != index_.end()) {
    i = it->second;
  } else {
    if (adhoc_count_ >= kMaxAdhocMonitors) return;
    MonitorConfig m = monitor_from_defaults(config_.defaults);
    m.key = ev->key;
    m.name = ev->key;
    m.uid = ev->uid;  // the first reporter owns an unknown key
    ++adhoc_count_;
    i = add_monitor(std::move(m), MonitorState{});
  }
  if (ev->state == RunEvent::State::kComplete)
    for (auto& [k, v] : merged) ev->metrics.emplace(k, v);
  auto actions = evaluate(monitors_[i], states_[i], &*ev, host_state_);
  if (!actions.empty()) host_dirty_ = true;
  record_actions(actions, &monitors_[i], t);
  touch(i);
  note_run_event(i, *ev);
}

void Daemon::commit_pending() {
  if (pending_.empty()) return;
  // A wrapper that once missed its ack spools the rest of that run: a run's end may sit in the
  // spool while the next run arrives on the socket. Older events first, so that is no overlap.
  if (take_spool_events()) drain_spool();
  std::vector<Pending> batch;
  batch.swap(pending_);
  const Instant t = now();
  bool ok = static_cast<bool>(store_.begin());
  bool full = false;
  if (ok) {
    for (const auto& p : batch) ingest(p.ev, t);
    ok = flush_dirty() && store_.commit();
    full = !ok && store_.out_of_space();
    if (!ok) store_.rollback();
  }
  if (!ok)
    on_store_failure(full, batch.size());
  else
    on_store_ok();
  for (const auto& p : batch) {
    if (p.conn_fd < 0) continue;
    auto it = conns_.find(p.conn_fd);
    if (it != conns_.end()) reply(*it->second, ok ? "ok\n" : "err storage unavailable\n");
  }
  rearm_deadline_timer();
  if (outbox_dirty_) pump_outbox();
}

// Spooled events are older than those waiting on the socket: they go first (commit_pending
// calls this before its batch).
void Daemon::drain_spool() {
  spool_ready_ = false;
  auto scan = read_spool(config_.spool_dir, kSpoolFilesPerDrain, std::chrono::hours(48));
  for (const auto& w : scan.warnings) spdlog::warn("{}", w);
  if (scan.files.empty()) return;
  std::vector<const cronitor::RunEvent*> events;
  for (const auto& f : scan.files)
    for (const auto& e : f.events) events.push_back(&e);
  // Late events take their place in time: oldest first (the timestamps sort as text).
  std::stable_sort(events.begin(), events.end(),
                   [](const cronitor::RunEvent* a, const cronitor::RunEvent* b) { return a->ts < b->ts; });
  const Instant t = now();
  if (!store_.begin()) return;
  for (const auto* e : events) ingest(*e, t);
  if (!flush_dirty() || !store_.commit()) {
    const bool full = store_.out_of_space();
    store_.rollback();
    if (!full) spdlog::error("storing spooled events failed; the spool files stay");
    on_store_failure(full, 0);
    return;
  }
  on_store_ok();
  size_t removed = 0;
  for (const auto& f : scan.files)
    if (f.finished || f.drop) removed += ::unlink(f.path.c_str()) == 0;
  if (!events.empty()) spdlog::info("spool: {} events stored, {} files removed", events.size(), removed);
  if (scan.more) sd_event_source_set_enabled(spool_drain_src_, SD_EVENT_ONESHOT);
  rearm_deadline_timer();
  pump_outbox();
}

}  // namespace cronitor::agent
