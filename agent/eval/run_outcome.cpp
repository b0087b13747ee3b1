#include "agent/eval/run_outcome.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <string>

#include "agent/eval/monitor.h"
#include "agent/eval/run_event.h"
#include "common/text.h"

namespace cronitor::agent {
namespace {

bool number(std::string_view s, int max, int& out) {
  if (s.empty() || s.size() > 4) return false;
  out = 0;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    out = out * 10 + (c - '0');
  }
  return out <= max;
}

bool listed(const std::vector<int>& codes, int code) {
  return std::find(codes.begin(), codes.end(), code) != codes.end();
}

}  // namespace

Result<FailureWindow> parse_failure_window(std::string_view text) {
  const std::string shown = "\"" + std::string(text.substr(0, 40)) + "\"";
  const std::string_view t = trim_space(text);
  const size_t of = t.find(" of ");
  FailureWindow w;
  if (of == std::string_view::npos || !number(trim_space(t.substr(0, of)), kMaxFailureWindow, w.failures) ||
      !number(trim_space(t.substr(of + 4)), kMaxFailureWindow, w.runs))
    return fail(shown + ": expected a number of consecutive failures, or \"K of N\" (e.g. \"3 of 10\")");
  if (w.failures < 1 || w.runs < w.failures)
    return fail(shown + ": K of N needs 1 <= K <= N <= " + std::to_string(kMaxFailureWindow));
  return w;
}

Result<std::vector<int>> parse_exit_codes(std::string_view text) {
  std::vector<int> out;
  while (true) {
    const size_t comma = text.find(',');
    int code = 0;
    if (!number(trim_space(text.substr(0, comma)), 255, code))
      return fail("\"" + std::string(trim_space(text.substr(0, comma)).substr(0, 20)) +
                  "\": expected exit codes 0-255");
    out.push_back(code);
    if (comma == std::string_view::npos) return out;
    text.remove_prefix(comma + 1);
  }
}

Outcome classify(const MonitorConfig& c, const RunEvent& ev) {
  const bool failed = ev.state == RunEvent::State::kFail;
  if (!ev.exit_code || !ev.signal.empty() || ev.oom || ev.timeout)
    return failed ? Outcome::kFailure : Outcome::kSuccess;
  const int code = *ev.exit_code;
  if (listed(c.success_codes, code)) return Outcome::kSuccess;
  if (listed(c.warning_codes, code)) return Outcome::kWarning;
  // With a success list, a code outside it fails even if the wrapper saw 0 as success.
  if (!c.success_codes.empty()) return Outcome::kFailure;
  return failed ? Outcome::kFailure : Outcome::kSuccess;
}

int remember_outcome(const MonitorConfig& c, MonitorState& s, bool failed) {
  s.recent_outcomes = (s.recent_outcomes << 1) | (failed ? 1u : 0u);
  const int n = std::clamp(c.failure_window, 1, kMaxFailureWindow);
  const uint64_t mask = n == 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1;
  return std::popcount(s.recent_outcomes & mask);
}

}  // namespace cronitor::agent
