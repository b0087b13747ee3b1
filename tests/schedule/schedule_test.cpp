// Schedule: the front door (kinds, every/at, explain) and ISO 8601 in and out.
#include "schedule/schedule.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "schedule/iso8601.h"

namespace cronitor::schedule {
namespace {

TEST(Schedule, KindsAndDialects) {
  EXPECT_TRUE(Schedule::parse("*/5 * * * *", Kind::kCron, CronDialect::kDebian));
  EXPECT_FALSE(Schedule::parse("every 5 minutes", Kind::kCron, CronDialect::kDebian));  // not in a crontab
  EXPECT_FALSE(Schedule::parse("0 0 L * *", Kind::kCron, CronDialect::kDebian));
  EXPECT_TRUE(Schedule::parse("0 0 L * *", Kind::kCron, CronDialect::kExtended));
  EXPECT_TRUE(Schedule::parse("Mon *-*-* 10:00", Kind::kSystemd));
  EXPECT_FALSE(Schedule::parse("Mon *-*-* 10:00", Kind::kCron));
  EXPECT_EQ(Schedule::parse("  0 1 * * *  ")->text(), "0 1 * * *");
}

TEST(Schedule, IntervalForms) {
  EXPECT_EQ(Schedule::parse("every 30 seconds")->interval(), std::chrono::seconds(30));
  EXPECT_EQ(Schedule::parse("every 5 minutes")->interval(), std::chrono::seconds(300));
  EXPECT_EQ(Schedule::parse("Every 2 Hours")->interval(), std::chrono::seconds(7200));
  EXPECT_EQ(Schedule::parse("every day")->interval(), std::chrono::seconds(86400));
  EXPECT_EQ(Schedule::parse("every 3 weeks")->interval(), std::chrono::seconds(3 * 7 * 86400));
  EXPECT_EQ(Schedule::parse("every 1 minute")->interval(), std::chrono::seconds(60));
  EXPECT_FALSE(Schedule::parse("at 13:37")->interval().has_value());
  for (const char* bad : {"every", "every 0 minutes", "every five minutes", "every 5 fortnights", "at 25:00", "at 1337",
                          "every 5 minutes please"}) {
    EXPECT_FALSE(Schedule::parse(bad)) << bad;
  }
  EXPECT_EQ(Schedule::parse("every 5 fortnights").error().message,
            "\"every 5 fortnights\": unknown unit \"fortnights\" (seconds, minutes, hours, days or weeks)");
}

struct ExplainCase {
  const char* expr;
  Kind kind;
  const char* text;
};

class Explain : public ::testing::TestWithParam<ExplainCase> {};

TEST_P(Explain, PlainEnglish) {
  auto s = Schedule::parse(GetParam().expr, GetParam().kind);
  ASSERT_TRUE(s) << GetParam().expr;
  EXPECT_EQ(s->explain(), GetParam().text);
}

INSTANTIATE_TEST_SUITE_P(
    Table, Explain,
    ::testing::Values(ExplainCase{"30 2 * * 1-5", Kind::kCron, "At 02:30 on Monday through Friday"},
                      ExplainCase{"*/5 * * * *", Kind::kCron, "Every 5 minutes"},
                      ExplainCase{"* * * * *", Kind::kCron, "Every minute"},
                      ExplainCase{"0 */2 * * *", Kind::kCron, "At minute 0 past every 2nd hour"},
                      ExplainCase{"15 10 1 * *", Kind::kCron, "At 10:15 on day 1 of the month"},
                      ExplainCase{"0 9,17 * * mon", Kind::kCron, "At 09:00 and 17:00 on Monday"},
                      ExplainCase{"0 0 1 jan *", Kind::kCron, "At 00:00 on day 1 of the month in January"},
                      ExplainCase{"0 0 13 * 5", Kind::kCron, "At 00:00 on day 13 of the month or on Friday"},
                      ExplainCase{"0 18 ? * 5L", Kind::kCron, "At 18:00 on the last Friday of the month"},
                      ExplainCase{"0 9 ? * MON#2", Kind::kCron, "At 09:00 on the 2nd Monday of the month"},
                      ExplainCase{"0 0 L * *", Kind::kCron, "At 00:00 on the last day of the month"},
                      ExplainCase{"@reboot", Kind::kCron, "At boot"},
                      ExplainCase{"@weekly", Kind::kCron, "At 00:00 on Sunday"},
                      ExplainCase{"every 10 minutes", Kind::kCron, "Every 10 minutes, counted from the previous run"},
                      ExplainCase{"at 13:37", Kind::kCron, "At 13:37 every day"},
                      ExplainCase{"Mon..Fri 02:30", Kind::kSystemd,
                                  "At 02:30 on Monday, Tuesday, Wednesday, Thursday and Friday"},
                      ExplainCase{"daily", Kind::kSystemd, "At 00:00 every day"}));

// OnCalendar= in the forms of systemd.time(7): every time, weekday and date it fires at is named.
INSTANTIATE_TEST_SUITE_P(
    Systemd, Explain,
    ::testing::Values(
        ExplainCase{"Mon,Sun 12-*-* 2,1:23", Kind::kSystemd, "At 01:23 and 02:23 on Monday and Sunday in 2012"},
        ExplainCase{"12,14,13,12:20,10,30", Kind::kSystemd,
                    "At 12:10, 12:20, 12:30, 13:10, 13:20, 13:30, 14:10, 14:20 and 14:30 every day"},
        ExplainCase{"*:2/3", Kind::kSystemd, "Every 3 minutes from minute 2, every day"},
        ExplainCase{"minutely", Kind::kSystemd, "Every minute, every day"},
        ExplainCase{"hourly", Kind::kSystemd, "At minute 0 of every hour, every day"},
        ExplainCase{"weekly", Kind::kSystemd, "At 00:00 on Monday"},
        ExplainCase{"monthly", Kind::kSystemd, "At 00:00 on day 1 of the month"},
        ExplainCase{"quarterly", Kind::kSystemd, "At 00:00 on day 1 of January, April, July and October"},
        ExplainCase{"semiannually", Kind::kSystemd, "At 00:00 on day 1 of January and July"},
        ExplainCase{"yearly", Kind::kSystemd, "At 00:00 on day 1 of January"},
        ExplainCase{"*-*-* *:*:*", Kind::kSystemd, "Every second, every day"},
        ExplainCase{"*:0/10:30", Kind::kSystemd, "At second 30 of every 10 minutes, every day"},
        ExplainCase{"*:*:0.5", Kind::kSystemd, "At second 0.5 of every minute, every day"},
        ExplainCase{"Fri *-*-13 12:00", Kind::kSystemd, "At 12:00 on Friday when that is day 13 of the month"},
        ExplainCase{"*-02~03", Kind::kSystemd, "At 00:00 on the 3rd last day of February"},
        ExplainCase{"Mon *-05~07/1", Kind::kSystemd, "At 00:00 on Monday when that is one of the last 7 days of May"},
        ExplainCase{"*-*-1/2 06:00", Kind::kSystemd, "At 06:00 on every 2nd day of the month from day 1"},
        ExplainCase{"*-*-1..5 00:00", Kind::kSystemd, "At 00:00 on day 1 through 5 of the month"},
        ExplainCase{"*-*-* 8..17/2:00", Kind::kSystemd, "At 08:00, 10:00, 12:00, 14:00 and 16:00 every day"},
        ExplainCase{"2026..2028-01-01 00:00 UTC", Kind::kSystemd,
                    "At 00:00 on day 1 of January in 2026 through 2028 (UTC)"},
        ExplainCase{"Sat,Sun 10:00 America/New_York", Kind::kSystemd,
                    "At 10:00 on Saturday and Sunday (America/New_York)"}));

TEST(Iso8601, FormatsWithTheZoneOffset) {
  const Zone berlin = *Zone::load("Europe/Berlin");
  const Zone kolkata = *Zone::load("Asia/Kolkata");
  const Instant t(std::chrono::seconds(1774746000));  // 2026-03-29T01:00:00Z
  EXPECT_EQ(format_iso8601(t, berlin), "2026-03-29T03:00:00+02:00");
  EXPECT_EQ(format_iso8601(t, Zone::utc()), "2026-03-29T01:00:00+00:00");
  EXPECT_EQ(format_iso8601(t, kolkata), "2026-03-29T06:30:00+05:30");
  EXPECT_EQ(format_iso8601(t - std::chrono::microseconds(500000), Zone::utc()), "2026-03-29T00:59:59.500000+00:00");
  EXPECT_EQ(format_iso8601(Instant(std::chrono::seconds(-1)), Zone::utc()), "1969-12-31T23:59:59+00:00");
}

TEST(Iso8601, Parses) {
  const Zone berlin = *Zone::load("Europe/Berlin");
  const Instant t(std::chrono::seconds(1774746000));
  EXPECT_EQ(*parse_iso8601("2026-03-29T01:00:00Z", berlin), t);
  EXPECT_EQ(*parse_iso8601("2026-03-29T03:00:00+02:00", berlin), t);
  EXPECT_EQ(*parse_iso8601("2026-03-29T03:00:00+0200", berlin), t);
  EXPECT_EQ(*parse_iso8601("2026-03-29 03:00", berlin), t);  // a wall time in the zone
  EXPECT_EQ(*parse_iso8601("@1774746000", berlin), t);
  EXPECT_EQ(*parse_iso8601("2026-10-25T02:30:00", berlin), Instant(std::chrono::seconds(1792888200)));  // first copy
  EXPECT_EQ(*parse_iso8601("2026-03-29T01:00:00.25Z", berlin), t + std::chrono::milliseconds(250));
  auto gap = parse_iso8601("2026-03-29T02:30:00", berlin);
  ASSERT_FALSE(gap);
  EXPECT_EQ(gap.error().message,
            "bad timestamp \"2026-03-29T02:30:00\": that wall time does not exist in Europe/Berlin (skipped by DST)");
  for (const char* bad : {"", "yesterday", "2026-02-30", "2026-01-01T24:00", "2026-01-01T00:00+25:00", "@", "@x"}) {
    EXPECT_FALSE(parse_iso8601(bad, berlin)) << bad;
  }
}

TEST(Zone, LoadsNamesAndOffsetsAndRejectsTheRest) {
  EXPECT_TRUE(Zone::load("UTC")->fixed());
  EXPECT_TRUE(Zone::load("Asia/Kolkata"));
  EXPECT_FALSE(Zone::load("Europe/Berlin")->fixed());
  EXPECT_EQ(Zone::load("+05:30")->offset_at(0), 19800);
  EXPECT_EQ(Zone::load("UTC-3")->offset_at(0), -10800);
  for (const char* bad : {"Mars/Olympus", "/etc/passwd", "../../etc/passwd", "+25:00"}) {
    EXPECT_FALSE(Zone::load(bad)) << bad;
  }
  EXPECT_EQ(Zone::load("Mars/Olympus").error().message,
            "unknown time zone \"Mars/Olympus\" (expected an IANA name such as Europe/Berlin)");
}

TEST(Zone, NeverOpensAFileNamedByTheUser) {
  // cctz reads "file:PATH" from PATH. A user's crontab names zones (CRON_TZ=, # cronitor:
  // timezone=), and a FIFO of theirs would block the root daemon in open(): with the old check
  // this load never returned.
  const std::string fifo = "/tmp/zone-fifo-" + std::to_string(::getpid());
  ::unlink(fifo.c_str());
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string& bad :
       std::vector<std::string>{"file:" + fifo, "file:Europe/Berlin", "libc:localtime", "Europe/Berlin:x"}) {
    auto z = Zone::load(bad);
    ASSERT_FALSE(z) << bad;
    EXPECT_EQ(z.error().message.rfind("unknown time zone", 0), 0u) << z.error().message;
  }
  ::unlink(fifo.c_str());
}

}  // namespace
}  // namespace cronitor::schedule
