// Each schedule form and zone form the agent accepts, as Sentry and Cronitor receive it: a form
// Sentry's validator takes (tests/support/sentry_rules.h) that fires at the same times, or no
// monitor config and a reason (the table in uplink/README.md).
#include "uplink/upstream_schedule.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/sentry_rules.h"
#include "uplink/upstream.h"

namespace cronitor::uplink {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using schedule::Kind;
using schedule::Schedule;
using schedule::Zone;

/// A host root of its own: etc/localtime as the test makes it, the system's zoneinfo.
class HostRoot {
 public:
  HostRoot() {
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "etc");
    fs::create_directories(dir_ / "usr/share");
    fs::create_directory_symlink("/usr/share/zoneinfo", dir_ / "usr/share/zoneinfo");
  }
  ~HostRoot() { fs::remove_all(dir_); }
  void link(const std::string& target) { fs::create_symlink(target, dir_ / "etc/localtime"); }
  void copy(const std::string& zone, const std::string& timezone_file) {
    fs::copy_file("/usr/share/zoneinfo/" + zone, dir_ / "etc/localtime");
    std::ofstream(dir_ / "etc/timezone") << timezone_file << "\n";
  }
  std::string path() const { return dir_.string(); }

 private:
  fs::path dir_ = fs::temp_directory_path() / ("uplink-zone-" + std::to_string(::getpid()));
};

Schedule parse(const std::string& text, Kind kind = Kind::kCron) {
  auto s = Schedule::parse(text, kind);
  EXPECT_TRUE(s) << text << ": " << (s ? "" : s.error().message);
  return *s;
}

UpstreamSchedule translate(const std::string& text, const std::string& zone, Kind kind = Kind::kCron,
                           const std::string& root = "") {
  const Schedule s = parse(text, kind);
  auto z = Zone::load(zone);
  EXPECT_TRUE(z) << zone;
  return upstream_schedule({&s}, *z, false, root);
}

/// The check-in Sentry gets for a run's start of a job with this schedule.
json sentry_start(const UpstreamSchedule& us) {
  SentrySettings se;
  se.dsn = "https://pub@sentry.example/42";
  MonitorInfo m;
  m.key = "job";
  m.schedule = us.schedule;
  m.timezone = us.timezone;
  m.grace_seconds = 90;
  m.max_runtime_seconds = 3600;
  Telemetry t;
  t.key = "job";
  t.run_id = "0c5a1b8e-2f7d-4b1e-9a51-7d6c1f0e9a42";
  return json::parse((*make_sentry(se))->telemetry(t, &m).body);
}

/// The next `n` fire times of `a` in `za` and of `b` in `zb` are the same.
void same_fires(const std::string& a, Kind ka, const std::string& za, const std::string& b, const std::string& zb) {
  const Schedule sa = parse(a, ka), sb = parse(b);
  const Zone zoa = *Zone::load(za), zob = *Zone::load(zb);
  schedule::Instant ta{std::chrono::seconds(1767225600)}, tb = ta;  // 2026-01-01T00:00Z
  for (int i = 0; i < 400; ++i) {
    auto na = sa.next(ta, zoa), nb = sb.next(tb, zob);
    ASSERT_TRUE(na && nb);
    ASSERT_EQ(na->time_since_epoch().count(), nb->time_since_epoch().count())
        << a << " (" << za << ") vs " << b << " (" << zb << "), fire " << i;
    ta = *na, tb = *nb;
  }
}

struct Case {
  std::string text;
  Kind kind;
  std::string zone;
  std::string schedule, timezone;  // expected; schedule empty: no monitor config
};

