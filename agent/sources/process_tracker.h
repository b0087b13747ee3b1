// Runs of cron jobs from the kernel's process events (pure: no I/O; the caller reads /proc at exec
// and gives what it read). It follows the descendants of a set of trusted root pids (the cron
// daemon that discovery trusts) and knows three roles in that tree:
//   - cron's per-job child: a process forked by a root (or a fork of one) that has not exec'd yet;
//   - the job's shell: such a process exec'ing `SHELL -c CMD` (cron's execle): one run of the line
//     the matcher names from (uid, CMD); the run ends when that process exits;
//   - a script of run-parts: a process forked by a `run-parts` inside a job, at its exec: one run of
//     the key the matcher names from (uid, script path), ended by its exit.
// Anything that does not descend from a root is never a run, whatever its command line says.
// anacron is a root too: a root given by the caller (found by a process scan), the anacron a job
// of cron's starts (Debian's /etc/cron.d/anacron), and the anacron a spawner starts (PID 1 on the
// host: anacron.service). Its forks are jobs' processes as cron's are: `sh -c COMMAND` of an
// anacrontab line, whose run-parts scripts are runs of their own keys.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "agent/sources/proc_events.h"

namespace cronitor::agent {

/// The start or the end of a run seen from process events. Times are those the caller gave (the
/// kernel's event timestamps: nanoseconds of CLOCK_MONOTONIC).
struct ProcRun {
  enum class Phase : uint8_t { started, ended };
  enum class Kind : uint8_t { job, script };  // a line cron ran; a script a run-parts of a job ran
  enum class Outcome : uint8_t { running, exited, signaled, unknown };
  Phase phase = Phase::started;
  Kind kind = Kind::job;
  Outcome outcome = Outcome::running;
  std::string key;  // empty: a nameless run (cron's job shell gone before its command was read)
  pid_t pid = 0;
  uid_t uid = 0;
  int64_t start_ns = 0, end_ns = 0;
  int exit_code = 0;  // exited: the code
  int signal = 0;     // signaled: the signal
  bool core_dumped = false;
  int64_t duration_ns() const { return phase == Phase::ended ? end_ns - start_ns : 0; }
};

class ProcessTracker {
 public:
  /// Names the job of a process, or nullopt when it is not one the agent observes this way.
  struct Matcher {
    /// The line cron ran: the owner's uid and the command as cron passes it to `sh -c`.
    std::function<std::optional<std::string>(uid_t uid, std::string_view command)> job;
    /// A script a run-parts in a job's tree ran (its full path, `/etc/cron.daily/logrotate`): the
    /// job's owner and key (empty when the line matched none) say whose run-parts it was, so that a
    /// user's own `run-parts /etc/cron.daily` is not taken for root's.
    std::function<std::optional<std::string>(uid_t job_uid, std::string_view job_key, std::string_view script)> script;
  };
  struct Limits {
    size_t max_followed = 65536;  // processes in cron's trees followed at once (a fork bomb in a job)
  };
  /// What the tracker saw, for `status` and the log.
  struct Counters {
    uint64_t not_followed = 0;   // forks in cron's trees left out at max_followed
    uint64_t unreadable = 0;     // execs in cron's trees whose /proc facts were gone (too short-lived)
    uint64_t nameless = 0;       // of those, cron's job shells: runs started without a key
    uint64_t losses = 0;         // ENOBUFS reports given to lost()
    uint64_t ended_unknown = 0;  // runs ended as "outcome unknown" after a loss
  };

  ProcessTracker(Matcher matcher, Limits limits);
  explicit ProcessTracker(Matcher matcher) : ProcessTracker(std::move(matcher), Limits{}) {}

  /// The trusted roots (cron daemons, anacron). A root that exits is dropped; its tree is still followed.
  void set_roots(std::span<const pid_t> roots);
  /// Processes whose children are looked at once, at their exec: an anacron (uid 0) among them is
  /// followed as a root, anything else dropped (the host's PID 1, which starts anacron.service).
  void set_spawners(std::span<const pid_t> spawners) { spawners_ = {spawners.begin(), spawners.end()}; }

