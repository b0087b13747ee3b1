// The spool folder on the daemon's loop: watched with inotify (the events name the files to look
// at again), read in bounded passes by a SpoolIndex (spool_reader.h), each file judged whole
// against its owner's rate budget and the owner rule, and its events handed to the daemon to store
// in one transaction; the files are removed once stored. A pass that leaves work runs again from
// an idle-priority source, so the loop answers the socket in between; a uid out of budget has its
// files looked at again once it has tokens.
#pragma once

#include <sys/types.h>
#include <systemd/sd-event.h>

#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>

#include "agent/sources/spool_reader.h"
#include "common/event.h"
#include "common/event_source.h"
#include "common/unique_fd.h"

namespace cronitor::agent {

class SpoolIntake {
 public:
  /// An event of a spool file and the file's owner (its sender).
  using Spooled = std::pair<const cronitor::RunEvent*, uid_t>;

  /// What the daemon decides and does: the per-uid budget (shared with the socket), the owner
  /// rule, and storing.
  class Handler {
   public:
    virtual ~Handler() = default;
    /// Takes one token of `owner`'s budget at `mono_usec`; false: its files wait, unread.
    virtual bool spool_take(uid_t owner, uint64_t mono_usec) = 0;
    /// Charges `n` more events of a file admitted whole.
    virtual void spool_charge(uid_t owner, uint64_t mono_usec, double n) = 0;
    /// Microseconds until `owner` has a token again.
    virtual uint64_t spool_wait_usec(uid_t owner, uint64_t mono_usec) = 0;
    /// Why `owner` may not report `ev` (the socket's rule), or nullopt.
    virtual std::optional<std::string> spool_refuse(const cronitor::RunEvent& ev, uid_t owner) = 0;
    /// Stores `events` (oldest first) in one transaction; false: nothing stored, the files stay
    /// and are read again.
    virtual bool spool_store(std::span<const Spooled> events) = 0;
    /// After a stored pass removed its files.
    virtual void spool_stored() = 0;
  };

  SpoolIntake(std::string dir, Handler& handler) : dir_(std::move(dir)), handler_(handler) {}
  SpoolIntake(const SpoolIntake&) = delete;
  SpoolIntake& operator=(const SpoolIntake&) = delete;

  /// Watches the folder on `ev`. When it cannot, says so in the log: the spool is then drained at
  /// start and on SIGHUP only.
  void attach(sd_event* ev);
  /// Reads the watch's events (the names to look at); true when a drain is due.
  bool take_events();
  /// One bounded pass; `before_batch`: a short one (the names the watch gave, no listing), ahead
  /// of a socket batch whose acks wait for it.
  void drain(bool before_batch = false);
  /// Every name is looked at again at the next pass (SIGHUP: a way out of anything the watch missed).
  void relist() { index_.relist(); }
  /// A drain soon, from the idle source (state.db can store again).
  void wake();

 private:
  static int on_watch_cb(sd_event_source*, int, uint32_t, void*);
  static int on_drain_cb(sd_event_source*, void*);
  static int on_retry_cb(sd_event_source*, uint64_t, void*);

  std::string dir_;
  Handler& handler_;
  sd_event* ev_ = nullptr;
  UniqueFd fd_;              // inotify on dir_
  EventSource watch_src_;    // fd_ readable
  EventSource drain_src_;    // idle priority: the next pass
  EventSource retry_src_;    // drains again once the uids waiting have tokens
  bool ready_ = false;       // the spool changed since the last drain
  SpoolIndex index_;         // names to look at, files read, odd entries warned about
  std::set<uid_t> waiting_;  // uids whose files wait for the rate limit (said once)
};

}  // namespace cronitor::agent
