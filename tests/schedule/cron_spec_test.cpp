// Cron syntax as Debian's cron reads it, and the extended forms of monitor definitions.
#include "schedule/cron_spec.h"

#include <gtest/gtest.h>

#include "tests/support/schedule_helpers.h"

namespace cronitor::schedule {
namespace {

using cronitor::testing::fires;
using V = std::vector<std::string>;

struct Case {
  const char* expr;
  const char* from;  // UTC
  V expected;        // UTC
};

class CronUtc : public ::testing::TestWithParam<Case> {};

TEST_P(CronUtc, NextFireTimes) {
  const Case& c = GetParam();
  EXPECT_EQ(fires(c.expr, "UTC", c.from, static_cast<int>(c.expected.size())), c.expected) << c.expr;
}

INSTANTIATE_TEST_SUITE_P(
    Syntax, CronUtc,
    ::testing::Values(
        Case{"*/5 * * * *", "2026-01-01T00:03:00Z", {"2026-01-01T00:05:00+00:00", "2026-01-01T00:10:00+00:00"}},
        Case{"0 0 * * *", "2026-01-01T00:00:00Z", {"2026-01-02T00:00:00+00:00"}},  // strictly after
        Case{"1,2,3 4 * * *", "2026-01-01T04:02:00Z", {"2026-01-01T04:03:00+00:00", "2026-01-02T04:01:00+00:00"}},
        Case{"10-20/5 * * * *",
             "2026-01-01T00:00:00Z",
             {"2026-01-01T00:10:00+00:00", "2026-01-01T00:15:00+00:00", "2026-01-01T00:20:00+00:00",
              "2026-01-01T01:10:00+00:00"}},
        Case{"0 12 * jan-mar/2 *", "2026-01-31T13:00:00Z", {"2026-03-01T12:00:00+00:00"}},
        Case{"0 9 * * MON-fri", "2026-01-02T10:00:00Z", {"2026-01-05T09:00:00+00:00"}},  // Fri -> Mon
        Case{"0 9 * * 7", "2026-01-01T00:00:00Z", {"2026-01-04T09:00:00+00:00"}},        // Sunday as 7
        Case{"0 9 * * 0", "2026-01-01T00:00:00Z", {"2026-01-04T09:00:00+00:00"}},        // and as 0
        Case{"0 9 * * 5-7",
             "2026-01-01T00:00:00Z",
             {"2026-01-02T09:00:00+00:00", "2026-01-03T09:00:00+00:00", "2026-01-04T09:00:00+00:00",
              "2026-01-09T09:00:00+00:00"}},
        // Neither day field starts with '*': either may match (Vixie cron).
        Case{"0 0 13 * 5",
             "2026-02-01T00:00:00Z",
             {"2026-02-06T00:00:00+00:00", "2026-02-13T00:00:00+00:00", "2026-02-20T00:00:00+00:00"}},
        // A day field starting with '*' (even "*/2"): both must match.
        Case{"0 0 */2 * 1", "2026-02-01T00:00:00Z", {"2026-02-09T00:00:00+00:00", "2026-02-23T00:00:00+00:00"}},
        Case{"0 0 29 2 *", "2026-01-01T00:00:00Z", {"2028-02-29T00:00:00+00:00", "2032-02-29T00:00:00+00:00"}},
        Case{"59 23 31 12 *", "2026-12-31T23:59:00Z", {"2027-12-31T23:59:00+00:00"}},
        Case{"@hourly", "2026-01-01T00:30:00Z", {"2026-01-01T01:00:00+00:00"}},
        Case{"@daily", "2026-01-01T00:30:00Z", {"2026-01-02T00:00:00+00:00"}},
        Case{"@midnight", "2026-01-01T00:30:00Z", {"2026-01-02T00:00:00+00:00"}},
        Case{"@weekly", "2026-01-01T00:30:00Z", {"2026-01-04T00:00:00+00:00"}},
        Case{"@monthly", "2026-01-01T00:30:00Z", {"2026-02-01T00:00:00+00:00"}},
        Case{"@yearly", "2026-01-01T00:30:00Z", {"2027-01-01T00:00:00+00:00"}},
        Case{"@annually", "2026-01-01T00:30:00Z", {"2027-01-01T00:00:00+00:00"}},
        // Extended forms (monitor definitions).
        Case{"*/20 * * * * *",
             "2026-01-01T00:00:00Z",
             {"2026-01-01T00:00:20+00:00", "2026-01-01T00:00:40+00:00", "2026-01-01T00:01:00+00:00"}},
        Case{"0 0 L * *", "2026-01-15T00:00:00Z", {"2026-01-31T00:00:00+00:00", "2026-02-28T00:00:00+00:00"}},
        Case{"0 0 L-2 * *", "2026-02-01T00:00:00Z", {"2026-02-26T00:00:00+00:00", "2026-03-29T00:00:00+00:00"}},
        Case{"0 0 LW * *", "2026-05-01T00:00:00Z", {"2026-05-29T00:00:00+00:00", "2026-06-30T00:00:00+00:00"}},
        Case{"0 0 15W * *", "2026-08-01T00:00:00Z", {"2026-08-14T00:00:00+00:00", "2026-09-15T00:00:00+00:00"}},
        Case{"0 0 1W * *", "2026-08-01T00:00:00Z", {"2026-08-03T00:00:00+00:00"}},  // Sat 1st -> Mon 3rd
        Case{"0 18 ? * 5L", "2026-01-01T00:00:00Z", {"2026-01-30T18:00:00+00:00", "2026-02-27T18:00:00+00:00"}},
        Case{"0 18 ? * FRIL", "2026-01-01T00:00:00Z", {"2026-01-30T18:00:00+00:00"}},
        Case{"0 9 ? * MON#2", "2026-01-01T00:00:00Z", {"2026-01-12T09:00:00+00:00", "2026-02-09T09:00:00+00:00"}},
        Case{"0 9 * * 1#5", "2026-01-01T00:00:00Z", {"2026-03-30T09:00:00+00:00", "2026-06-29T09:00:00+00:00"}},
        Case{"5/15 * * * *",
             "2026-01-01T00:00:00Z",
             {"2026-01-01T00:05:00+00:00", "2026-01-01T00:20:00+00:00", "2026-01-01T00:35:00+00:00"}},
        Case{"every 30 seconds", "2026-01-01T00:00:00Z", {"2026-01-01T00:00:30+00:00", "2026-01-01T00:01:00+00:00"}},
        Case{"every 2 hours", "2026-01-01T00:10:00Z", {"2026-01-01T02:10:00+00:00"}},
        Case{"every day", "2026-01-01T00:10:00Z", {"2026-01-02T00:10:00+00:00"}},
        Case{"every 3 weeks", "2026-01-01T00:00:00Z", {"2026-01-22T00:00:00+00:00"}},
        Case{"at 13:37", "2026-01-01T14:00:00Z", {"2026-01-02T13:37:00+00:00"}},
        Case{"every day at 07:05", "2026-01-01T00:00:00Z", {"2026-01-01T07:05:00+00:00"}}));

struct BadCase {
  const char* expr;
  CronDialect dialect;
  const char* message;
};

class CronErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(CronErrors, NameTheFieldTheTokenAndWhatIsAllowed) {
  const BadCase& c = GetParam();
  auto s = CronSpec::parse(c.expr, c.dialect);
  ASSERT_FALSE(s.has_value()) << c.expr;
  EXPECT_EQ(s.error().message, c.message);
}

INSTANTIATE_TEST_SUITE_P(
    Messages, CronErrors,
    ::testing::Values(
        BadCase{"61 * * * *", CronDialect::kDebian, "minute field: \"61\" is out of range 0-59"},
        BadCase{"* 24 * * *", CronDialect::kDebian, "hour field: \"24\" is out of range 0-23"},
        BadCase{"* * 0 * *", CronDialect::kDebian, "day-of-month field: \"0\" is out of range 1-31"},
        BadCase{"* * * 13 *", CronDialect::kDebian, "month field: \"13\" is out of range 1-12"},
        BadCase{"* * * * 8", CronDialect::kDebian, "day-of-week field: \"8\" is out of range 0-7"},
        BadCase{"* * * foo *", CronDialect::kDebian, "month field: \"foo\" is not a number or a month name (jan-dec)"},
        BadCase{"* * * * fir", CronDialect::kDebian,
                "day-of-week field: \"fir\" is not a number or a day name (sun-sat)"},
        BadCase{"*/0 * * * *", CronDialect::kDebian,
                "minute field: \"*/0\" has a step of 0 (a step must be 1 or more)"},
        BadCase{"5-1 * * * *", CronDialect::kDebian, "minute field: \"5-1\" is a range that goes backwards"},
        BadCase{"1,,2 * * * *", CronDialect::kDebian, "minute field: \"1,,2\" has an empty list item"},
        BadCase{"5/10 * * * *", CronDialect::kDebian,
                "minute field: \"5/10\" has a step after a single value; cron needs a range or * before /"},
        BadCase{"* * L * *", CronDialect::kDebian, "day-of-month field: \"L\" is not a number"},
        BadCase{"* * * *", CronDialect::kDebian,
                "expected 5 fields (minute hour day-of-month month day-of-week), found 4 in \"* * * *\""},
        BadCase{"0 * * * * *", CronDialect::kDebian,
                "expected 5 fields (minute hour day-of-month month day-of-week), found 6 in \"0 * * * * *\""},
        BadCase{"60 * * * * *", CronDialect::kExtended, "second field: \"60\" is out of range 0-59"},
        BadCase{"@often", CronDialect::kDebian,
                "unknown schedule \"@often\" (expected @reboot, @yearly, @annually, @monthly, @weekly, @daily, "
                "@midnight or @hourly)"},
        BadCase{"@Daily", CronDialect::kDebian,
                "unknown schedule \"@Daily\" (expected @reboot, @yearly, @annually, @monthly, @weekly, @daily, "
                "@midnight or @hourly)"},
        BadCase{"0 9 * * MON#6", CronDialect::kExtended,
                "day-of-week field: \"MON#6\" must be DAY#N with N from 1 to 5 (MON#2: the second Monday)"},
        BadCase{"", CronDialect::kExtended, "empty cron expression"}));

TEST(CronSpec, FitsIn64Bytes) { EXPECT_LE(sizeof(CronSpec), 64u); }

TEST(CronSpec, WildcardFlagsFollowTheFirstCharacterOfMinuteAndHour) {
  EXPECT_TRUE(CronSpec::parse("*/5 2 * * *", CronDialect::kDebian)->wildcard());
  EXPECT_TRUE(CronSpec::parse("30 * * * *", CronDialect::kDebian)->wildcard());
  EXPECT_TRUE(CronSpec::parse("@hourly", CronDialect::kDebian)->wildcard());
  EXPECT_FALSE(CronSpec::parse("30 2 * * *", CronDialect::kDebian)->wildcard());
  EXPECT_FALSE(CronSpec::parse("0-59 0-23 * * *", CronDialect::kDebian)->wildcard());
  EXPECT_FALSE(CronSpec::parse("@daily", CronDialect::kDebian)->wildcard());
}

TEST(CronSpec, RebootHasNoClockTimes) {
  auto s = Schedule::parse("@reboot", Kind::kCron, CronDialect::kDebian);
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->at_reboot());
  EXPECT_FALSE(s->next(Instant{}, Zone::utc()).has_value());
}

TEST(CronSpec, ImpossibleDatesNeverFire) {
  for (const char* e : {"0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 31 2 *"}) {
    auto s = CronSpec::parse(e, CronDialect::kDebian);
    ASSERT_TRUE(s) << e;
    EXPECT_TRUE(s->has(CronSpec::kNever)) << e;
    EXPECT_FALSE(s->next_fire(0, Zone::utc()).has_value()) << e;
  }
  // Feb 30 or any Monday: the day-of-week makes it possible.
  EXPECT_FALSE(CronSpec::parse("0 0 30 2 1", CronDialect::kDebian)->has(CronSpec::kNever));
}

TEST(CronSpec, NamesAreCaseInsensitiveAndWhitespaceMayBeTabs) {
  auto a = CronSpec::parse("0\t9  *  JAN,Feb  mOn", CronDialect::kDebian);
  auto b = CronSpec::parse("0 9 * 1,2 1", CronDialect::kDebian);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->months, b->months);
  EXPECT_EQ(a->dow, b->dow);
}

}  // namespace
}  // namespace cronitor::schedule
