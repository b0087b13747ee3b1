#include "tests/support/event_server.h"

#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <system_error>

namespace cronitor::testing {
namespace {

constexpr size_t kMaxLine = 64 * 1024;

sockaddr_un address(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof a.sun_path) throw std::system_error(ENAMETOOLONG, std::generic_category(), path);
  std::memcpy(a.sun_path, path.data(), path.size());
  return a;
}

}  // namespace

EventServer::EventServer(std::string path, Mode mode) : path_(std::move(path)), mode_(mode) {
  ::unlink(path_.c_str());
  sockaddr_un a = address(path_);
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::system_error(errno, std::generic_category(), "socket");
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    throw std::system_error(errno, std::generic_category(), "bind " + path_);
  if (::listen(listen_fd_, 64) != 0) throw std::system_error(errno, std::generic_category(), "listen");
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
  thread_ = std::thread([this] { loop(); });
}

EventServer::~EventServer() {
  uint64_t one = 1;
  ssize_t ignored = ::write(stop_fd_, &one, sizeof one);
  (void)ignored;
  thread_.join();
  ::close(listen_fd_);
  ::close(stop_fd_);
  ::unlink(path_.c_str());
}

void EventServer::loop() {
  std::vector<int> held;  // kHang connections
  for (;;) {
    pollfd fds[2] = {{stop_fd_, POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    int n = ::poll(fds, mode_ == Mode::kSilent ? 1 : 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || (fds[0].revents & POLLIN)) break;
    if (!(fds[1].revents & POLLIN)) continue;
    int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    ++connections_;
    if (mode_ == Mode::kHang) {
      held.push_back(c);
      continue;
    }
    // One line per connection, bounded in size and time (a client that stalls is dropped).
    std::string line;
    char buf[4096];
    bool done = false;
    while (!done && line.size() <= kMaxLine) {
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 2000) <= 0) break;
      ssize_t r = ::read(c, buf, sizeof buf);
      if (r <= 0) break;
      line.append(buf, static_cast<size_t>(r));
      done = line.find('\n') != std::string::npos;
    }
    if (done) {
      line.resize(line.find('\n'));
      {
        std::lock_guard lock(mu_);
        lines_.push_back(line);
      }
      cv_.notify_all();
      const char* reply = mode_ == Mode::kAck ? "ok\n" : "err test rejects\n";
      ssize_t ignored = ::send(c, reply, std::strlen(reply), MSG_NOSIGNAL);
      (void)ignored;
    }
    ::close(c);
  }
  for (int c : held) ::close(c);
}

std::vector<std::string> EventServer::lines() const {
  std::lock_guard lock(mu_);
  return lines_;
}

bool EventServer::wait_for_lines(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return lines_.size() >= n; });
}

void make_refusing_socket(const std::string& path) {
  ::unlink(path.c_str());
  sockaddr_un a = address(path);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    int e = errno;
    ::close(fd);
    throw std::system_error(e, std::generic_category(), "bind " + path);
  }
  ::close(fd);  // the file stays; with no listener, connect() is refused
}

}  // namespace cronitor::testing
