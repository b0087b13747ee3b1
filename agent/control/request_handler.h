// One line from the agent socket, judged: a control request (status, history, pause, resume)
// or a run event, type-checked, checked against the sender's uid (SO_PEERCRED), the job's owner
// and the sender's rate. No event loop and no state.db here, so tests and the fuzzer drive it
// directly; the daemon carries out what it returns.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "agent/control/rate_limiter.h"
#include "common/event.h"

namespace cronitor::agent {

/// Who sent a line: the peer of a connection (SO_PEERCRED), or the owner of a spool file.
struct Peer {
  uid_t uid = 0;
  pid_t pid = 0;
};

/// The owner rule of every path: root may report any job; anyone else only a job whose owner is
/// their uid. `owner` -1 means root alone (a user that does not resolve).
inline bool may_report(int64_t owner, uid_t sender) { return sender == 0 || owner == static_cast<int64_t>(sender); }

/// A snooze's reason is cut to this many bytes.
inline constexpr size_t kMaxReasonBytes = 200;

/// What to do with a line.
struct Request {
  enum class Kind {
    kReply,    ///< send `reply` and close: an error, or nothing else to do
    kEvent,    ///< store `event`; the reply ("ok\n") follows its commit
    kStatus,   ///< the monitors `sees_all` or those of the peer's uid
    kHistory,  ///< runs of `key`, at most `limit`
    kPause,    ///< pause `key` until `until_us` (none: until resumed)
    kResume,
    kSnooze,   ///< silence every alert of the host until `until_us` with `reason` (none: end the snooze)
    kAdvance,  ///< tests only: move the simulated clock forward by `by_us` (agent/daemon/clock.h)
  };
  Kind kind = Kind::kReply;
  std::string reply;
  cronitor::RunEvent event;
  std::string key;
  int limit = 20;
  std::optional<int64_t> until_us;
  std::string reason;  // snooze: why, for status and the end notice (at most kMaxReasonBytes)
  bool sees_all = false;
  int64_t by_us = 0;  // advance: how far
};

class RequestHandler {
 public:
  /// The owner uid of a key: nullopt when no job has that key yet (its first reporter will own
  /// it), -1 for root alone.
  using OwnerOf = std::function<std::optional<int64_t>(std::string_view key)>;

  /// `admin_uid`: besides root, the uid that sees and controls every job (the agent's own).
  RequestHandler(OwnerOf owner_of, RateLimiter& rate, uid_t admin_uid)
      : owner_of_(std::move(owner_of)), rate_(rate), admin_uid_(admin_uid) {}

  /// Judges one line (with or without its "\n") from `peer` at `mono_usec` (CLOCK_MONOTONIC,
  /// for the rate limit). Never throws on any input.
  [[nodiscard]] Request handle(std::string_view line, const Peer& peer, uint64_t mono_usec);

  /// The owner rule alone, for events that arrive another way (the spool): an error for the log
  /// and the refusal, or nullopt when `sender` may report `event`.
  [[nodiscard]] std::optional<std::string> refuse(const cronitor::RunEvent& event, uid_t sender) const;

  /// True for a control line ({"control": ...}), false for what should be a run event.
  static bool is_control(std::string_view line);

  /// The one-line JSON error reply of a control request.
  static std::string control_error(std::string_view why);

  /// Tests only: the daemon runs on a simulated clock, and root (uid 0, not the admin uid) may
  /// send {"control":"advance","by_us":N}. Without this call the request does not exist.
  void accept_clock_advance() { clock_advance_ = true; }

 private:
  Request control(std::string_view line, const Peer& peer);
  Request snooze(const nlohmann::json& req, bool admin);
  Request event(std::string_view line, const Peer& peer, uint64_t mono_usec);

  OwnerOf owner_of_;
  RateLimiter& rate_;
  uid_t admin_uid_;
  bool clock_advance_ = false;
};

}  // namespace cronitor::agent
