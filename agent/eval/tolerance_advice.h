// `cronitor-agent suggest`: tolerances read from a job's own history. Pure: runs and schedule in,
// figures and suggested settings out (a max runtime of 2-3x the p95 duration over 10 or more runs,
// a grace that covers the start delays seen).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "agent/eval/run_row.h"
#include "schedule/schedule.h"

namespace cronitor::agent {

/// What a job's history says, and the settings it suggests.
struct ToleranceAdvice {
  std::string key;
  int runs = 0;                                                   // finished runs looked at
  int failures = 0;                                               // of those, failed
  std::optional<std::chrono::milliseconds> p50, p95, max;         // durations
  std::optional<std::chrono::milliseconds> delay_p50, delay_p95;  // start after the scheduled slot
  std::chrono::seconds grace{60};                                 // suggested
  std::optional<std::chrono::seconds> max_runtime;                // suggested; none under kMinRuns runs
  std::string why;                                                // a short reason when no max runtime is suggested

  double failure_rate() const { return runs ? static_cast<double>(failures) / runs : 0.0; }
  /// `# cronitor: grace=5m assertion="metric.duration < 45m"`, to paste above the crontab line.
  std::string comment() const;
  /// A monitors: entry of agent.yaml with the same settings.
  std::string yaml() const;
};

inline constexpr int kMinRunsForRuntime = 10;

/// Looks at `runs` (newest first, as history() returns them; open runs are skipped). `schedule`
/// (with its zone) gives the slot each run was due at, for the start delay; without one there is
/// no delay figure and the grace stays at `default_grace`.
ToleranceAdvice advise(const std::string& key, const std::vector<RunRow>& runs,
                       const std::optional<schedule::Schedule>& schedule, const schedule::Zone& zone,
                       std::chrono::seconds default_grace);

}  // namespace cronitor::agent
