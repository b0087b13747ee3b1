// Follows cron's own log (the journal, or a syslog file) for the jobs the agent does not wrap:
// lines of files a package owns. Each CMD/END/error line of such a job becomes a run event
// (agent/sources/cron_run_tracker.h), handed to the daemon as if a wrapper had sent it.
#pragma once

#include <systemd/sd-event.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/sources/cron_run_tracker.h"
#include "common/error.h"
#include "common/event.h"
#include "common/event_source.h"

namespace cronitor::agent {

/// Where cron's lines come from: one readable descriptor for the loop and the lines behind it.
class CronLogSource {
 public:
  struct Line {
    int64_t pid = 0;
    std::string message;
    int64_t unix_ms = 0;
  };
  virtual ~CronLogSource() = default;
  virtual int fd() const = 0;
  virtual uint32_t events() const { return EPOLLIN; }
  /// The new CRON lines since the last call (bounded per call; call again while `more`).
  virtual std::vector<Line> read(bool& more) = 0;
  virtual std::string describe() const = 0;

  /// A syslog file (rsyslog's /var/log/syslog or any file cron's lines reach): followed from its
  /// current end, through rotation (a new file under the name) and truncation.
  [[nodiscard]] static Result<std::unique_ptr<CronLogSource>> syslog_file(std::string path);
  /// The systemd journal, entries with SYSLOG_IDENTIFIER=CRON, from now on, or from
  /// `since_usec` (CLOCK_REALTIME: the runs of a gap, read at start). Only entries a root
  /// process sent count (_UID=0, which journald sets from the socket's credentials), and the pid
  /// is journald's _PID: any local user can log as "CRON" with any SYSLOG_PID (`logger -t CRON`),
  /// and would otherwise forge runs of root's jobs.
  [[nodiscard]] static Result<std::unique_ptr<CronLogSource>> journal(std::optional<uint64_t> since_usec = {});
  /// The same over journal files, from their first entry or `since_usec` (tests; a journal
  /// copied off a host).
  [[nodiscard]] static Result<std::unique_ptr<CronLogSource>> journal_files(std::vector<std::string> paths,
                                                                            std::optional<uint64_t> since_usec = {});
};

class CronLogWatch {
 public:
  using Sink = std::function<void(std::vector<cronitor::RunEvent>)>;
  /// Opens the source `setting` names (discovery.cron_log: auto, journal, or a file path; "off"
  /// is the caller's), with host paths under `root` ("" for the host). A journal is read from
  /// `since_usec` when given (the agent's last sign of life: the runs of the gap), and from the
  /// files CRONITOR_JOURNAL names if set (agent/sources/journal_backfill.h).
  [[nodiscard]] static Result<std::unique_ptr<CronLogWatch>> open(const std::string& setting, const std::string& root,
                                                                  std::string host, Sink sink,
                                                                  std::optional<uint64_t> since_usec = {});
  ~CronLogWatch();
  CronLogWatch(const CronLogWatch&) = delete;
  CronLogWatch& operator=(const CronLogWatch&) = delete;

  [[nodiscard]] Result<void> attach(sd_event* ev);
  /// The jobs observed this way, by key: the user they run as, their uid and their command.
  void clear_jobs();
  void set_job(const std::string& key, const std::string& user, int64_t uid, const std::string& crontab_command);
  /// The job's line is gone or now has another key.
  void forget_job(const std::string& key);
  std::size_t jobs() const { return by_key_.size(); }
  std::string describe() const { return source_->describe(); }
  /// Called with every CMD line read (any job's): the job shell's pid (CRON[pid], or the `[pid] `
  /// cron logs with -L 8), the user, the command and the line's time. The process events name
  /// with it the runs they saw without a command (agent/sources/proc_log_join.h).
  using CmdObserver =
      std::function<void(int64_t pid, const std::string& user, const std::string& command, int64_t unix_ms)>;
  void set_cmd_observer(CmdObserver observer) { cmd_observer_ = std::move(observer); }
  /// Reads what is there now (the loop calls this when the descriptor is readable); true when
  /// more is left for the next call.
  bool poll();

 private:
  CronLogWatch(std::unique_ptr<CronLogSource> source, std::string host, Sink sink, std::string root);
  static int on_io(sd_event_source*, int, uint32_t, void*);
  CronRunTracker::Logs logs();  // what cron logs: its -L, else what its lines showed

  std::unique_ptr<CronLogSource> source_;
  Sink sink_;
  std::string root_;
  EventSource src_;  // after source_: released before the descriptor it watches closes
  std::map<std::pair<std::string, std::string>, CronRunTracker::Match> by_command_;  // (user, command)
  std::map<std::string, std::pair<std::string, std::string>> by_key_;
  CronRunTracker tracker_;
  CmdObserver cmd_observer_;
  bool end_seen_ = false;      // an END line came: cron logs ends (-L 2)
  bool failure_seen_ = false;  // a "grandchild ... failed" line came: cron logs failures (-L 4)
};

/// cron's -L level from its command line ("cron -f -L 15" -> 15); 1 (cron's default) without -L.
int cron_log_level(const std::vector<std::string>& argv);

}  // namespace cronitor::agent