TEST(UpstreamSchedule, EveryFormGoesUpInAFormSentryTakesThatFiresAtTheSameTimes) {
  const std::vector<Case> cases = {
      {"30 2 * * *", Kind::kCron, "Europe/Berlin", "30 2 * * *", "Europe/Berlin"},
      {"@daily", Kind::kCron, "UTC", "0 0 * * *", "UTC"},
      {"@hourly", Kind::kCron, "Etc/UTC", "0 * * * *", "UTC"},
      {"0 9-17/2 * jan-jun mon-fri", Kind::kCron, "America/New_York", "0 9,11,13,15,17 * 1-6 1-5", "America/New_York"},
      {"0 0 1 * 1", Kind::kCron, "UTC", "0 0 1 * 1", "UTC"},        // day of month OR Monday
      {"0 0 1-31 * 1", Kind::kCron, "UTC", "0 0 1-31 * 1", "UTC"},  // still OR: every day
      {"*/15 * * * *", Kind::kCron, "UTC", "*/15 * * * *", "UTC"},
      {"0 */5 * * * *", Kind::kCron, "UTC", "*/5 * * * *", "UTC"},  // 6 fields, seconds 0
      {"at 13:37", Kind::kCron, "Asia/Tokyo", "37 13 * * *", "Asia/Tokyo"},
      {"0 2 * * *", Kind::kCron, "+05:30", "30 20 * * *", "UTC"},  // moved to UTC
      {"*/10 * * * *", Kind::kCron, "+05:30", "*/10 * * * *", "UTC"},
      {"0 2 * * *", Kind::kCron, "+02:00", "0 2 * * *", "Etc/GMT-2"},  // whole hours: Etc/GMT-N
      {"0 2 * * *", Kind::kCron, "UTC-3", "0 2 * * *", "Etc/GMT+3"},
      {"Mon..Fri *-*-* 09:30:00", Kind::kSystemd, "UTC", "30 9 * * 1-5", "UTC"},
      {"*-*-01 04:00:00 Europe/Paris", Kind::kSystemd, "UTC", "0 4 1 * *", "Europe/Paris"},
      {"*-*-* 00/6:00:00", Kind::kSystemd, "Europe/Berlin", "0 */6 * * *", "Europe/Berlin"},
      {"*:0/15", Kind::kSystemd, "UTC", "*/15 * * * *", "UTC"},
      {"daily", Kind::kSystemd, "UTC", "0 0 * * *", "UTC"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text + " in " + c.zone);
    const auto us = translate(c.text, c.zone, c.kind);
    EXPECT_EQ(us.why_not, "");
    EXPECT_EQ(us.schedule, c.schedule);
    EXPECT_EQ(us.timezone, c.timezone);
    const json j = sentry_start(us);
    ASSERT_TRUE(j.contains("monitor_config")) << j.dump();
    EXPECT_EQ(j["monitor_config"]["schedule"]["value"], c.schedule);
    EXPECT_EQ(j["monitor_config"].value("timezone", ""), c.timezone);
    for (const auto& why : cronitor::testing::sentry_refuses(j)) ADD_FAILURE() << "Sentry refuses: " << why;
    same_fires(c.text, c.kind, c.zone, us.schedule, us.timezone);
  }
}

TEST(UpstreamSchedule, IntervalsGoUpInSentrysUnits) {
  const std::vector<std::pair<std::string, json>> cases = {
      {"every 5 minutes", {{"type", "interval"}, {"value", 5}, {"unit", "minute"}}},
      {"every 120 seconds", {{"type", "interval"}, {"value", 2}, {"unit", "minute"}}},
      {"every 2 hours", {{"type", "interval"}, {"value", 2}, {"unit", "hour"}}},
      {"every 3 days", {{"type", "interval"}, {"value", 3}, {"unit", "day"}}},
      {"every 14 days", {{"type", "interval"}, {"value", 2}, {"unit", "week"}}},
  };
  for (const auto& [text, want] : cases) {
    SCOPED_TRACE(text);
    const auto us = translate(text, "UTC");
    EXPECT_EQ(us.why_not, "");
    const json j = sentry_start(us);
    EXPECT_EQ(j["monitor_config"]["schedule"], want) << j.dump();
    for (const auto& why : cronitor::testing::sentry_refuses(j)) ADD_FAILURE() << "Sentry refuses: " << why;
  }
}

