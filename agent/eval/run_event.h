// The agent's view of one wrapper event (run, complete, fail). The wire format lives in
// common/event.h; agent/event_adapter.cpp converts between the two.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "schedule/zone.h"

namespace cronitor::agent {

using schedule::Instant;

struct RunEvent {
  enum class State { kRun, kComplete, kFail };
  std::string key;
  std::string run_id;
  State state = State::kRun;
  Instant ts{};  // when it happened, by the wrapper's clock
  std::string host;
  int64_t pid = 0;
  int64_t uid = -1;
  int64_t wrapper_pid = 0;  // run events of cronitor-exec: its pid (SO_PEERCRED over the socket)
  std::optional<int> exit_code;
  std::string signal;  // "SIGKILL", or empty
  bool oom = false;
  bool timeout = false;
  std::optional<int64_t> duration_ms;
  std::string output_tail;
  std::map<std::string, double> metrics;
  std::string message;  // e.g. why the command could not start
  std::string environment;
};

const char* state_name(RunEvent::State s);

}  // namespace cronitor::agent
