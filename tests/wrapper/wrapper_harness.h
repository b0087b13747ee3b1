// Test harness for cronitor-exec: a scratch folder, the binary run as a real process with its
// stdin/stdout/stderr on files, and the events it left in the spool.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "common/event.h"

namespace cronitor::testing {

/// A fresh folder under /tmp, removed (recursively) at the end of the test.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

/// How to start one process.
struct ProcSpec {
  std::vector<std::string> argv;
  std::vector<std::string> env;  ///< NAME=VALUE set on top of the test's environment
  std::string stdin_path = "/dev/null";
  std::string stdout_path;         ///< required
  std::string stderr_path;         ///< empty: same open file as stdout (2>&1)
  std::function<void()> in_child;  ///< runs in the child before exec (cgroup moves, setuid)
};

/// How it ended.
struct ProcResult {
  int exit_code = -1;  ///< WEXITSTATUS, or 128+N after a signal
  bool signaled = false;
  double seconds = 0;
};

/// Starts the process; returns its pid.
pid_t spawn(const ProcSpec& spec);

/// Waits for pid; fails the test (returns exit -1) if it has not ended within the timeout,
/// after SIGKILLing it.
ProcResult wait_for(pid_t pid, std::chrono::milliseconds timeout = std::chrono::seconds(60));

/// Path of the cronitor-exec under test.
std::string exec_path();

/// Reads a whole file ("" when missing).
std::string slurp(const std::string& path);

/// Writes a whole file.
void write_file(const std::string& path, const std::string& data);

/// Every event in the spool folder's *.jsonl files (metric files included), in file order;
/// a line that does not decode fails the test.
std::vector<RunEvent> spool_events(const std::string& dir);

/// The names of the spool folder's entries.
std::vector<std::string> dir_entries(const std::string& dir);

/// Runs cronitor-exec with the test agent socket and spool of `dir`, for the common cases.
struct WrapperRun {
  ProcResult result;
  std::string out, err;
};
WrapperRun run_wrapper(const TempDir& dir, std::vector<std::string> args, std::vector<std::string> env = {},
                       const std::string& stdin_data = "");

}  // namespace cronitor::testing
