// Turns cron's log lines into run events for the evaluator (pure: time and the matching of a
// command to a job's key are inputs). A CMD line starts a run; with cron's -L 2 its END line
// ends it, as a failure when a "grandchild ... failed" line of the same cron child came first.
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

  /// One parsed line at `unix_ms`. `ends_logged`: cron runs with -L 2, so an END line will come;
  /// without it a run is started and closed at once as `unknown` (cron never says how it ended).
  /// Returns the events to ingest (run, complete, fail or unknown), oldest first.
  std::vector<cronitor::RunEvent> feed(const CronLogLine& line, int64_t unix_ms, bool ends_logged);

  /// Runs whose END never came (cron restarted, log lost) are forgotten after a day.
  void forget_before(int64_t unix_ms);
  std::size_t open_runs() const { return open_.size(); }

 private:
  struct Open {
    Match match;
    std::string run_id;
    int64_t started_ms = 0;
    std::optional<CronLogLine> error;  // "grandchild failed" seen before END
  };
  cronitor::RunEvent event(const Open& o, cronitor::RunState state, int64_t unix_ms, int64_t pid) const;

  std::string host_;
  Matcher matcher_;
  std::map<int64_t, Open> open_;  // by cron child pid
};

/// A random lowercase UUID v4.
std::string random_run_id();

}  // namespace cronitor::agent
