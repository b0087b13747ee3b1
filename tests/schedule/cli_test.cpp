// `cronitor-agent schedule next|explain` as people and scripts call it.
#include <gtest/gtest.h>

#include "tests/support/subprocess.h"

namespace {

using cronitor::testing::run_command;

std::vector<std::string> agent(std::initializer_list<std::string> args) {
  std::vector<std::string> v{CRONITOR_AGENT_BIN};
  v.insert(v.end(), args);
  return v;
}

TEST(ScheduleCli, PrintsNextFireTimesWithTheZoneOffset) {
  auto r = run_command(agent(
      {"schedule", "next", "30 2 * * *", "--tz", "Europe/Berlin", "--from", "2026-03-28T12:00:00Z", "--count", "3"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "2026-03-29T03:00:00+02:00\n2026-03-30T02:30:00+02:00\n2026-03-31T02:30:00+02:00\n");
  EXPECT_EQ(r.err, "");
}

TEST(ScheduleCli, SystemdKindAndItsOwnZone) {
  auto r = run_command(agent({"schedule", "next", "Sat,Sun 10:00 America/New_York", "--kind", "systemd", "--tz",
                              "Europe/Berlin", "--from", "2026-01-01T00:00:00Z"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "2026-01-03T10:00:00-05:00\n");
}

TEST(ScheduleCli, BadInputExitsTwoNamingFieldAndToken) {
  auto r = run_command(agent({"schedule", "next", "61 * * * *"}));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "cronitor-agent: minute field: \"61\" is out of range 0-59\n");
  for (auto args :
       {agent({"schedule", "next", "* * * * *", "--tz", "Nowhere/City"}),
        agent({"schedule", "next", "* * * * *", "--from", "tomorrow"}),
        agent({"schedule", "next", "* * * * *", "--count", "0"}),
        agent({"schedule", "next", "* * * * *", "--kind", "anacron"}),
        agent({"schedule", "next", "25:00", "--kind", "systemd"}), agent({"schedule", "explain", "every blue moon"})}) {
    auto bad = run_command(args);
    EXPECT_EQ(bad.exit_code, 2) << args[2] << " " << args[3];
    EXPECT_NE(bad.err, "");
  }
}

TEST(ScheduleCli, NeverFiringSchedulePrintsNothingAndSaysSo) {
  auto r = run_command(agent({"schedule", "next", "0 0 30 2 *", "--from", "2026-01-01T00:00:00Z", "--tz", "UTC"}));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "cronitor-agent: \"0 0 30 2 *\" never fires after 2026-01-01T00:00:00+00:00\n");
  auto reboot = run_command(agent({"schedule", "next", "@reboot"}));
  EXPECT_EQ(reboot.out, "");
  EXPECT_NE(reboot.err.find("runs at boot only"), std::string::npos);
}

TEST(ScheduleCli, Explains) {
  auto r = run_command(agent({"schedule", "explain", "30 2 * * 1-5"}));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "At 02:30 on Monday through Friday\n");
}

TEST(ScheduleCli, PrintsAHundredThousandLines) {
  auto r = run_command(
      agent({"schedule", "next", "*/5 * * * *", "--tz", "UTC", "--from", "2026-01-01T00:00:00Z", "--count", "100000"}));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 100000);
  EXPECT_TRUE(r.out.ends_with("2026-12-14T05:20:00+00:00\n"));
}

}  // namespace

namespace {

using cronitor::testing::run_command;

// systemd-analyze calendar refuses these (its own test suite refuses the last one); we say why.
TEST(ScheduleCli, SystemdKindRefusesWhitespaceAsSystemdAnalyzeDoes) {
  for (std::string bad :
       {"daily ", " daily", "daily\t", "\ndaily", "*-*-* 00:00 ", "*:4,30:*\n", "Mon\t*-*-*", " *-*~05,3"}) {
    auto r = run_command(
        {CRONITOR_AGENT_BIN, "schedule", "next", bad, "--kind", "systemd", "--from", "2026-01-01T00:00:00Z"});
    EXPECT_EQ(r.exit_code, 2) << "[" << bad << "]";
    EXPECT_NE(r.err.find("whitespace"), std::string::npos) << r.err;
  }
  // Inner runs of spaces are fine for systemd, and a crontab line's kind is not affected.
  auto ok = run_command({CRONITOR_AGENT_BIN, "schedule", "next", "Mon  *-*-*  00:00", "--kind", "systemd", "--tz",
                         "UTC", "--from", "2026-01-01T00:00:00Z"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.out, "2026-01-05T00:00:00+00:00\n");
  // Trailing spaces after the date: systemd's own test-calendarspec.c expects this to parse.
  auto trailing = run_command({CRONITOR_AGENT_BIN, "schedule", "next", "*-*~05,3 ", "--kind", "systemd", "--tz", "UTC",
                               "--from", "2026-01-01T00:00:00Z"});
  EXPECT_EQ(trailing.exit_code, 0) << trailing.err;
  EXPECT_EQ(trailing.out, "2026-01-27T00:00:00+00:00\n");
}

}  // namespace