TEST(UpstreamSchedule, WhereNoFaithfulFormExistsNoConfigAndAReason) {
  const std::vector<std::tuple<std::string, Kind, std::string, std::string>> cases = {
      {"30 */5 * * * *", Kind::kCron, "UTC", "seconds"},
      {"every 90 seconds", Kind::kCron, "UTC", "whole number of minutes"},
      {"0 12 L * *", Kind::kCron, "UTC", "L, W or #"},
      {"0 0 * * 5#2", Kind::kCron, "UTC", "L, W or #"},
      {"0 0 */2 * 1", Kind::kCron, "UTC", "combine"},
      {"0,45 10 * * *", Kind::kCron, "+05:30", "no IANA name"},  // 04:30 and 05:15 UTC: not hours x minutes
      {"0 2 * * 1", Kind::kCron, "+05:30", "no IANA name"},      // would move to Sunday
      {"Sat *-*-1..7 18:00:00", Kind::kSystemd, "UTC", "both weekdays and dates"},
      {"2027-*-* 00:00:00", Kind::kSystemd, "UTC", "years"},
      {"*-*~1 00:00:00", Kind::kSystemd, "UTC", "month's end"},
      {"*-*-* *:*:30", Kind::kSystemd, "UTC", "seconds"},
  };
  for (const auto& [text, kind, zone, why] : cases) {
    SCOPED_TRACE(text + " in " + zone);
    const auto us = translate(text, zone, kind);
    EXPECT_EQ(us.schedule, "");
    EXPECT_NE(us.why_not.find(why), std::string::npos) << us.why_not;
    EXPECT_NE(us.why_not.find(text), std::string::npos) << "the reason names the schedule: " << us.why_not;
    EXPECT_FALSE(sentry_start(us).contains("monitor_config"));
  }
  // @reboot has no clock schedule at all: plain check-ins, nothing to warn about.
  const auto reboot = translate("@reboot", "UTC");
  EXPECT_EQ(reboot.schedule, "");
  EXPECT_EQ(reboot.why_not, "");
  // A period counted from the previous run's end (OnUnitInactiveSec=).
  const Schedule hourly = parse("every 1 hours");
  EXPECT_NE(upstream_schedule({&hourly}, Zone::utc(), true).why_not.find("OnUnitInactiveSec"), std::string::npos);
  // Two crontab lines of one job with different times: one upstream monitor has one schedule.
  const Schedule a = parse("0 2 * * *"), b = parse("30 14 * * *");
  EXPECT_NE(upstream_schedule({&a, &b}, Zone::utc()).why_not.find("different schedules"), std::string::npos);
  EXPECT_EQ(upstream_schedule({&a, &a}, Zone::utc()).schedule, "0 2 * * *");
}

TEST(UpstreamSchedule, TheHostsZoneIsSentAsItsIanaName) {
  auto local = Zone::load("localtime");  // what the agent names the host's zone
  ASSERT_TRUE(local);
  {
    HostRoot root;
    root.link("/usr/share/zoneinfo/Asia/Kolkata");
    EXPECT_EQ(iana_zone_name(*local, root.path()), "Asia/Kolkata");
    EXPECT_EQ(iana_zone_name(*Zone::load("Europe/Berlin"), root.path()), "Europe/Berlin");
  }
  {
    HostRoot root;
    root.link("../usr/share/zoneinfo/Etc/UTC");  // Debian's relative form
    EXPECT_EQ(host_iana_zone(root.path()), "Etc/UTC");
  }
  {
    HostRoot root;
    root.copy("America/Chicago", "America/Chicago");  // a copied file, named by /etc/timezone
    EXPECT_EQ(host_iana_zone(root.path()), "America/Chicago");
  }
  {
    HostRoot root;
    root.copy("America/Chicago", "Europe/Berlin");  // /etc/timezone disagrees: unknown, not a guess
    EXPECT_EQ(host_iana_zone(root.path()), std::nullopt);
    const Schedule s = parse("0 2 * * *");
    const auto us = upstream_schedule({&s}, *local, false, root.path());
    if (!local->fixed()) {
      EXPECT_EQ(us.schedule, "");
      EXPECT_NE(us.why_not.find("no IANA name"), std::string::npos) << us.why_not;
    }
  }
  {
    HostRoot root;  // no /etc/localtime: glibc runs in UTC
    EXPECT_EQ(host_iana_zone(root.path()), "UTC");
  }
  for (const char* bad : {"localtime", "/etc/localtime", "+05:30", "posix/Europe/Berlin", "Europe/../etc/passwd", ""})
    EXPECT_FALSE(is_iana_zone(bad)) << bad;
  for (const char* good : {"UTC", "Etc/UTC", "Europe/Berlin", "Etc/GMT-2", "America/Argentina/Buenos_Aires"})
    EXPECT_TRUE(is_iana_zone(good)) << good;
}

}  // namespace
}  // namespace cronitor::uplink
