// A stand-in for the agent's socket in tests and benchmarks: accepts connections on a Unix
// socket, reads one event line per connection and acknowledges it, or misbehaves on purpose.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace cronitor::testing {

/// A test agent socket served by one background thread.
class EventServer {
 public:
  enum class Mode {
    kAck,     ///< read the line, reply "ok\n"
    kReject,  ///< read the line, reply "err test rejects\n"
    kHang,    ///< accept and never read nor reply (connections held open until stop)
    kSilent,  ///< never accept (connections wait in the backlog)
  };

  /// Listens on `path` (replacing a stale socket file). Throws std::system_error on failure.
  EventServer(std::string path, Mode mode);
  EventServer(const EventServer&) = delete;
  EventServer& operator=(const EventServer&) = delete;
  /// Stops the thread, closes every connection and removes the socket file.
  ~EventServer();

  /// The lines received so far (without their "\n"), in arrival order.
  std::vector<std::string> lines() const;

  /// Waits until at least n lines have arrived, or the timeout passes; true if they did.
  bool wait_for_lines(size_t n, std::chrono::milliseconds timeout) const;

  /// Number of connections accepted.
  size_t connections() const { return connections_.load(); }

  const std::string& path() const { return path_; }

 private:
  void loop();

  std::string path_;
  Mode mode_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;  // eventfd
  std::atomic<size_t> connections_{0};
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<std::string> lines_;
  std::thread thread_;
};

/// Leaves a socket file at `path` that nobody listens on, so connect() gets ECONNREFUSED.
void make_refusing_socket(const std::string& path);

}  // namespace cronitor::testing
