// OomWatch: OOM kills from the kernel's log, attributed to the run whose process group (or, for a
// run the process events saw, whose process tree) held the victim. It owns the open /dev/kmsg,
// the kills read from it (OomKillLog) and its event source, read ahead of the socket and the
// spool so that a victim's process group is read while it still exists. Without a readable log
// the wrapper's memory cgroup counter (the event's hint) stands.
#pragma once

#include <systemd/sd-event.h>

#include <functional>
#include <memory>
#include <string>

#include "agent/eval/run_event.h"
#include "agent/sources/kmsg_reader.h"
#include "agent/sources/oom_kill_log.h"
#include "agent/sources/run_source.h"
#include "common/event_source.h"

namespace cronitor::agent {

class OomWatch final : public RunSource {
 public:
  /// `now`: the daemon's wall clock; the /proc readers are faked in tests.
  explicit OomWatch(std::function<Instant()> now, OomKillLog::PgidOf pgid_of = process_group_of,
                    OomKillLog::AncestorsOf ancestors = ancestors_of);
  OomWatch(const OomWatch&) = delete;
  OomWatch& operator=(const OomWatch&) = delete;

  /// The kernel's log: CRONITOR_KMSG names another file (tests), or "off"; else /dev/kmsg.
  static std::string default_path();
  /// Reads `path` from its end on, watched on `ev` (null: read when a run ends only). Says in
  /// the log what it does; "off" does nothing.
  void start(sd_event* ev, const std::string& path);
  /// As a run source (run_source.h): the kernel's log at default_path(), on the core's loop.
  void attach(const SourceEnv& env) override { start(env.ev, default_path()); }
  /// Whether the kernel's log is read.
  bool live() const { return log_ != nullptr; }
  /// Reads the records printed since the last read.
  void read();
  /// A failed run killed by SIGKILL (or a shell's 137): whether the OOM killer killed it, from
  /// the kills read (the log is read first: the kernel printed the kill before the process
  /// died). `by_process`: a run of the process events, judged by its process tree.
  void attribute(RunEvent& ev, bool by_process = false);

 private:
  static int on_kmsg_cb(sd_event_source*, int, uint32_t, void*);

  std::function<Instant()> now_;
  OomKillLog::PgidOf pgid_of_;
  OomKillLog::AncestorsOf ancestors_of_;
  std::unique_ptr<KmsgReader> kmsg_;  // null: the log is unreadable; the wrapper's hint stands
  std::unique_ptr<OomKillLog> log_;
  EventSource src_;
};

}  // namespace cronitor::agent
