// Schedule: the front door (kinds, every/at, explain) and ISO 8601 in and out.
#include "schedule/schedule.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace cronitor::schedule
