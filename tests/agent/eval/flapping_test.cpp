// Flapping detection in the evaluator, with a simulated clock: a job that keeps changing between
// failing and healthy makes one "flapping" incident instead of an open and a resolve per run.
#include <gtest/gtest.h>

#include "agent/eval/evaluator.h"
#include "agent/state/state_json.h"
#include "tests/agent/eval_helpers.h"

namespace cronitor::agent {
namespace {

using namespace std::chrono_literals;
using testing::at;
using testing::monitor;
using testing::Sim;
using K = Alert::Kind;
using T = Action::Type;

int count_actions(const Actions& a, T type, std::optional<K> kind = std::nullopt) {
  int n = 0;
  for (const auto& x : a)
    if (x.type == type && (!kind || x.alert.kind == *kind)) ++n;
  return n;
}

/// Runs every minute from `from`, failing on odd runs; returns the start of the last one.
Instant alternate(Sim& s, Instant from, int runs) {
  Instant t = from;
  for (int i = 0; i < runs; ++i) {
    t = from + std::chrono::minutes(i);
    s.tick(t);
    s.job(t + 1s, 1, i % 2 == 0 ? 3 : 0);
  }
  return t;
}

TEST(Flapping, AlternatingJobGetsOneFlappingIncidentNotOnePerRun) {
  auto c = monitor("flappy", "* * * * *");
  ASSERT_EQ(c.flapping_threshold, 5);  // the defaults
  ASSERT_EQ(c.flapping_window, 1h);
  Sim s(c, at("2026-03-01T10:00:00Z"));
  alternate(s, at("2026-03-01T10:00:00Z"), 200);
  // fail (open), ok (resolve), fail (open), ok (resolve), fail: the fifth change is flapping.
  EXPECT_EQ(count_actions(s.all, T::kOpen, K::kFailed), 2);
  EXPECT_EQ(count_actions(s.all, T::kResolve), 2);
  EXPECT_EQ(count_actions(s.all, T::kOpen, K::kFlapping), 1);
  EXPECT_EQ(count_actions(s.all, T::kUpdate), 0);
  EXPECT_EQ(count_actions(s.all, T::kNotice), 0);
  // Every later failure is recorded, none is sent: 100 failures, 3 of them before flapping.
  EXPECT_EQ(count_actions(s.all, T::kSuppressed), 98);
  ASSERT_TRUE(s.state.incident);
  EXPECT_EQ(s.state.incident->kind, "flapping");
  EXPECT_TRUE(s.state.flapping);
  EXPECT_LE(s.state.flips.size(), 5u);
  for (const auto& a : s.all)
    if (a.alert.kind == K::kFlapping) {
      EXPECT_NE(a.alert.summary.find("flappy is flapping: 5 changes between failing and healthy within 1h"),
                std::string::npos)
          << a.alert.summary;
    }
}

TEST(Flapping, StableAgainAfterAWholeWindowResolvesOnce) {
  Sim s(monitor("flappy", "* * * * *"), at("2026-03-01T10:00:00Z"));
  Instant last = alternate(s, at("2026-03-01T10:00:00Z"), 20);  // the last run (odd) succeeds
  const Instant last_flip = last + 2s;
  s.all.clear();
  // Healthy runs every minute: quiet until a whole window passed since the last change.
  Instant t = last;
  while (t < last_flip + 1h - 2min) {
    t += 1min;
    EXPECT_TRUE(s.tick(t).empty());
    EXPECT_TRUE(s.job(t + 1s).empty());
  }
  EXPECT_TRUE(s.state.flapping);
  Actions a = s.tick(last_flip + 1h);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].type, T::kResolve);
  EXPECT_EQ(a[0].alert.kind, K::kRecovered);
  EXPECT_EQ(a[0].alert.at, last_flip + 1h);
  EXPECT_NE(a[0].alert.summary.find("flappy is stable again"), std::string::npos) << a[0].alert.summary;
  EXPECT_FALSE(s.state.incident);
  EXPECT_FALSE(s.state.flapping);
  // A failure after that is an ordinary incident again.
  Actions f = s.job(last_flip + 1h + 30s, 1, 2);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].type, T::kOpen);
  EXPECT_EQ(f[0].alert.kind, K::kFailed);
}

