// Cronitor's run assertions: "metric.duration < 30 minutes", "metric.count > 0", ...
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"

namespace cronitor::agent {

/// One assertion on a finished run. Durations are kept in seconds.
struct Assertion {
  enum class Op { kLt, kLe, kGt, kGe, kEq, kNe };
  std::string metric;  // "duration", "count", "error_count", or any metric name the job reports
  Op op = Op::kLt;
  double value = 0;
  std::string text;  // as written, for alerts

  /// Parses "metric.NAME OP VALUE"; for duration the value takes units ("30 minutes", "5s").
  [[nodiscard]] static Result<Assertion> parse(std::string_view text);

  /// For `metric.duration < X` (or <=): X, the longest a run may stay open before it is hung.
  std::optional<std::chrono::milliseconds> max_runtime() const;
  /// True when `actual` satisfies the assertion.
  bool holds(double actual) const;
};

/// The value of `metric` for a run (duration in seconds), or nullopt when the run did not report it.
std::optional<double> metric_value(const Assertion& a, std::chrono::milliseconds duration,
                                   const std::map<std::string, double>& metrics);

}  // namespace cronitor::agent
