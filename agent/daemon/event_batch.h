// EventBatch: the next transaction's events (the socket's, the cron log's, the timers', the
// process events') and the idle-priority source that commits them once the loop has nothing
// else ready: a burst of events is stored and acknowledged in one transaction, not one each.
// What a commit is stays the daemon's (its `commit` hook takes the batch); the socket's events
// commit at once when the batch is full, so that its acks never wait behind an endless burst.
#pragma once

#include <sys/types.h>
#include <systemd/sd-event.h>

#include <cstddef>
#include <functional>
#include <vector>

#include "agent/control/control_endpoint.h"
#include "common/event.h"
#include "common/event_source.h"

namespace cronitor::agent {

class EventBatch {
 public:
  struct Event {
    cronitor::RunEvent ev;
    ControlEndpoint::ConnId conn_fd = -1;  // -1: not from the socket (no reply)
    uid_t sender = 0;                      // SO_PEERCRED uid, or the spool file's owner
    bool by_process = false;               // a run of the process events (its OOM kill judged by its process tree)
  };
  /// Socket events per commit at most: full() then, and the daemon commits at once.
  static constexpr size_t kMaxEvents = 512;

  /// `commit`: the daemon's; it takes the batch (take()) and stores it.
  explicit EventBatch(std::function<void()> commit) : commit_(std::move(commit)) {}
  EventBatch(const EventBatch&) = delete;
  EventBatch& operator=(const EventBatch&) = delete;

  /// The commit source on `ev`: idle priority, off until schedule().
  void attach(sd_event* ev);
  /// Appends an event; schedule() (or a commit) follows.
  void push(Event e) { events_.push_back(std::move(e)); }
  /// The commit runs once the loop has nothing else ready (once, however many events came).
  void schedule();
  bool empty() const { return events_.empty(); }
  bool full() const { return events_.size() >= kMaxEvents; }
  /// The batch, for the commit: this one is empty after.
  std::vector<Event> take();
  /// The events waiting (the backfill takes the cron log's; a wrapper's report is looked up).
  std::vector<Event>& events() { return events_; }
  const std::vector<Event>& events() const { return events_; }

 private:
  static int on_commit_cb(sd_event_source*, void*);

  std::function<void()> commit_;
  std::vector<Event> events_;
  EventSource commit_src_;  // defer, idle priority, oneshot
};

}  // namespace cronitor::agent
