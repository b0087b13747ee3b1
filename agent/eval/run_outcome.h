// What a finished run counts as for a monitor: exit-code maps (`success_codes: [0, 3]`,
// `warning_codes: [1]`) and the "K of N" form of failure_tolerance. Pure.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace cronitor::agent {

struct MonitorConfig;
struct MonitorState;
struct RunEvent;

/// How a finished run counts.
enum class Outcome { kSuccess, kWarning, kFailure };

/// "3 of 10": alert when 3 of the last 10 runs failed (1 <= failures <= runs <= kMaxFailureWindow).
struct FailureWindow {
  int failures = 0;
  int runs = 0;
};
inline constexpr int kMaxFailureWindow = 64;  // the runs remembered (one bit each)

[[nodiscard]] Result<FailureWindow> parse_failure_window(std::string_view text);
/// "0,3" or "0, 3": exit codes 0..255 (a crontab comment's list form).
[[nodiscard]] Result<std::vector<int>> parse_exit_codes(std::string_view text);

/// The outcome of a complete/fail event under the monitor's exit-code maps. A signal death is a
/// failure whatever the maps say (its 128+N is not the job's own exit code).
Outcome classify(const MonitorConfig& config, const RunEvent& ev);

/// Remembers one finished run in the failure window; returns the failures among the last
/// `config.failure_window` runs.
int remember_outcome(const MonitorConfig& config, MonitorState& state, bool failed);

}  // namespace cronitor::agent
