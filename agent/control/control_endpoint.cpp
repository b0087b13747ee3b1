#include "agent/control/control_endpoint.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace cronitor::agent {
namespace {

// The connection table's size: 4 x the per-uid cap, within the descriptor limit.
size_t table_size(size_t per_uid) {
  struct rlimit rl {};
  size_t limit = ::getrlimit(RLIMIT_NOFILE, &rl) == 0 ? static_cast<size_t>(rl.rlim_cur) : 1024;
  return std::clamp<size_t>(limit > 256 ? limit - 256 : 64, 64, 4 * per_uid);
}

}  // namespace

ControlEndpoint::ControlEndpoint(sd_event* ev, std::string path, Handler& handler, Options options)
    : ev_(ev), path_(std::move(path)), handler_(handler), options_(options) {
  if (options_.max_conns == 0) options_.max_conns = table_size(options_.max_waiting_per_uid);
}

Result<std::unique_ptr<ControlEndpoint>> ControlEndpoint::listen(sd_event* ev, std::string path, Handler& handler,
                                                                 Options options) {
  std::unique_ptr<ControlEndpoint> e(new ControlEndpoint(ev, std::move(path), handler, options));
  if (auto r = e->bind_and_listen(); !r) return std::unexpected(r.error());
  sd_event_source* s = nullptr;
  sd_event_add_io(ev, &s, e->listen_fd_.get(), EPOLLIN, on_listen_cb, e.get());
  e->listen_src_.reset(s);
  e->reserve_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  s = nullptr;
  sd_event_add_time(ev, &s, CLOCK_MONOTONIC, UINT64_MAX, 100000, on_sweep_cb, e.get());
  e->sweep_src_.reset(s);
  sd_event_source_set_enabled(s, SD_EVENT_OFF);
  return e;
}

