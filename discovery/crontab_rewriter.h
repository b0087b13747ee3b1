// Pure rewriting of crontab text: the command part of job lines goes through cronitor-exec, and
// back. Everything else (comments, blanks, environment lines, schedule whitespace, lines that do
// not parse) is copied byte for byte.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "discovery/crontab_parser.h"
#include "discovery/warning.h"

namespace cronitor::discovery {

inline constexpr std::string_view kDefaultExecPath = "/usr/bin/cronitor-exec";

struct LineChange {
  int line = 0;
  std::string key;
};

struct Rewrite {
  std::string text;
  std::vector<LineChange> changes;
  std::vector<Warning> skipped;  // job lines left alone, with why
  std::vector<Warning> notes;    // adopted lines, with the tool's options no setting carries
  bool changed() const { return !changes.empty(); }
};

/// Wraps the job lines listed in `keys` (line number -> key to write). Lines already wrapped,
/// commented out or not listed are left alone; so are lines under a SHELL= that is not a POSIX
/// shell and lines that would grow past cron's command limit (reported in `skipped`). Lines an
/// upstream's own tool runs (instrumented.h) are left alone too, unless `adopt`: then they run
/// through cronitor-exec and the `# cronitor:` comment above keeps their identity and command.
Rewrite wrap_crontab(std::string_view text, CrontabFormat format, std::string_view file,
                     const std::map<int, std::string>& keys, std::string_view exec_path, bool adopt = false);

/// Restores the original command of every wrapped line (commented-out ones too); an adopted
/// line gets its original command back and its comment loses what `--adopt` added.
Rewrite unwrap_crontab(std::string_view text, CrontabFormat format, std::string_view file);

/// A unified diff (3 lines of context) of two texts that differ in a few lines, as `diff -u`
/// prints it with labels a/PATH and b/PATH; empty when they are equal.
std::string unified_diff(std::string_view before, std::string_view after, std::string_view path);

}  // namespace cronitor::discovery
