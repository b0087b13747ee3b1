// /dev/log bound by the test, every datagram appended to a file as one line: no syslog daemon runs
// on these hosts and Debian's cron logs only through syslog(3). Owning /dev/log is owning a shared
// component: run such tests under `flock /work/.locks/cron`.
#pragma once

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

namespace cronitor::testing {

class SyslogSink {
 public:
  SyslogSink() = default;
  SyslogSink(const SyslogSink&) = delete;
  SyslogSink& operator=(const SyslogSink&) = delete;
  bool start(const std::string& file) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strcpy(a.sun_path, "/dev/log");
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return false;
    bound_ = true;
    ::chmod("/dev/log", 0666);
    timeval tv{0, 100000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    out_.open(file, std::ios::app);
    thread_ = std::thread([this] {
      char buf[8192];
      while (!stop_) {
        const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) continue;
        std::string line(buf, static_cast<size_t>(n));
        while (!line.empty() && line.back() == '\n') line.pop_back();
        out_ << line << "\n" << std::flush;
      }
    });
    return true;
  }
  ~SyslogSink() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
    if (bound_) ::unlink("/dev/log");
  }

 private:
  int fd_ = -1;
  bool bound_ = false;
  std::ofstream out_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace cronitor::testing