TEST(Flapping, StableAsFailingSaysSoOnceAndKeepsTheIncident) {
  Sim s(monitor("flappy", "* * * * *"), at("2026-03-01T10:00:00Z"));
  Instant last = alternate(s, at("2026-03-01T10:00:00Z"), 21);  // ends with a failure
  ASSERT_TRUE(s.state.flapping);
  const Instant last_flip = last + 2s;
  s.all.clear();
  Instant t = last;
  while (t < last_flip + 1h - 2min) {
    t += 1min;
    s.tick(t);
    s.job(t + 1s, 1, 4);
  }
  EXPECT_EQ(count_actions(s.all, T::kOpen) + count_actions(s.all, T::kUpdate) + count_actions(s.all, T::kResolve), 0);
  EXPECT_GT(count_actions(s.all, T::kSuppressed), 50);
  EXPECT_EQ(next_deadline(s.config, s.state), last_flip + 1h);  // before the next slot's deadline
  Actions a = s.tick(last_flip + 1h);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].type, T::kUpdate);
  EXPECT_NE(a[0].alert.summary.find("stopped flapping and keeps failing"), std::string::npos) << a[0].alert.summary;
  ASSERT_TRUE(s.state.incident);
  EXPECT_EQ(s.state.incident->kind, "failed");
  // From here the ordinary rules: a healthy run resolves it.
  Actions ok = s.job(last_flip + 1h + 30s);
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0].type, T::kResolve);
}

TEST(Flapping, ChangesSpreadWiderThanTheWindowAreNotFlapping) {
  Sim s(monitor("hourly", "0 * * * *"), at("2026-03-01T00:30:00Z"));
  // One change every hour: never five within one hour.
  for (int h = 1; h < 30; ++h) {
    Instant slot = at("2026-03-01T00:00:00Z") + std::chrono::hours(h);
    s.tick(slot);
    s.job(slot + 1s, 1, h % 2 ? 1 : 0);
  }
  EXPECT_EQ(count_actions(s.all, T::kOpen, K::kFlapping), 0);
  EXPECT_EQ(count_actions(s.all, T::kOpen, K::kFailed), 15);
  EXPECT_EQ(count_actions(s.all, T::kResolve), 14);
}

TEST(Flapping, ThresholdZeroTurnsItOff) {
  auto c = monitor("flappy", "* * * * *");
  c.flapping_threshold = 0;
  Sim s(c, at("2026-03-01T10:00:00Z"));
  alternate(s, at("2026-03-01T10:00:00Z"), 40);
  EXPECT_EQ(count_actions(s.all, T::kOpen, K::kFailed), 20);
  EXPECT_EQ(count_actions(s.all, T::kResolve), 20);
  EXPECT_EQ(count_actions(s.all, T::kOpen, K::kFlapping), 0);
}

TEST(Flapping, MissesCountAsFaults) {
  auto c = monitor("flappy", "* * * * *", "UTC", 30);
  Sim s(c, at("2026-03-01T10:00:00Z"));
  // A run every other minute: missed, ok, missed, ok, ...
  for (int i = 1; i <= 30; ++i) {
    Instant slot = at("2026-03-01T10:00:00Z") + std::chrono::minutes(i);
    if (i % 2 == 0) s.job(slot + 5s);
    s.tick(slot + 31s);
  }
  EXPECT_EQ(count_actions(s.all, T::kOpen, K::kFlapping), 1);
  EXPECT_EQ(count_actions(s.all, T::kOpen) + count_actions(s.all, T::kUpdate) + count_actions(s.all, T::kResolve), 5);
}

TEST(Flapping, StateSurvivesARestart) {
  Sim s(monitor("flappy", "* * * * *"), at("2026-03-01T10:00:00Z"));
  alternate(s, at("2026-03-01T10:00:00Z"), 9);
  ASSERT_TRUE(s.state.flapping);
  auto back = monitor_state_from_json(nlohmann::json::parse(state_text(s.state)));
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_TRUE(back->flapping);
  EXPECT_EQ(back->faulty, s.state.faulty);
  EXPECT_EQ(back->flips, s.state.flips);
  EXPECT_EQ(to_json(*back), to_json(s.state));
}

}  // namespace
}  // namespace cronitor::agent
