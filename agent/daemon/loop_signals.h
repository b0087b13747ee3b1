// LoopSignals: SIGTERM, SIGINT and SIGHUP on the daemon's loop, through signalfd (block() keeps
// them from the threads, from the start on). SIGHUP is the daemon's `reload` hook; SIGTERM and
// SIGINT are said in the log, handed to the `stopping` hook (a SIGTERM may be the system's
// shutdown) and end the loop with exit code 0.
#pragma once

#include <systemd/sd-event.h>

#include <functional>
#include <vector>

#include "common/event_source.h"

struct signalfd_siginfo;

namespace cronitor::agent {

class LoopSignals {
 public:
  struct Hooks {
    /// SIGHUP: the config read again, the spool listed again.
    std::function<void()> reload;
    /// SIGTERM (`sigterm`) or SIGINT, before the loop ends.
    std::function<void(bool sigterm)> stopping;
  };

  explicit LoopSignals(Hooks hooks) : hooks_(std::move(hooks)) {}
  LoopSignals(const LoopSignals&) = delete;
  LoopSignals& operator=(const LoopSignals&) = delete;

  /// Blocks the three signals in this thread, so that every thread made from here on inherits
  /// the mask and a SIGTERM during a long start waits for the loop.
  static void block();
  /// Takes them on `ev` (after block()).
  void attach(sd_event* ev);

 private:
  static int on_signal_cb(sd_event_source*, const signalfd_siginfo*, void*);

  Hooks hooks_;
  sd_event* ev_ = nullptr;
  std::vector<EventSource> srcs_;  // one per signal
};

}  // namespace cronitor::agent
