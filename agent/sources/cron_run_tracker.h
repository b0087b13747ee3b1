// Turns cron's log lines into run events for the evaluator (pure: time and the matching of a
// command to a job's key are inputs). A CMD line starts a run; with cron's -L 2 its END line
// ends it, as a failure when a "grandchild ... failed" line of the same cron child came first
// (-L 4), as a success only when cron logs failures (else its outcome is unknown).
//
// Which END ends which CMD (Debian's cron, seen with the real daemon): with -L 8 both lines come
// from the cron child, CRON[child] CMD ([job] ...) and CRON[child] END ([job] ...). Without it, the
// job's shell logs the CMD line itself, CRON[job] CMD (...), and the child the END, CRON[child]
// END (...): the pids differ. The failure line CRON[child] error (grandchild #job ...) links the
// two when it comes; else the END ends the open run of the same user and command whose shell the
// child started (the first pid after the child's), or the oldest such run.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/sources/cron_log_line.h"
#include "common/event.h"

namespace cronitor::agent {

class CronRunTracker {
 public:
  /// The job a CMD line belongs to: its key and uid, by user and logged command; nullopt for a
  /// line of a job that is not observed this way (a wrapped line, a job of another file).
  struct Match {
    std::string key;
    int64_t uid = 0;
  };
  using Matcher = std::function<std::optional<Match>(const std::string& user, const std::string& command)>;

  CronRunTracker(std::string host, Matcher matcher);

  /// What cron logs (its -L level) as far as the agent knows.
  struct Logs {
    bool ends = false;      // -L 2: an END line will come
    bool failures = false;  // -L 4: a failed job's "grandchild ... failed" line comes before its END
  };

  /// One parsed line at `unix_ms`. Without `logs.ends` a run is started and closed at once as
  /// `unknown` (cron never says how it ended); an END without `logs.failures` ends it as
  /// `unknown` with its duration (a failure would not have been said).
  /// Returns the events to ingest (run, complete, fail or unknown), oldest first.
  std::vector<cronitor::RunEvent> feed(const CronLogLine& line, int64_t unix_ms, Logs logs);

  /// Runs whose END never came (cron restarted, log lost) are forgotten after a day.
  void forget_before(int64_t unix_ms);
  std::size_t open_runs() const { return open_.size(); }

 private:
  struct Open {
    Match match;
    std::string run_id;
    int64_t started_ms = 0;
    std::string user, command;         // as the CMD line logged them, for an END of another pid
    int64_t job_pid = 0;               // the job's shell
    int64_t child_pid = 0;             // the cron child that logs its END; 0 until a line says
    std::optional<CronLogLine> error;  // "grandchild failed" seen before END
  };
  /// The open run an END or error line of cron child `child` is about (end: its user and command).
  std::map<int64_t, Open>::iterator run_of_child(int64_t child, int64_t job_pid, const CronLogLine* end);
  cronitor::RunEvent event(const Open& o, cronitor::RunState state, int64_t unix_ms, int64_t pid) const;

  std::string host_;
  Matcher matcher_;
  std::map<int64_t, Open> open_;  // by the CMD line's pid (the child with -L 8, else the job's shell)
};

}  // namespace cronitor::agent
