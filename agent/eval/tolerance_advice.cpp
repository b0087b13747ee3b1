#include "agent/eval/tolerance_advice.h"

#include <algorithm>
#include <cmath>

#include "common/duration.h"

namespace cronitor::agent {
namespace {

using schedule::Instant;
using std::chrono::milliseconds;
using std::chrono::seconds;

// The value at quantile q of sorted `v` (nearest rank).
int64_t quantile(const std::vector<int64_t>& v, double q) {
  const size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

// Rounds up to a step people write: 10 s under 2 min, 1 min under 1 h, 5 min under 6 h, else 1 h.
seconds round_up(double secs) {
  const int64_t s = static_cast<int64_t>(std::ceil(secs));
  const int64_t step = s < 120 ? 10 : s < 3600 ? 60 : s < 6 * 3600 ? 300 : 3600;
  return seconds((s + step - 1) / step * step);
}

// The latest slot of `schedule` at or before `t`, looking back one day at most (start delays are
// minutes, not days: a run that far from any slot tells nothing about the delay).
std::optional<Instant> slot_before(const schedule::Schedule& schedule, const schedule::Zone& zone, Instant t) {
  std::optional<Instant> slot;
  Instant at = t - std::chrono::hours(24);
  for (int i = 0; i < 2000; ++i) {
    auto n = schedule.next(at, zone);
    if (!n || *n > t) break;
    slot = n;
    at = *n;
  }
  return slot;
}

}  // namespace

ToleranceAdvice advise(const std::string& key, const std::vector<RunRow>& runs,
                       const std::optional<schedule::Schedule>& schedule, const schedule::Zone& zone,
                       seconds default_grace) {
  ToleranceAdvice a;
  a.key = key;
  a.grace = default_grace;
  std::vector<int64_t> durations, delays;
  for (const auto& r : runs) {
    // A start systemd skipped (agent/eval/skipped_run.h) ran nothing: no duration, no delay.
    if (r.status == "running" || !r.duration_ms || r.status.starts_with("skipped")) continue;
    ++a.runs;
    if (r.status == "failed") ++a.failures;
    durations.push_back(*r.duration_ms);
    // Interval schedules count from the previous run: they have no slot to be late for.
    if (schedule && r.started_ms && !schedule->interval() && !schedule->at_reboot()) {
      const Instant start{milliseconds(*r.started_ms)};
      if (auto slot = slot_before(*schedule, zone, start))
        delays.push_back(std::chrono::duration_cast<milliseconds>(start - *slot).count());
    }
  }
  if (!durations.empty()) {
    std::sort(durations.begin(), durations.end());
    a.p50 = milliseconds(quantile(durations, 0.5));
    a.p95 = milliseconds(quantile(durations, 0.95));
    a.max = milliseconds(durations.back());
  }
  if (!delays.empty()) {
    std::sort(delays.begin(), delays.end());
    a.delay_p50 = milliseconds(quantile(delays, 0.5));
    a.delay_p95 = milliseconds(quantile(delays, 0.95));
    // Twice the usual lateness and a minute besides, never under the configured default.
    a.grace = std::max(default_grace, round_up(2.0 * static_cast<double>(a.delay_p95->count()) / 1000.0 + 60.0));
  }
  if (a.runs < kMinRunsForRuntime) {
    a.why = std::to_string(a.runs) + " finished run(s); " + std::to_string(kMinRunsForRuntime) +
            " are needed to suggest a max runtime";
  } else {
    // 2.5x the p95, and never below 1.25x the longest run seen: no past run would have alerted.
    const double p95 = static_cast<double>(a.p95->count()) / 1000.0,
                 longest = static_cast<double>(a.max->count()) / 1000.0;
    a.max_runtime = round_up(std::max({2.5 * p95, 1.25 * longest, 10.0}));
  }
  return a;
}

// "1h5m": format_duration without its spaces, so that a `# cronitor:` value stays one word.
static std::string compact(seconds d) {
  std::string s = format_duration(d);
  s.erase(std::remove(s.begin(), s.end(), ' '), s.end());
  return s;
}

std::string ToleranceAdvice::comment() const {
  std::string out = "# cronitor: grace=" + compact(grace);
  if (max_runtime) out += " assertion=\"metric.duration < " + compact(*max_runtime) + "\"";
  return out;
}

std::string ToleranceAdvice::yaml() const {
  std::string out = "- key: " + key + "\n  grace_seconds: " + std::to_string(grace.count()) + "\n";
  if (max_runtime) out += "  assertions: [\"metric.duration < " + compact(*max_runtime) + "\"]\n";
  return out;
}

}  // namespace cronitor::agent
