// Pure parsing of crontab and anacrontab text the way Debian's cron and anacron read it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "discovery/job.h"
#include "discovery/warning.h"

namespace cronitor::discovery {

enum class CrontabFormat {
  kSystem,  // /etc/crontab, /etc/cron.d/*: a user column after the schedule
  kUser,    // /var/spool/cron/crontabs/USER
};

/// One job line (or commented-out job line) of a crontab, with where its command sits in the text.
struct CrontabEntry {
  int line = 0;                   // 1-based
  std::size_t command_begin = 0;  // byte offsets of the command in the file text
  std::size_t command_end = 0;
  std::string schedule;             // the schedule fields joined by one space ("@daily" for aliases)
  std::string user;                 // empty for the user format
  std::string command;              // verbatim
  bool no_log = false;              // '-' before the minute field
  bool disabled = false;            // a commented-out job line
  bool ignored = false;             // "# cronitor: ignore" on the line before
  std::optional<std::string> name;  // "# Name: X" on the line before
  std::string settings;             // the "# cronitor: ..." comment line right above, as written
  JobEnv env;                       // environment in force at this line
};

struct ParsedCrontab {
  std::vector<CrontabEntry> entries;
  std::vector<Warning> warnings;
};

/// Parses crontab text. `file` names the source in warnings. Bad lines become warnings
/// ("minute field: ...") and are skipped; the rest of the text is still read.
ParsedCrontab parse_crontab(std::string_view text, CrontabFormat format, std::string_view file,
                            const Limits& limits = {});

/// One line of /etc/anacrontab.
struct AnacronEntry {
  int line = 0;
  AnacronInfo info;
  std::string command;
  JobEnv env;
};

struct ParsedAnacrontab {
  std::vector<AnacronEntry> entries;
  std::vector<Warning> warnings;
};

ParsedAnacrontab parse_anacrontab(std::string_view text, std::string_view file, const Limits& limits = {});

/// If `line` is an environment assignment as cron reads it (NAME = VALUE, the value optionally
/// quoted), stores name and value and returns true.
bool parse_env_line(std::string_view line, std::string& name, std::string& value);

}  // namespace cronitor::discovery
