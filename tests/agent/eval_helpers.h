// Helpers for driving the evaluator with a simulated clock.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "agent/eval/evaluator.h"
#include "agent/eval/monitor_schedule.h"
#include "schedule/iso8601.h"

namespace cronitor::agent::testing {

inline Instant at(std::string_view iso, std::string_view zone = "UTC") {
  auto z = schedule::Zone::load(zone);
  EXPECT_TRUE(z.has_value()) << zone;
  auto t = schedule::parse_iso8601(iso, *z);
  EXPECT_TRUE(t.has_value()) << iso << ": " << (t ? "" : t.error().message);
  return t ? *t : Instant{};
}

inline MonitorConfig monitor(std::string key, std::string sched, std::string zone = "UTC", int grace_s = 60) {
  MonitorConfig c;
  c.key = std::move(key);
  auto s = parse_monitor_schedule(sched);
  EXPECT_TRUE(s.has_value()) << sched << ": " << (s ? "" : s.error().message);
  if (s) c.schedule = *s;
  auto z = schedule::Zone::load(zone);
  EXPECT_TRUE(z.has_value()) << zone;
  if (z) c.zone = *z;
  c.grace = std::chrono::seconds(grace_s);
  return c;
}

inline RunEvent event(std::string key, std::string run_id, RunEvent::State state, Instant ts, int exit_code = 0,
                      int64_t duration_ms = 1000) {
  RunEvent e;
  e.key = std::move(key);
  e.run_id = std::move(run_id);
  e.state = state;
  e.ts = ts;
  e.host = "testhost";
  if (state == RunEvent::State::kComplete || state == RunEvent::State::kFail) {  // kUnknown: neither
    e.exit_code = exit_code;
    e.duration_ms = duration_ms;
  }
  return e;
}

/// A monitor plus its state, fed inputs; collects every action.
struct Sim {
  MonitorConfig config;
  MonitorState state;
  HostState host;
  Actions all;
  int run_seq = 0;

  Sim(MonitorConfig c, Instant start) : config(std::move(c)), state(initial_state(config, start)) {}

  Actions tick(Instant now) { return take(evaluate(config, state, TimeInput{now}, host)); }
  Actions send(const RunEvent& e) { return take(evaluate(config, state, &e, host)); }
  /// A run that starts at `start` and ends `seconds` later with `exit_code`.
  Actions job(Instant start, int seconds = 1, int exit_code = 0) {
    std::string id = "run-" + std::to_string(++run_seq);
    Actions out = send(event(config.key, id, RunEvent::State::kRun, start));
    auto end = event(config.key, id, exit_code == 0 ? RunEvent::State::kComplete : RunEvent::State::kFail,
                     start + std::chrono::seconds(seconds), exit_code, int64_t{seconds} * 1000);
    auto more = send(end);
    out.insert(out.end(), more.begin(), more.end());
    return out;
  }
  Actions take(Actions a) {
    all.insert(all.end(), a.begin(), a.end());
    return a;
  }
};

}  // namespace cronitor::agent::testing
