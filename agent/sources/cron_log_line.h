// Debian cron's own log lines, parsed (pure; see agent/README.md, "Jobs observed from cron's
// log"). cron logs through syslog(3) with the identifier "CRON" and the pid of the cron child
// that runs one job:
//   (root) CMD ([4711] command)                           start (-L 1; "[4711] " with -L 8)
//   (root) END ([4711] command)                           end (-L 2)
//   (CRON) error (grandchild #4711 failed with exit status 3)   exit status != 0 (-L 4)
//   (CRON) error (grandchild #4711 terminated by signal 9)
// The command is the crontab's, cut at its first unescaped '%' with "\%" turned into "%".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cronitor::agent {

struct CronLogLine {
  enum class Kind { kCmd, kEnd, kError };
  Kind kind = Kind::kCmd;
  int64_t cron_pid = 0;  // CRON[pid]: the cron child, the same on a job's CMD, error and END
  std::string user;      // kCmd, kEnd
  std::string command;   // kCmd, kEnd (without the "[pid] " prefix)
  int64_t job_pid = 0;   // "[pid] " (-L 8) or "grandchild #pid"; 0 when not logged
  int exit_status = 0;   // kError: the exit status, or 128 + the signal
  std::string signal;    // kError by a signal: "SIGKILL"
};

/// Parses the message of a CRON[pid] log line; nullopt for lines that are not CMD, END or a
/// grandchild error (pam_unix, INFO, ...) or that do not parse.
std::optional<CronLogLine> parse_cron_message(int64_t cron_pid, std::string_view message);

/// Finds "CRON[pid]: message" in one line of a syslog file (any timestamp format before it,
/// "<78>" priorities included). Returns the pid and the message, or nullopt.
std::optional<std::pair<int64_t, std::string_view>> split_syslog_line(std::string_view line);

/// The command as cron logs it: up to the first unescaped '%', with "\%" as "%", trimmed of
/// blanks at both ends (cron keeps them, the crontab parser may not).
std::string cron_logged_command(std::string_view crontab_command);

/// Trims blanks (space, tab) at both ends.
std::string_view trim_blanks(std::string_view s);

}  // namespace cronitor::agent
