// Joins what the process events saw of cron's jobs to cron's own CMD lines (issue 21: the fast-exit
// gap). Pure: times are given. The process events name a run by reading the job shell's argv from
// /proc at its exec; a job such as `exit 4` (or a wrapped line whose wrapper is missing: exit 127)
// is gone about a millisecond later, before a batched read, and its run comes nameless (pid, start,
// end, exit code; agent/sources/process_tracker.h). Debian's cron logs every job it starts as
// `CRON[PID]: (user) CMD (command)` from the job shell's own pid before it execs (with -L 8: from
// cron's per-job child, the shell's pid as `[PID] ` before the command), so:
//   - a nameless run and a CMD line of the same pid: the run, named by the line, with its exit code;
//   - a CMD line of a job with no process events run of its pid within the wait (events lost, cron
//     not followed yet): a run of that job with its outcome unknown, never a miss;
//   - a nameless run no CMD line names within the wait (cron's log not read, or cron's mailer):
//     given back as unnamed, for the log and status.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/sources/process_tracker.h"

namespace cronitor::agent {

class ProcLogJoin {
 public:
  struct Options {
    int64_t wait_ms = 10000;       // a nameless run waits this long for its CMD line, a CMD line for its run
    int64_t remember_ms = 120000;  // a named run's pid covers a CMD line read this long after its start
  };
  /// cron's CMD line, matched to its job by the caller.
  struct CmdLine {
    pid_t pid = 0;  // the job shell's pid
    std::string key;
    uid_t uid = 0;
    int64_t unix_ms = 0;  // when cron logged it
  };
  struct Out {
    std::vector<ProcRun> named;     // nameless starts and ends now named (key and uid set), in order
    std::vector<CmdLine> log_only;  // CMD lines no process events run had: runs with outcome unknown
    std::vector<ProcRun> unnamed;   // nameless runs no CMD line named (their start, or their end if known)
  };

  ProcLogJoin() : ProcLogJoin(Options{}) {}
  explicit ProcLogJoin(Options options) : options_(options) {}

  /// A run the process events named started: a CMD line of its pid is covered, and so is one of its
  /// key within the wait (a cron that logs another pid than the job shell's).
  void named(pid_t pid, const std::string& key, int64_t now_ms);
  /// A nameless start or end (a ProcRun with an empty key).
  void nameless(ProcRun r, int64_t now_ms);
  /// cron's CMD line of a job.
  void cmd(CmdLine line, int64_t now_ms);
  /// What is settled at `now_ms`: runs named, and what waited past its time.
  Out take(int64_t now_ms);
  /// When take() has something next (a wait runs out), if anything waits.
  std::optional<int64_t> next_due_ms() const;
  size_t waiting() const { return nameless_.size() + lines_.size(); }

 private:
  struct Nameless {
    std::optional<ProcRun> start, end;
    std::optional<CmdLine> line;  // set once named: its end, when it comes, is named too
    int64_t due_ms = 0;
  };
  void name(ProcRun& r, const CmdLine& line) const;
  /// `it` has its line now: its start and end so far are named and handed on; ended, it is done.
  void name_parts(std::map<pid_t, Nameless>::iterator it);

  Options options_;
  std::map<pid_t, Nameless> nameless_;
  std::map<pid_t, std::pair<CmdLine, int64_t>> lines_;  // CMD lines waiting for a run: (line, due)
  std::map<pid_t, int64_t> named_;                      // pids of named runs: when seen
  std::map<std::string, int64_t> named_keys_;           // keys of named runs: when last seen
  Out out_;
};

}  // namespace cronitor::agent
