// A problem found while reading job definitions: reported with file:line, the rest still read.
#pragma once

#include <cstddef>
#include <string>

namespace cronitor::discovery {

struct Warning {
  std::string file;  // as on the host (without the --root prefix)
  int line = 0;      // 0: the whole file
  std::string message;

  /// "file:line: message" (or "file: message").
  std::string to_string() const {
    std::string s = file;
    if (line > 0) s += ":" + std::to_string(line);
    s += ": ";
    s += message;
    return s;
  }
  bool operator==(const Warning&) const = default;
};

/// Caps on what an outsider controls; a definition past a cap is skipped with a warning.
struct Limits {
  std::size_t max_file_bytes = 1 << 20;   // one crontab or unit file
  std::size_t max_line_bytes = 8192;      // one line
  std::size_t max_files_per_dir = 10000;  // entries read from one folder
  std::size_t max_jobs = 200000;          // jobs in one scan
  /// Job lines read from one crontab of a user other than root: the rest of the file is not
  /// read (a user's 80,000 short lines would hold over 100 MiB; the agent monitors 500 of a
  /// user's lines by default, agent/eval/user_limits.h).
  std::size_t max_jobs_per_user_crontab = 2000;
  std::size_t max_entries = SIZE_MAX;       // job lines read from one file (set per file by its source)
  std::size_t max_warnings_per_file = 100;  // then one that says the rest are not listed
};

}  // namespace cronitor::discovery
