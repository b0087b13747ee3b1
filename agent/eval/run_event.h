// The agent's view of one wrapper event (run, complete, fail). The wire format lives in
// common/event.h; agent/sources/event_adapter.cpp converts between the two.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "schedule/zone.h"

namespace cronitor::agent {

using schedule::Instant;

struct RunEvent {
  /// kUnknown: the run ended and nobody saw how (cron's log at -L 1 says only that it started):
  /// neither a success nor a failure, never the last success, never a recovery.
  enum class State { kRun, kComplete, kFail, kUnknown };
  std::string key;
  std::string run_id;
  State state = State::kRun;
  Instant ts{};  // when it happened, by the wrapper's clock
  std::string host;
  int64_t pid = 0;
  int64_t uid = -1;
  int64_t wrapper_pid = 0;  // run events of cronitor-exec: its pid (SO_PEERCRED over the socket)
  std::optional<int> exit_code;
  std::string signal;      // "SIGKILL", or empty
  bool oom = false;        // the OOM killer killed a process of the run (agent/sources/oom_kill_log.h)
  bool oom_hint = false;   // the wrapper's memory cgroup counter rose: the cgroup, not the job
  std::string oom_victim;  // with oom: the process the kernel killed, "python3 (pid 6217)"
  std::string oom_other;   // with oom_hint only: an OOM kill of another process in the period
  bool oom_maybe = false;  // oom_other's process group could not be read: it may have been the run's
  std::optional<int64_t> memory_limit_bytes;  // with oom: the memory cgroup's limit, from the kernel
  std::optional<int64_t> peak_memory_bytes;   // the wrapper's peak_memory_bytes
  bool timeout = false;
  std::optional<int64_t> duration_ms;
  std::string output_tail;
  std::map<std::string, double> metrics;
  std::string message;  // e.g. why the command could not start
  std::string environment;
};

const char* state_name(RunEvent::State s);

}  // namespace cronitor::agent
