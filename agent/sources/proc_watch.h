// The process events source on the daemon's loop (issue 21): the kernel's connector
// (agent/sources/proc_events.h) read in batches, cron's trees followed (process_tracker.h), each
// exec named by the discovered jobs (proc_job_matcher.h), and each run handed to the daemon as the
// wrapper's `run` and `complete`/`fail` events (or "outcome unknown" when events were lost).
// A wrapped line's run is the wrapper's to report: this source records it only when the wrapper
// reported nothing (a deleted wrapper: exit 127).
#pragma once

#include <systemd/sd-event.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/sources/loss_report.h"
#include "agent/sources/proc_events.h"
#include "agent/sources/proc_job_matcher.h"
#include "agent/sources/proc_log_join.h"
#include "agent/sources/process_tracker.h"
#include "common/event.h"
#include "common/event_source.h"

namespace cronitor::agent {

class ProcWatch {
 public:
  /// What the daemon does with what this source sees.
  class Handler {
   public:
    virtual ~Handler() = default;
    /// Run events to ingest as root's (the agent's own), in order.
    virtual void proc_runs(std::vector<cronitor::RunEvent> events) = 0;
    /// Whether the wrapper of `key` reported a run that started at or after `since`.
    virtual bool wrapper_reported(const std::string& key, Instant since) const = 0;
    /// The kernel dropped events between `from` (the read before) and `to` (now): a run may have
    /// started and ended unseen in between (agent/eval/unobserved_slot.h).
    virtual void events_lost(Instant /*from*/, Instant /*to*/) {}
  };
  struct Options {
    uint64_t batch_usec = 5000;            // a wake-up reads what came in this long after it (ENOBUFS aside)
    uint64_t wrapper_wait_usec = 2000000;  // a wrapped line's end waits this long for its wrapper's report
    ProcConnector::Options connector;
  };

  /// Opens the connector; on failure the source is off (live() false, why_not() says why), said
  /// once in the log by the caller, and the agent keeps its other sources.
  ProcWatch(std::string host, Handler& handler, Options options);
  ProcWatch(std::string host, Handler& handler) : ProcWatch(std::move(host), handler, Options{}) {}
  ~ProcWatch();
  ProcWatch(const ProcWatch&) = delete;
  ProcWatch& operator=(const ProcWatch&) = delete;

  bool live() const { return connector_.has_value(); }
  const std::string& why_not() const { return why_not_; }
  /// Puts the connector on `ev` (no-op when not live).
  [[nodiscard]] Result<void> attach(sd_event* ev);

  /// The trusted roots: the cron daemon discovery trusts (0: none now), and the anacron processes
  /// running now (agent/sources/anacron_roots.h; one started later by PID 1 is found at its exec).
  void set_cron(pid_t pid);
  /// The discovered jobs: what each exec in cron's trees is matched against.
  void set_jobs(std::span<const DiscoveredJob> jobs) { matcher_.set_jobs(jobs); }
  void update_jobs(std::span<const DiscoveredJob> jobs, std::span<const std::string> removed) {
    matcher_.update(jobs, removed);
  }
  void set_due(ProcJobMatcher::Due due) { matcher_.set_due(std::move(due)); }

  /// cron's log line `CRON[...]: (user) CMD (command)` of the job shell `pid`, logged at `unix_ms`:
  /// names a run the process events saw without its command (gone before /proc was read), or,
  /// when they saw no run of that pid, records one with its outcome unknown (agent/sources/proc_log_join.h).
  void cron_cmd(pid_t pid, std::string_view user, std::string_view command, int64_t unix_ms);

  /// Reads and handles what the connector holds now (the loop calls it; tests may too).
  void step();

  struct Stats {
    uint64_t wakeups = 0, events = 0, runs = 0, losses = 0, foreign = 0, malformed = 0;
    uint64_t named_from_log = 0;  // runs gone before their command was read, named by cron's CMD line
    uint64_t from_log = 0;        // cron's CMD lines with no process events run: outcome unknown
    uint64_t unnamed = 0;         // runs gone before their command was read that no CMD line named
    // Idle it does not wake (issue 21): a wake-up is a read of what the kernel queued (a batch 5 ms
    // after the socket became readable), or one of the timers below, each for something pending.
    uint64_t timer_wakeups = 0;  // the held timer (a wrapped line's end, a join's wait) or a re-read after a loss
    uint64_t idle_wakeups = 0;   // wake-ups that found no event to read and nothing due (should stay 0)
  };
  const Stats& stats() const { return stats_; }
  const ProcessTracker::Counters& counters() const { return tracker_.counters(); }
  size_t followed() const { return tracker_.followed(); }
  pid_t cron() const { return cron_; }
  /// Whether a timer would wake this source with no event to read: a wrapped line's end held for
  /// its wrapper's report, a nameless run or a CMD line waiting for the other, a read of /proc
  /// again after a loss. False when nothing is pending: then only the kernel's events wake it.
  bool timers_armed() const;
  /// `process_events` of `status --json`: live or why not, the cron followed, the counters.
  nlohmann::json status_json() const;

 private:
  struct Held {  // a wrapped line's run, waiting for its wrapper's report
    ProcRun start, end;
    uint64_t due_usec = 0;
  };
  void handle(std::vector<ProcRun> runs);
  void settle_loss();
  bool adopt_lost_forks(int64_t began_ns);  // false: not yet (one read of /proc per 100 ms)
  void check_held(uint64_t now_usec);
  std::vector<ProcRun> settle_join(int64_t now_ms);
  void arm_held(uint64_t now_usec);
  cronitor::RunEvent event(const ProcRun& r, const std::string& run_id, bool end) const;
  void arm(sd_event_source* s, uint64_t usec);
  static int on_io(sd_event_source*, int, uint32_t, void*);
  static int on_batch(sd_event_source*, uint64_t, void*);
  static int on_held(sd_event_source*, uint64_t, void*);

  std::string host_;
  Handler& handler_;
  Options options_;
  std::optional<ProcConnector> connector_;
  std::string why_not_;
  ProcJobMatcher matcher_;
  ProcessTracker tracker_;
  pid_t cron_ = 0;
  std::vector<pid_t> anacron_;
  sd_event* ev_ = nullptr;
  EventSource io_src_;  // after connector_: released before the socket it watches closes
  EventSource batch_src_;
  EventSource held_src_;
  std::map<std::pair<pid_t, int64_t>, std::string> run_ids_;  // open runs: (pid, start) -> run id
  std::map<std::pair<pid_t, int64_t>, ProcRun> held_starts_;  // wrapped lines' runs going on
  std::deque<Held> held_;                                     // wrapped lines' runs ended
  ProcLogJoin join_;                                          // nameless runs and cron's CMD lines
  int64_t since_ms_ = 0;                                      // cron's lines from before are not joined
  std::set<std::string> named_said_;                          // keys whose naming from the log was said
  Stats stats_;
  LossReport loss_report_;     // the log's lines about losses: the first, then one a minute at most
  Instant read_at_{};          // the wall time of the last read that lost nothing
  bool adopt_due_ = false;     // events were lost: cron's trees are to be read again in /proc
  int64_t adopted_at_ns_ = 0;  // the last such read (CLOCK_MONOTONIC)
  bool batching_ = false;      // batch_src_ is armed to read what the socket holds (not a re-read)
};

}  // namespace cronitor::agent
