// DiskFullWatch: state.db on a full disk. It owns what the daemon knows of it (full since when, how
// many transactions failed meanwhile) and the retry timer: the first failure for lack of space is
// said once (log and sd_notify status; `status` shows since() and failures()), then every few
// seconds it looks at the free space and, once there is room, proves it with a real write before
// it says "disk space is back" and lets the daemon read the spool. What a write is, and what the
// daemon does when space is back, are its hooks: the part holds no reference to the daemon.
#pragma once

#include <systemd/sd-event.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "agent/eval/monitor.h"
#include "common/event_source.h"

namespace cronitor::agent {

class DiskFullWatch {
 public:
  enum class Write { kOk, kFull, kFailed };
  struct Hooks {
    std::function<Instant()> now;
    /// Whether the disk under the state folder has room for a write (default: statvfs).
    std::function<bool()> has_room;
    /// A real write in a transaction of its own; on failure rolled back and the state read back.
    std::function<Write()> prove_write;
    /// Space is back: the spool is read, deadlines that fell due are evaluated, status updated.
    std::function<void()> space_back;
    /// A retry's write proved the space (after space_back): what waits is sent.
    std::function<void()> retried;
  };
  static constexpr uint64_t kRetryUsec = 5'000'000;

  /// `dir`: the state folder (named in the log; its free space is looked at), read when used: the
  /// daemon makes its parts before it reads the config.
  DiskFullWatch(const std::string& dir, Hooks hooks);
  DiskFullWatch(const DiskFullWatch&) = delete;
  DiskFullWatch& operator=(const DiskFullWatch&) = delete;

  /// The retry timer on `ev` (off until the disk is full).
  void attach(sd_event* ev);
  /// A transaction failed for lack of space: counted; the first one is said and retried.
  void failed();
  /// A transaction committed: if the disk was full and has room again, space is back.
  void ok();
  /// One retry (the timer's; tests call it): true when the space is back.
  bool retry();

  std::optional<Instant> since() const { return since_; }
  uint64_t failures() const { return failures_; }
  /// The retry timer is armed (attached, and the disk full).
  bool retry_armed() const;

  /// Free bytes under `dir` are at least what a retry needs (true when it cannot tell).
  static bool has_room(const std::string& dir);

 private:
  void space_is_back();
  static int on_retry_cb(sd_event_source*, uint64_t, void*);

  const std::string& dir_;
  Hooks hooks_;
  sd_event* ev_ = nullptr;
  std::optional<Instant> since_;  // state.db's disk is full since then
  uint64_t failures_ = 0;         // transactions that failed meanwhile
  EventSource retry_;             // while full: looks for space every kRetryUsec
};

}  // namespace cronitor::agent
