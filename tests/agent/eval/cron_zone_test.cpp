// The zone cron really runs jobs in after the host's zone changed under it (cron_zone.h), with
// an injected clock: the warning comes once, and goes when cron restarts.
#include "agent/eval/cron_zone.h"

#include <gtest/gtest.h>

#include "tests/agent/eval_helpers.h"

namespace cronitor::agent {
namespace {

using namespace std::chrono_literals;
using testing::at;
using K = Alert::Kind;
using T = Action::Type;

CronZoneObservation look(Instant now, int64_t pid, uint64_t start, Instant started, std::string zone,
                         Instant zone_changed) {
  CronZoneObservation o;
  o.now = now;
  o.cron_pid = pid;
  o.cron_start = start;
  o.cron_started_at = started;
  o.host_zone = std::move(zone);
  o.zone_changed_at = zone_changed;
  o.host = "vm1";
  return o;
}

TEST(CronZone, ChangeUnderRunningCronWarnsOnceAndRestartSwitches) {
  CronZoneState s;
  const Instant boot = at("2026-05-01T08:00:00Z");
  const Instant installed = at("2026-04-01T00:00:00Z");
  // Cron started after the zone was set: it runs in it; nothing to say.
  EXPECT_TRUE(observe_cron_zone(s, look(boot + 1min, 812, 4000, boot + 40s, "Europe/Berlin", installed)).empty());
  EXPECT_EQ(cron_jobs_zone(s), "Europe/Berlin");
  // The admin runs `timedatectl set-timezone Europe/Lisbon`; cron keeps running.
  const Instant changed = at("2026-05-03T10:00:00Z");
  auto warn = observe_cron_zone(s, look(changed + 200ms, 812, 4000, boot + 40s, "Europe/Lisbon", changed));
  ASSERT_EQ(warn.size(), 1u);
  EXPECT_EQ(warn[0].type, T::kOpen);
  EXPECT_EQ(warn[0].alert.kind, K::kZoneChanged);
  EXPECT_EQ(warn[0].alert.key, "host:timezone");
  EXPECT_EQ(warn[0].alert.summary, "cron still runs jobs in Europe/Berlin; restart cron to apply Europe/Lisbon on vm1");
  EXPECT_EQ(cron_jobs_zone(s), "Europe/Berlin");
  // Looking again (a second file written, a cron check) says nothing more.
  EXPECT_TRUE(observe_cron_zone(s, look(changed + 1s, 812, 4000, boot + 40s, "Europe/Lisbon", changed)).empty());
  EXPECT_TRUE(observe_cron_zone(s, look(changed + 2h, 812, 4000, boot + 40s, "Europe/Lisbon", changed)).empty());
  // cron restarts: a new process reads the new zone; the warning ends.
  const Instant restart = at("2026-05-04T09:00:00Z");
  auto ok = observe_cron_zone(s, look(restart + 10s, 9031, 90000, restart, "Europe/Lisbon", changed));
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0].type, T::kResolve);
  EXPECT_EQ(ok[0].alert.key, "host:timezone");
  EXPECT_EQ(ok[0].alert.incident_opened, changed + 200ms);
  EXPECT_EQ(ok[0].alert.summary, "cron runs jobs in Europe/Lisbon now on vm1");
  EXPECT_EQ(cron_jobs_zone(s), "Europe/Lisbon");
  EXPECT_FALSE(s.warned);
}

TEST(CronZone, ZoneSetBackEndsTheWarningWithoutARestart) {
  CronZoneState s;
  const Instant boot = at("2026-05-01T08:00:00Z");
  observe_cron_zone(s, look(boot + 1min, 812, 4000, boot, "UTC", boot - 24h));
  EXPECT_EQ(observe_cron_zone(s, look(boot + 1h, 812, 4000, boot, "Asia/Tokyo", boot + 1h)).size(), 1u);
  auto back = observe_cron_zone(s, look(boot + 2h, 812, 4000, boot, "UTC", boot + 2h));
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].type, T::kResolve);
  EXPECT_EQ(cron_jobs_zone(s), "UTC");
}

TEST(CronZone, AgentRestartedAfterTheChangeKeepsCronsZoneFromState) {
  // The agent saw cron in Berlin, then was stopped; the zone changed; the agent starts again and
  // finds the same cron process (its state.db remembers it): still Berlin, warned once.
  CronZoneState s;
  const Instant boot = at("2026-05-01T08:00:00Z");
  observe_cron_zone(s, look(boot + 1min, 812, 4000, boot, "Europe/Berlin", boot - 24h));
  const Instant changed = boot + 30h;
  auto first = observe_cron_zone(s, look(changed + 1h, 812, 4000, boot, "Europe/Lisbon", changed));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(cron_jobs_zone(s), "Europe/Berlin");
  // A cron the agent never saw that started before the change: the zone the agent read before.
  CronZoneState fresh;
  fresh.host_zone = "Europe/Berlin";  // read by an earlier look, no cron then
  observe_cron_zone(fresh, look(changed + 1h, 700, 3000, boot, "Europe/Lisbon", changed));
  EXPECT_EQ(cron_jobs_zone(fresh), "Europe/Berlin");
  // Nothing known at all: the files' zone is all there is.
  CronZoneState blank;
  EXPECT_TRUE(observe_cron_zone(blank, look(changed + 1h, 700, 3000, boot, "Europe/Lisbon", changed)).empty());
  EXPECT_EQ(cron_jobs_zone(blank), "Europe/Lisbon");
}

TEST(CronZone, PidReuseIsANewCron) {
  CronZoneState s;
  const Instant boot = at("2026-05-01T08:00:00Z");
  observe_cron_zone(s, look(boot + 1min, 812, 4000, boot, "Europe/Berlin", boot - 24h));
  ASSERT_EQ(observe_cron_zone(s, look(boot + 2h, 812, 4000, boot, "Europe/Lisbon", boot + 2h)).size(), 1u);
  // Same pid, another start time: a cron started after the change.
  auto r = observe_cron_zone(s, look(boot + 3h, 812, 9999, boot + 3h, "Europe/Lisbon", boot + 2h));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].type, T::kResolve);
}

TEST(CronZone, EvaluatedInCronsZoneNoFalseMissAcrossTheChange) {
  // A nightly 02:30 job: cron started in Berlin, the host moved to Lisbon, cron not restarted.
  // The job still runs at 02:30 Berlin (00:30 UTC in summer): evaluated in cron's zone, no miss.
  CronZoneState z;
  const Instant boot = at("2026-06-01T08:00:00Z");
  observe_cron_zone(z, look(boot, 812, 4000, boot, "Europe/Berlin", boot - 24h));
  observe_cron_zone(z, look(boot + 2h, 812, 4000, boot, "Europe/Lisbon", boot + 2h));
  auto c = testing::monitor("nightly", "30 2 * * *", cron_jobs_zone(z));
  testing::Sim s(c, boot + 2h);
  EXPECT_EQ(s.state.expected, at("2026-06-02T00:30:00Z"));
  EXPECT_TRUE(s.job(at("2026-06-02T00:30:00Z"), 60).empty());
  EXPECT_TRUE(s.tick(at("2026-06-02T02:00:00Z")).empty());  // 02:30 Lisbon would have been 01:30 UTC
}

}  // namespace
}  // namespace cronitor::agent
