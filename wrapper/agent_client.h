// Client side of the agent socket protocol (common/event.h): one connection, one event line,
// an "ok\n" reply, all within a few milliseconds or not at all.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.h"
#include "common/unique_fd.h"

namespace cronitor::wrapper {

/// One event on its way to the agent: started (connected, line written), then finished (reply
/// read). Between the two the caller may do other work, e.g. pass the job's output through.
class AgentSend {
 public:
  AgentSend(const AgentSend&) = delete;
  AgentSend& operator=(const AgentSend&) = delete;
  AgentSend(AgentSend&& o) noexcept = default;

  /// Connects to `socket_path` and writes `line`, within `timeout_us` from now.
  static Result<AgentSend> start(const std::string& socket_path, std::string_view line, long timeout_us);

  /// Waits (until the deadline set by start) for the agent's reply; ok only for "ok\n".
  Result<void> finish();

  /// After a failed finish(): the agent answered "err", a refusal for good (the event is not the
  /// sender's to report, or not valid). Spooling it would only be refused again. A "busy" reply
  /// (rate limit, storage) or no reply is not a refusal.
  bool refused() const { return refused_; }

  /// The socket, readable when the reply is there (for an outside poll loop).
  int fd() const { return fd_.get(); }

  /// The deadline, CLOCK_MONOTONIC nanoseconds.
  int64_t deadline_ns() const { return deadline_ns_; }

 private:
  AgentSend(int fd, int64_t deadline, std::string peer) : fd_(fd), deadline_ns_(deadline), peer_(std::move(peer)) {}
  UniqueFd fd_;
  int64_t deadline_ns_;
  std::string peer_;
  bool refused_ = false;
};

/// Both steps at once; `refused` (when given) tells an "err" reply from other failures.
Result<void> send_to_agent(const std::string& socket_path, std::string_view line, long timeout_us,
                           bool* refused = nullptr);

}  // namespace cronitor::wrapper