Result<void> ControlEndpoint::bind_and_listen() {
  if (path_.size() >= sizeof(sockaddr_un::sun_path)) return fail("socket path \"" + path_ + "\" is too long");
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path_).parent_path(), ec);
  listen_fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!listen_fd_) return std::unexpected(Error::from_errno("socket", path_));
  ::unlink(path_.c_str());  // a stale socket of a previous run
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path_.c_str(), path_.size());
  if (::bind(listen_fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return std::unexpected(Error::from_errno("bind", path_));
  ::chmod(path_.c_str(), 0666);  // every user's jobs report here; SO_PEERCRED tells them apart
  if (::listen(listen_fd_.get(), 1024) != 0) return std::unexpected(Error::from_errno("listen", path_));
  return {};
}

ControlEndpoint::~ControlEndpoint() {
  conns_.clear();  // each closes its descriptor and drops its source
  listen_src_.reset();
  sweep_src_.reset();
  if (listen_fd_) {
    listen_fd_.reset();
    ::unlink(path_.c_str());
  }
}

int ControlEndpoint::on_listen_cb(sd_event_source*, int, uint32_t, void* ud) {
  static_cast<ControlEndpoint*>(ud)->on_accept();
  return 0;
}

int ControlEndpoint::on_conn_cb(sd_event_source*, int fd, uint32_t revents, void* ud) {
  auto* e = static_cast<ControlEndpoint*>(ud);
  auto it = e->conns_.find(fd);
  if (it != e->conns_.end()) e->on_io(*it->second, revents);
  return 0;
}

int ControlEndpoint::on_sweep_cb(sd_event_source*, uint64_t, void* ud) {
  static_cast<ControlEndpoint*>(ud)->sweep();
  return 0;
}

void ControlEndpoint::on_accept() {
  for (int n = 0; n < 256; ++n) {
    int fd = ::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0 && (errno == EMFILE || errno == ENFILE) && reserve_fd_) {
      // Out of descriptors: the backlog would stay full and starve everyone. Free the reserve to
      // take one connection off the backlog and close it (its wrapper spools).
      reserve_fd_.reset();
      // Closed at once (its wrapper spools), so that the reserve can be opened again.
      (void)UniqueFd(::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      reserve_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
      continue;
    }
    if (fd < 0) return;
    accept_one(UniqueFd(fd));
  }
}

void ControlEndpoint::accept_one(UniqueFd conn) {
  const int fd = conn.get();
  ucred cred{};
  socklen_t len = sizeof cred;
  if (conns_.size() >= options_.max_conns || ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
    return;  // closed: the wrapper spools instead
  auto c = std::make_unique<Conn>();
  c->fd = std::move(conn);
  c->uid = cred.uid;
  c->pid = cred.pid;
  const uint64_t spread = options_.read_timeout_spread_usec;
  c->opened_usec = loop_mono_usec(ev_) - (spread ? (++seq_ * 2654435761u) % spread : 0);
  Conn& ref = *c;
  conns_.emplace(fd, std::move(c));
  on_io(ref, EPOLLIN);  // the line is usually there already
  if (!conns_.count(fd) || ref.src || ref.closing) return;
  // Still waiting for its line: it holds a descriptor. Each uid may hold only a few of those,
  // so that one user's idle connections cannot take everyone's.
  size_t& waiting = waiting_of_uid_[ref.uid];
  if (ref.uid != 0 && waiting >= options_.max_waiting_per_uid) {
    ::send(fd, "busy too many connections\n", 26, MSG_NOSIGNAL | MSG_DONTWAIT);
    close_conn(fd);
    return;
  }
  ++waiting;
  ref.counted = true;
  sd_event_source* s = nullptr;
  sd_event_add_io(ev_, &s, fd, EPOLLIN, on_conn_cb, this);
  ref.src.reset(s);
  if (sd_event_source_get_enabled(sweep_src_.get(), nullptr) == 0) {
    sd_event_source_set_time(sweep_src_.get(), ref.opened_usec + options_.read_timeout_usec);
    sd_event_source_set_enabled(sweep_src_.get(), SD_EVENT_ONESHOT);
  }
}

void ControlEndpoint::on_io(Conn& c, uint32_t revents) {
  if (revents & EPOLLOUT) {
    send_reply(c, "");
    return;
  }
  if (c.closing) return;
  char buf[16384];
  while (true) {
    ssize_t n = ::read(c.fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      close_conn(c.fd.get());  // closed before a whole line
      return;
    }
    size_t before = c.in.size();
    c.in.append(buf, static_cast<size_t>(n));
    auto nl = c.in.find('\n', before);
    if (nl != std::string::npos) {
      std::string line = c.in.substr(0, nl + 1);
      if (c.src) sd_event_source_set_enabled(c.src.get(), SD_EVENT_OFF);
      c.closing = true;
      c.awaiting = true;
      uncount(c);
      const ConnId id = c.fd.get();
      auto text = handler_.on_line(id, Peer{c.uid, c.pid}, line);
      // The handler may have replied (and closed) meanwhile: look the connection up again.
      if (auto it = conns_.find(id); text && it != conns_.end()) {
        it->second->awaiting = false;
        send_reply(*it->second, std::move(*text));
      }
      return;
    }
    if (c.in.size() > cronitor::kMaxLineBytes) {
      c.closing = true;
      uncount(c);
      send_reply(c, "err line longer than 64 KiB\n");
      return;
    }
  }
}

void ControlEndpoint::reply(ConnId conn, std::string text) {
  auto it = conns_.find(conn);
  if (it == conns_.end()) return;
  it->second->awaiting = false;
  send_reply(*it->second, std::move(text));
}

void ControlEndpoint::send_reply(Conn& c, std::string text) {
  c.closing = true;
  c.out += text;
  while (!c.out.empty()) {
    ssize_t n = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!c.src) {
        sd_event_source* s = nullptr;
        sd_event_add_io(ev_, &s, c.fd.get(), EPOLLOUT, on_conn_cb, this);
        c.src.reset(s);
      } else {
        sd_event_source_set_io_events(c.src.get(), EPOLLOUT);
        sd_event_source_set_enabled(c.src.get(), SD_EVENT_ON);
      }
      return;
    }
    if (n <= 0) break;
    c.out.erase(0, static_cast<size_t>(n));
  }
  close_conn(c.fd.get());
}

void ControlEndpoint::uncount(Conn& c) {
  if (!c.counted) return;
  c.counted = false;
  auto it = waiting_of_uid_.find(c.uid);
  if (it != waiting_of_uid_.end() && --it->second == 0) waiting_of_uid_.erase(it);
}

void ControlEndpoint::close_conn(ConnId fd) {
  auto it = conns_.find(fd);
  if (it == conns_.end()) return;
  uncount(*it->second);
  conns_.erase(it);  // its source first (declared after the descriptor), then the descriptor
}

void ControlEndpoint::sweep() {
  const uint64_t t = loop_mono_usec(ev_);
  std::vector<ConnId> old;
  uint64_t oldest = UINT64_MAX;
  for (auto& [fd, c] : conns_) {
    if (c->awaiting) continue;  // its event awaits its commit
    if (t - c->opened_usec >= options_.read_timeout_usec)
      old.push_back(fd);
    else
      oldest = std::min(oldest, c->opened_usec);
  }
  for (ConnId fd : old) close_conn(fd);
  if (oldest != UINT64_MAX) {
    sd_event_source_set_time(sweep_src_.get(), oldest + options_.read_timeout_usec);
    sd_event_source_set_enabled(sweep_src_.get(), SD_EVENT_ONESHOT);
  }
}

}  // namespace cronitor::agent
