// What Debian cron's own log says of its jobs, as far as the agent can tell where it runs: cron's
// -L level (cron(8): 1 logs job starts, 2 their ends, 4 failed jobs, 8 the pids), read from the
// running cron's command line, else from EXTRA_OPTS in /etc/default/cron (which cron.service
// passes to cron), else cron's default 1. Jobs whose runs come only from that log (lines of a
// package's file, not wrapped) have their failures seen only when ends are logged (-L 2 bit):
// at the default -L 1 a run's outcome is unknown (issue 17).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cronitor::agent {

/// cron's log level and where it was read.
struct CronLogging {
  int level = 1;
  std::string from;  // "cron's command line (pid 812)", "EXTRA_OPTS in /etc/default/cron", "cron's default"
  bool ends_logged() const { return (level & 2) != 0; }
  bool failures_logged() const { return (level & 4) != 0; }
};

/// The -L of EXTRA_OPTS in the text of /etc/default/cron (the last assignment; quotes, `export`
/// and comments as a shell reads them); nullopt when it sets none.
std::optional<int> extra_opts_log_level(std::string_view default_cron);

/// cron's log level on the host under `root` ("" for this host): the live cron behind
/// ROOT/run/crond.pid, else ROOT/etc/default/cron, else cron's default (1).
CronLogging detect_cron_logging(const std::string& root);

/// For a job whose runs come only from cron's log: why its failures are not seen and how to see
/// them; nullopt when cron logs the ends of jobs.
std::optional<std::string> unseen_failures(const CronLogging& logging);

}  // namespace cronitor::agent
