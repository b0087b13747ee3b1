// The real daemon on a simulated clock (agent/daemon/clock.h, tests/support/simulated_clock.h):
// hours of a job's life pass in a moment of wall time. A job due every 10 minutes never runs:
// its misses are alerted at slot + grace, three of them, then it goes quiet and the reminder
// comes an hour after the last alert with the count of misses folded meanwhile; a snooze holds
// what falls due while it lasts and its end notice comes at its end; a run of the real wrapper
// after all that is placed on the simulated clock and recovers the job.
#include "tests/support/simulated_clock.h"

#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <iostream>
#include <vector>

#include "tests/support/daemon_test.h"
#include "tests/support/http_recorder.h"

namespace {

using namespace cronitor::testing;
using Micros = std::chrono::sys_time<std::chrono::microseconds>;

class SimulatedClock : public DaemonTest {
 protected:
  SimulatedClock() : DaemonTest("agent-simclock") {}
  /// The webhook events received, in order: (event, at, summary).
  static std::vector<json> received(HttpRecorder& hook) {
    std::vector<json> out;
    for (const auto& r : hook.requests()) {
      auto body = json::parse(r.value("body", std::string()), nullptr, false);
      if (body.is_object()) out.push_back(body);
    }
    return out;
  }
  /// `t` as the alerts' "at" says it (whole seconds, UTC).
  static std::string iso(Micros t) {
    const std::time_t s = std::chrono::floor<std::chrono::seconds>(t).time_since_epoch().count();
    std::tm tm{};
    ::gmtime_r(&s, &tm);
    char buf[40];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
    return buf;
  }
  static std::string at_of(const json& body) { return body.value("at", ""); }
};

TEST_F(SimulatedClock, AMissAReminderAndASnoozeEndComeAtTheirSimulatedTimesInSeconds) {
  HttpRecorder hook(kRecorder, dir_.string());
  ASSERT_GT(hook.port(), 0);
  std::ofstream(config()) << sandbox_config("sim-host") << "defaults:\n  alert_rate_limit: 0\n"
                          << "notify:\n  default: [\"webhook:" << hook.url("/hook") << "\"]\n"
                          << "monitors:\n"
                          << "  - key: tenminutely\n"
                          << "    schedule: \"*/10 * * * *\"\n"
                          << "    grace_seconds: 60\n";
  fs::permissions(config(), fs::perms::owner_read | fs::perms::owner_write);
  // The simulated day starts at 30 s past the next whole hour: the first slot is at :10.
  const auto hour = std::chrono::floor<std::chrono::hours>(std::chrono::system_clock::now()) + std::chrono::hours(1);
  const Micros h0 = std::chrono::time_point_cast<std::chrono::microseconds>(hour);
  ASSERT_TRUE(daemon_.start(config(), socket(), {simulated_clock_arg(h0 + 30s)})) << daemon_.log();
  const auto wall_start = std::chrono::steady_clock::now();

  // 11 minutes on: the :10 slot plus its minute of grace passed, the first miss is alerted.
  ASSERT_GT(move_clock(socket(), 11min), 0) << daemon_.log();
  auto first = hook.wait_for([](const json& r) { return has(r.value("body", ""), "\"missed\""); }, 10s);
  ASSERT_FALSE(first.is_null()) << daemon_.log();
  EXPECT_EQ(at_of(json::parse(first["body"].get<std::string>())), iso(h0 + 11min));

  // To 01:35: misses at :11, :21, :31 alerted (the third says it goes quiet), those at :41 ...
  // 01:31 folded, and at 01:31, an hour after the last alert, the reminder with their count.
  const int64_t later = move_clock(socket(), 84min);
  ASSERT_GT(later, 0) << daemon_.log();
  EXPECT_EQ(later / 60000000, (h0 + 95min).time_since_epoch().count() / 60000000);
  auto reminder = hook.wait_for([](const json& r) { return has(r.value("body", ""), "\"still-failing\""); }, 10s);
  ASSERT_FALSE(reminder.is_null()) << daemon_.log();

  // A 30-minute snooze from now: the misses meanwhile are recorded, not sent; its end is told.
  const Micros now{std::chrono::microseconds(later)};
  auto sn = control(socket(), {{"control", "snooze"},
                               {"until_us", (now + 30min).time_since_epoch().count()},
                               {"reason", "simulated maintenance"}});
  ASSERT_TRUE(sn.value("ok", false)) << sn.dump();
  ASSERT_GT(move_clock(socket(), 45min), 0) << daemon_.log();
  auto ended = hook.wait_for([](const json& r) { return has(r.value("body", ""), "\"snooze-ended\""); }, 10s);
  ASSERT_FALSE(ended.is_null()) << daemon_.log();

  // A run of the real wrapper, stamped by the real clock, counts at the simulated time: recovered.
  ASSERT_EQ(run_command({kExec, "tenminutely", "--", "true"}).exit_code, 0);
  ASSERT_FALSE(hook.wait_for([](const json& r) { return has(r.value("body", ""), "\"recovered\""); }, 10s).is_null())
      << daemon_.log();
  const auto wall = std::chrono::steady_clock::now() - wall_start;

  // Everything in time order, each at its own simulated instant.
  std::vector<std::pair<std::string, std::string>> got;  // (event, at)
  for (const auto& b : received(hook)) got.emplace_back(b.value("event", ""), at_of(b));
  const std::vector<std::pair<std::string, std::string>> want{
      {"missed", iso(h0 + 11min)},        {"missed", iso(h0 + 21min)}, {"missed", iso(h0 + 31min)},
      {"still-failing", iso(h0 + 91min)},  // 01:31: the last alert + realert_interval (1 hour)
      {"snooze-ended", iso(now + 30min)},
  };
  ASSERT_GE(got.size(), want.size() + 1) << daemon_.log();
  for (size_t k = 0; k < want.size(); ++k) EXPECT_EQ(got[k], want[k]) << k;
  EXPECT_EQ(got[want.size()].first, "recovered");
  EXPECT_EQ(got.size(), want.size() + 1) << "nothing sent while snoozed";
  auto remind = json::parse(reminder["body"].get<std::string>());
  EXPECT_TRUE(has(remind.value("summary", ""), "6 more faults since the last alert")) << remind.dump(1);
  auto notice = json::parse(ended["body"].get<std::string>());
  EXPECT_TRUE(has(notice.value("summary", ""), "1 incident is still open")) << notice.dump(1);
  // Two and a quarter simulated hours took seconds.
  EXPECT_LT(wall, 10s);
  std::cout << "simulated 2h20m in " << std::chrono::duration_cast<std::chrono::milliseconds>(wall).count()
            << " ms of wall time\n";
}

}  // namespace
