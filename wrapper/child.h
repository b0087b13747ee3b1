// The job as a child process: started with ninja-style discipline, its output passed through
// (and the tail kept), signals forwarded to its process group, a timeout enforced, and reaped.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/error.h"
#include "common/unique_fd.h"
#include "wrapper/output_tail.h"

namespace cronitor::wrapper {

/// What to run and how.
struct ChildSpec {
  std::string shell;  ///< absolute path, run as `shell -c command`
  std::string command;
  bool capture = true;  ///< pipe stdout/stderr through the wrapper to keep the tail
  std::optional<int64_t> timeout_ms;
  int64_t kill_grace_ms = 5000;  ///< after a timeout's SIGTERM, SIGKILL the group this much later
};

/// How the job ended.
struct ChildOutcome {
  int exit_code = 0;    ///< what the wrapper should exit with (128+N after signal N)
  int term_signal = 0;  ///< N when the job died of a signal
  bool timed_out = false;
  std::optional<std::string> start_error;  ///< the shell could not be executed
  int64_t peak_rss_bytes = 0;              ///< largest RSS among the job's reaped processes
  std::string tail;                        ///< last bytes of stdout+stderr (if captured)
};

/// Something else the wait loop looks after while the job runs: `fire` is called once, when
/// `fd` (if >= 0) turns readable or at `deadline_ms` (CLOCK_MONOTONIC), whichever comes first;
/// it may set fd, deadline_ms and fire again to be called again.
struct Watch {
  int fd = -1;  // not owned (e.g. the socket of the reporter's pending send)
  int64_t deadline_ms = -1;
  std::function<void()> fire;
};

/// One running job. Signals the wrapper forwards are blocked (and read from a signalfd) from
/// construction on; the child gets the original mask and dispositions back before exec.
class Child {
 public:
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  Child(Child&& other) noexcept;

  /// Forks and execs `shell -c command`. Fails only when the wrapper itself cannot set up
  /// (pipe, fork); an exec failure is reported by wait() as exit 126/127 with start_error.
  static Result<Child> start(const ChildSpec& spec);

  /// The job's pid (also its process group id when it has its own group).
  pid_t pid() const { return pid_; }

  /// Set when the shell could not be executed (the child then exits 126/127 at once).
  const std::optional<std::string>& start_error() const { return start_error_; }

  /// Pumps output, forwards signals, enforces the timeout until the job is reaped and its
  /// output pipes are drained (or held open by leftovers for more than a second). A watch
  /// that has not fired by then is left to the caller.
  ChildOutcome wait(Watch* watch = nullptr);

 private:
  Child() = default;
  void forward(int sig);
  bool pump(int index);  // false when that stream is done

  ChildSpec spec_;
  pid_t pid_ = -1;
  bool own_group_ = true;
  UniqueFd sig_fd_;
  UniqueFd out_fd_[2];       // read ends: [0] child's stdout (or both), [1] child's stderr
  int dest_fd_[2] = {1, 2};  // where each read end's bytes go (not owned: our stdout, stderr)
  std::optional<std::string> start_error_;
  int start_errno_ = 0;
  int64_t started_ms_ = 0;
  sigset_t old_mask_{};
  OutputTail tail_{8192};
};

/// "SIGKILL" for 9, "SIGRTMIN+3", or "SIG<n>" when unknown.
std::string signal_name(int sig);

/// CLOCK_MONOTONIC in milliseconds.
int64_t monotonic_ms();

}  // namespace cronitor::wrapper
