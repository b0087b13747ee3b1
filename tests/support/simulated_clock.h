// A test's hand on the daemon's simulated clock (agent/daemon/clock.h): the agent started with
// `run --simulated-clock=START` (AgentProcess::start's extra arguments) moves forward when root
// sends {"control":"advance","by_us":N} on its socket, firing on the way what falls due.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace cronitor::testing {

/// The argument of `run` that starts the agent's clock at `start` (default: the real now).
inline std::string simulated_clock_arg(std::chrono::sys_time<std::chrono::microseconds> start = {}) {
  return "--simulated-clock=" + std::to_string(start.time_since_epoch().count());
}

/// One control line to the agent at `socket` and its one-line JSON reply (null: no answer).
inline nlohmann::json control(const std::string& socket, const nlohmann::json& request) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, socket.c_str(), sizeof a.sun_path - 1);
  timeval tv{30, 0};  // an advance over days of minutely deadlines takes a while
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string reply;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string line = request.dump() + "\n";
    if (::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size())) {
      char buf[4096];
      ssize_t n;
      while (reply.find('\n') == std::string::npos && (n = ::read(fd, buf, sizeof buf)) > 0)
        reply.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return nlohmann::json::parse(reply, nullptr, false, true);
}

/// Moves the agent's simulated clock forward by `by` (the "advance" request); its new now (µs
/// since 1970), or -1.
inline int64_t move_clock(const std::string& socket, std::chrono::microseconds by) {
  auto r = control(socket, {{"control", "advance"}, {"by_us", by.count()}});
  return r.is_object() && r.value("ok", false) ? r.value("now_us", int64_t{-1}) : -1;
}

/// Moves the agent's simulated clock forward `step` at a time until `done` holds, for `limit` of
/// simulated time at most: how far it moved by then (zero: held at once), or nullopt if it never
/// held. For the agent's own delays (the cron daemon's 10-s confirmation, its looks while cron is
/// down): each step fires what falls due in it before its reply, so `done` is checked at once.
inline std::optional<std::chrono::microseconds> advance_until(
    const std::string& socket, const std::function<bool()>& done, std::chrono::microseconds limit,
    std::chrono::microseconds step = std::chrono::seconds(1)) {
  std::chrono::microseconds moved{0};
  for (;;) {
    if (done()) return moved;
    if (moved >= limit || move_clock(socket, step) < 0) return std::nullopt;
    moved += step;
  }
}

}  // namespace cronitor::testing
