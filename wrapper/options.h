// Command line of cronitor-exec.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"

namespace cronitor::wrapper {

/// What cronitor-exec was asked to do.
struct Options {
  enum class Mode { kRun, kMetric, kHelp, kVersion };
  Mode mode = Mode::kRun;
  std::string key;
  std::string command;  ///< the words after "--", joined with spaces
  bool no_output = false;
  std::optional<std::string> env;
  std::optional<int64_t> timeout_ms;
  std::vector<std::pair<std::string, double>> metrics;  ///< --metric name=value
};

/// Parses argv. `cronitor-exec KEY [--no-output] [--env NAME] [--timeout DURATION] -- COMMAND...`
/// (the "--" may be left out: the first word after KEY that is not an option starts COMMAND)
/// or `cronitor-exec --metric NAME=VALUE [--metric ...]`.
Result<Options> parse_options(int argc, char** argv);

/// "90", "90s", "500ms", "5m", "2h", "1d" -> milliseconds (> 0, at most 30 days).
Result<int64_t> parse_duration_ms(std::string_view text);

/// Usage text for stderr.
extern const char kUsage[];

}  // namespace cronitor::wrapper
