#include "wrapper/agent_client.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace cronitor::wrapper {
namespace {

int64_t now_ns() {
  struct timespec ts {};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

// Waits for `events` on fd until the deadline; false on timeout.
bool wait_for(int fd, short events, int64_t deadline_ns) {
  for (;;) {
    int64_t left = deadline_ns - now_ns();
    if (left <= 0) return false;
    struct timespec ts {
      static_cast<time_t>(left / 1000000000), static_cast<long>(left % 1000000000)
    };
    struct pollfd p {
      fd, events, 0
    };
    int r = ::ppoll(&p, 1, &ts, nullptr);
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
  }
}

// connect(); while the agent's listen backlog is full (EAGAIN: a Unix socket has no way to wait
// for room in it), tries again after a short pause that doubles up to 8 ms, until the deadline.
// A client flooding the backlog then delays an honest run instead of turning it away at once.
bool connect_within(int fd, const sockaddr_un& addr, int64_t deadline_ns) {
  int64_t pause_ns = 100000;
  for (;;) {
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) return true;
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return false;
    int64_t left = deadline_ns - now_ns();
    if (left <= 0) return false;
    int64_t nap = std::min(pause_ns, left);
    struct timespec ts {
      0, static_cast<long>(nap)
    };
    ::nanosleep(&ts, nullptr);
    pause_ns = std::min<int64_t>(pause_ns * 2, 8000000);
  }
}

}  // namespace

Result<AgentSend> AgentSend::start(const std::string& socket_path, std::string_view line, long timeout_us) {
  std::string peer = "agent socket \"" + socket_path + "\"";
  int64_t deadline = now_ns() + int64_t{timeout_us} * 1000;
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  if (socket_path.empty() || socket_path.size() >= sizeof addr.sun_path)
    return fail(peer + ": path too long for a Unix socket");
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  int raw = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (raw < 0) return std::unexpected(Error::from_errno("socket", peer));
  AgentSend s(raw, deadline, std::move(peer));
  const std::string& p = s.peer_;
  if (!connect_within(raw, addr, deadline)) {
    if (errno == EAGAIN) return fail(p + ": backlog full until the timeout");
    if (errno != EINPROGRESS) return std::unexpected(Error::from_errno("connect", p));
    if (!wait_for(raw, POLLOUT, deadline)) return fail(p + ": connect timed out");
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(raw, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return std::unexpected(Error::from_errno("connect", p, err));
  }
  size_t sent = 0;
  while (sent < line.size()) {
    ssize_t n = ::send(raw, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      if (!wait_for(raw, POLLOUT, deadline)) return fail(p + ": send timed out");
    } else {
      return std::unexpected(Error::from_errno("send", p));
    }
  }
  return s;
}

Result<void> AgentSend::finish() {
  if (!fd_) return fail(peer_ + ": already finished");
  char reply[256];
  size_t got = 0;
  Result<void> result = fail(peer_ + ": reply too long");
  while (got < sizeof reply) {
    ssize_t n = ::recv(fd_.get(), reply + got, sizeof reply - got, 0);
    if (n > 0) {
      got += static_cast<size_t>(n);
      if (std::memchr(reply, '\n', got) == nullptr) continue;
      std::string_view r(reply, got);
      r = r.substr(0, r.find('\n'));
      if (r == "ok")
        result = {};
      else if (r.starts_with("err")) {
        refused_ = true;
        result = fail(peer_ + " refused the event: " + std::string(r.substr(r.size() > 3 && r[3] == ' ' ? 4 : 3, 200)));
      } else if (r.starts_with("busy"))
        result = fail(peer_ + " is busy: " + std::string(r.substr(r.size() > 4 && r[4] == ' ' ? 5 : 4, 200)));
      else
        result = fail(peer_ + ": unexpected reply");
      break;
    } else if (n == 0) {
      result = fail(peer_ + ": closed without a reply");
      break;
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN) {
      if (!wait_for(fd_.get(), POLLIN, deadline_ns_)) {
        result = fail(peer_ + ": no reply within the timeout");
        break;
      }
    } else {
      result = std::unexpected(Error::from_errno("recv", peer_));
      break;
    }
  }
  fd_.reset();
  return result;
}

Result<void> send_to_agent(const std::string& socket_path, std::string_view line, long timeout_us, bool* refused) {
  if (refused) *refused = false;
  auto s = AgentSend::start(socket_path, line, timeout_us);
  if (!s) return std::unexpected(s.error());
  // The line was just written: an "ok" comes after the agent's commit, so it is seldom there yet.
  // Waiting first spares finish() a read that finds nothing (one of the seven system calls of a
  // synchronous send). A timeout here is finish()'s too: its read then finds no reply.
  (void)wait_for(s->fd(), POLLIN, s->deadline_ns());
  auto r = s->finish();
  if (refused) *refused = s->refused();
  return r;
}

}  // namespace cronitor::wrapper