  /// One event. For an exec of a followed process, `read_exec(tgid)` is called once (the caller
  /// reads /proc: read_exec_facts); it is never called for other processes.
  void feed(const ProcEvent& e, const std::function<std::optional<ExecFacts>(pid_t)>& read_exec);

  void fork(pid_t parent_tgid, pid_t child_pid, pid_t child_tgid, int64_t t);
  /// Whether `tgid` is in a followed tree (its exec needs its facts).
  bool follows(pid_t tgid) const { return nodes_.contains(tgid); }
  void exec(pid_t tgid, int64_t t, const std::optional<ExecFacts>& facts);
  void exit(pid_t pid, pid_t tgid, uint32_t wait_status, int64_t t);

  /// The kernel dropped events (ENOBUFS): every followed process may have exited unseen.
  void lost(uint64_t reports = 1);
  /// The followed processes whose exit may have been lost, to check in /proc (pid, start ticks or
  /// 0). Protocol: take suspects(), check each in /proc, drain the socket (an exit queued before
  /// the check arrives then), and give settle_loss() the ones that were gone.
  struct Suspects {
    uint64_t generation = 0;
    std::vector<std::pair<pid_t, uint64_t>> processes;
  };
  Suspects suspects() const;
  /// Runs of `gone` processes still open end as Outcome::unknown at `t`, never as failures; if no
  /// loss came since `s`, the others are trusted again.
  void settle_loss(uint64_t generation, std::span<const pid_t> gone, int64_t t);

  /// Starts and ends seen since the last call, in order. A job shell of cron's that was gone before
  /// its command was read (`sh -c 'exit 4'` lives about a millisecond) is still a run, with an
  /// empty key and uid -1: its pid, start, end and exit code are known, and the caller names it
  /// from cron's own CMD line for that pid (agent/sources/proc_log_join.h).
  std::vector<ProcRun> take_runs() { return std::exchange(runs_, {}); }

  size_t followed() const { return nodes_.size(); }
  /// Whether an exec to come would need /proc read at once: a cron child or a run-parts script not
  /// exec'd yet, or a run-parts that forks scripts (its reader should not wait to batch wake-ups).
  bool awaits_exec() const;
  size_t open_runs() const;
  const Counters& counters() const { return counters_; }

 private:
  enum class Role : uint8_t { cron_child, job, spawned };  // spawned: a spawner's child, not exec'd yet
  struct Node {
    Role role = Role::cron_child;
    bool run_parts = false;       // this process is run-parts: its forks are scripts
    bool suspect = false;         // followed when events were lost
    bool script_pending = false;  // forked by run-parts, not exec'd yet
    bool forked = false;          // a cron child that forked: cron's per-job process, not the job's shell
    bool job_shell = false;       // the per-job process's first child: the job's shell (its mailer comes later)
    bool anacron = false;         // anacron (or its fork, not exec'd yet): its forks are its jobs
    uid_t job_uid = 0;            // the owner of the job's shell (role job)
    uint64_t start_ticks = 0;
    std::string job_key;         // the key of the job's line, empty when none matched
    std::string run_parts_dir;   // run_parts: its folder; script_pending: the parent's folder
    std::optional<ProcRun> run;  // the run this process ends
  };
  void start_run(Node& n, ProcRun::Kind kind, std::string key, pid_t pid, uid_t uid, int64_t t);
  void end_run(Node& n, int64_t t, std::optional<uint32_t> wait_status);

  Matcher matcher_;
  Limits limits_;
  std::unordered_set<pid_t> roots_;
  std::unordered_set<pid_t> spawners_;
  std::unordered_map<pid_t, Node> nodes_;  // by tgid
  std::vector<ProcRun> runs_;
  uint64_t generation_ = 0;
  Counters counters_;
};

/// Whether an exec of `argv` as `uid` is anacron (root's /usr/sbin/anacron), a root of jobs.
bool is_anacron(std::span<const std::string> argv, uid_t uid);

/// The folder run-parts runs, from its argv (its last argument that is not an option); empty if none.
std::string run_parts_folder(std::span<const std::string> argv);

}  // namespace cronitor::agent
