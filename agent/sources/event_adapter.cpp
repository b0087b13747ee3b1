#include "agent/sources/event_adapter.h"

#include "schedule/civil.h"

namespace cronitor::agent {
namespace {

bool fixed_digits(std::string_view s, size_t at, size_t n, int& out) {
  out = 0;
  if (at + n > s.size()) return false;
  for (size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

}  // namespace

Result<Instant> parse_wire_timestamp(std::string_view ts) {
  // YYYY-MM-DDTHH:MM:SS.mmmZ
  int y, mo, d, h, mi, s, ms;
  if (ts.size() != 24 || ts[4] != '-' || ts[7] != '-' || ts[10] != 'T' || ts[13] != ':' || ts[16] != ':' ||
      ts[19] != '.' || ts[23] != 'Z' || !fixed_digits(ts, 0, 4, y) || !fixed_digits(ts, 5, 2, mo) ||
      !fixed_digits(ts, 8, 2, d) || !fixed_digits(ts, 11, 2, h) || !fixed_digits(ts, 14, 2, mi) ||
      !fixed_digits(ts, 17, 2, s) || !fixed_digits(ts, 20, 3, ms) || mo < 1 || mo > 12 || d < 1 ||
      d > static_cast<int>(schedule::days_in_month(y, mo)) || h > 23 || mi > 59 || s > 60)
    return fail("bad timestamp \"" + std::string(ts.substr(0, 40)) + "\"");
  int64_t secs = schedule::days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 + h * 3600 +
                 mi * 60 + s;
  return Instant(std::chrono::microseconds(secs * 1000000 + int64_t{ms} * 1000));
}

Result<RunEvent> from_wire(const cronitor::RunEvent& w) {
  RunEvent e;
  switch (w.state) {
    case RunState::kRun:
      e.state = RunEvent::State::kRun;
      break;
    case RunState::kComplete:
      e.state = RunEvent::State::kComplete;
      break;
    case RunState::kFail:
      e.state = RunEvent::State::kFail;
      break;
    case RunState::kUnknown:
      e.state = RunEvent::State::kUnknown;
      break;
    case RunState::kMetric:
      return fail("metric events are not runs");
  }
  auto ts = parse_wire_timestamp(w.ts);
  if (!ts) return std::unexpected(ts.error());
  e.ts = *ts;
  e.key = w.key;
  e.run_id = w.run_id;
  e.host = w.host;
  e.pid = w.pid;
  e.uid = w.uid;
  e.wrapper_pid = w.wrapper_pid.value_or(0);
  e.environment = w.env.value_or("");
  if (is_terminal(w.state)) {
    e.exit_code = w.exit_code;
    e.signal = w.signal.value_or("");
    e.oom = w.oom;
    e.oom_hint = w.oom;  // until the kernel's log says whose process it was (OomWatch::attribute)
    e.peak_memory_bytes = w.peak_memory_bytes;
    e.timeout = w.timeout;
    e.duration_ms = w.duration_ms;
    e.output_tail = w.output_tail;
    e.metrics = w.metrics;
    e.message = w.error.value_or("");
    // A failure that no process's exit tells (an Assert*= the manager failed, a unit whose
    // resources could not be set up): its error says why, not "exit code 0".
    if (w.state == RunState::kFail && w.exit_code == 0 && !w.signal && !w.timeout && !w.oom && !e.message.empty())
      e.exit_code.reset();
  }
  return e;
}

}  // namespace cronitor::agent
