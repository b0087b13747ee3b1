// systemd OnCalendar= syntax (systemd.time(7)); the oracle test compares with systemd-analyze.
#include "schedule/calendar_spec.h"

#include <gtest/gtest.h>

#include "tests/support/schedule_helpers.h"

namespace cronitor::schedule {
namespace {

using cronitor::testing::fires;
using V = std::vector<std::string>;

struct NormCase {
  const char* expr;
  const char* normalized;
};

class CalendarNormalized : public ::testing::TestWithParam<NormCase> {};

TEST_P(CalendarNormalized, MatchesSystemdAnalyze) {
  auto c = CalendarSpec::parse(GetParam().expr);
  ASSERT_TRUE(c) << GetParam().expr << ": " << c.error().message;
  EXPECT_EQ(c->normalized(), GetParam().normalized);
}

// Normalised forms as printed by `systemd-analyze calendar` (systemd 252).
INSTANTIATE_TEST_SUITE_P(
    Syntax, CalendarNormalized,
    ::testing::Values(
        NormCase{"minutely", "*-*-* *:*:00"}, NormCase{"hourly", "*-*-* *:00:00"}, NormCase{"daily", "*-*-* 00:00:00"},
        NormCase{"weekly", "Mon *-*-* 00:00:00"}, NormCase{"monthly", "*-*-01 00:00:00"},
        NormCase{"yearly", "*-01-01 00:00:00"}, NormCase{"annually", "*-01-01 00:00:00"},
        NormCase{"quarterly", "*-01,04,07,10-01 00:00:00"}, NormCase{"semiannually", "*-01,07-01 00:00:00"},
        NormCase{"Mon..Fri 9:00", "Mon..Fri *-*-* 09:00:00"},
        NormCase{"Mon-Fri *-*-* 00:00:00", "Mon..Fri *-*-* 00:00:00"},
        NormCase{"monday..fri 1:0", "Mon..Fri *-*-* 01:00:00"}, NormCase{"Sat,Sun 10:00", "Sat,Sun *-*-* 10:00:00"},
        NormCase{"Mon,Tue,Wed,Fri 3:00", "Mon..Wed,Fri *-*-* 03:00:00"},
        NormCase{"mon,wed *-*~1 3:4", "Mon,Wed *-*~01 03:04:00"},
        NormCase{"2026-*-* 1:2:3.5", "2026-*-* 01:02:03.500000"}, NormCase{"*:*:0/7.5", "*-*-* *:*:00/7.500000"},
        NormCase{"*:0/15", "*-*-* *:00/15:00"}, NormCase{"12..14:10,20,30", "*-*-* 12..14:10,20,30:00"},
        NormCase{"26-1-1", "2026-01-01 00:00:00"}, NormCase{"99-1-1", "1999-01-01 00:00:00"},
        NormCase{"*-02~03", "*-02~03 00:00:00"},
        NormCase{"Sat,Sun 10:00 Europe/Berlin", "Sat,Sun *-*-* 10:00:00 Europe/Berlin"},
        NormCase{"*-*-* 06:00 UTC", "*-*-* 06:00:00 UTC"}, NormCase{"@1700000000", "2023-11-14 22:13:20 UTC"}));

TEST(CalendarSpec, RejectsWhatSystemdRejects) {
  for (const char* e : {"", "*:*/2:00", "*-*-* */2:00", "fri..mon 1:0", "*-*-* 24:00", "*-13-01", "*-*-32", "*:60",
                        "*:*:60", "Mon..", "Funday 10:00", "1969-01-01", "2200-01-01", "*-*~29", "*-*-* 1:2:3:4",
                        "*:0/0", "10:00 Mars/Olympus", "*-*-* 1:2 extra"}) {
    EXPECT_FALSE(CalendarSpec::parse(e).has_value()) << "should reject: " << e;
  }
}

// Whitespace around the text as `systemd-analyze calendar` (systemd 252) takes it: trailing
// spaces after the weekdays or the date are skipped by its parser (test-calendarspec.c expects
// "*-*~05,3 " to parse), not after a time, a zone, a shortcut or @timestamp; leading whitespace,
// tabs and newlines never. parse() strips around the text, as a unit file's parser does.
TEST(CalendarSpec, ParseExactTakesWhitespaceAsSystemdAnalyzeDoes) {
  struct Case {
    const char* expr;
    const char* normalized;  // nullptr: systemd-analyze refuses it
  };
  for (const Case& c : std::initializer_list<Case>{{"*-*~05,3 ", "*-*~03,05 00:00:00"},
                                                   {"*-*~05,3  ", "*-*~03,05 00:00:00"},
                                                   {"Mon ", "Mon *-*-* 00:00:00"},
                                                   {"Mon,Tue  ", "Mon,Tue *-*-* 00:00:00"},
                                                   {"Mon *-*-* ", "Mon *-*-* 00:00:00"},
                                                   {"*-*-* ", "*-*-* 00:00:00"},
                                                   {"2024-01-01 ", "2024-01-01 00:00:00"},
                                                   {"*-*-*  00:00", "*-*-* 00:00:00"},
                                                   {"*-*~05,3 UTC", "*-*~03,05 00:00:00 UTC"},
                                                   {" *-*~05,3", nullptr},
                                                   {"*-*~05,3\t", nullptr},
                                                   {"*-*~05,3 \n", nullptr},
                                                   {"\tdaily", nullptr},
                                                   {"daily ", nullptr},
                                                   {"minutely ", nullptr},
                                                   {"00:00 ", nullptr},
                                                   {"*:0/5 ", nullptr},
                                                   {"*-*-* 00:00 ", nullptr},
                                                   {"*-*-* 00:00:00.5 ", nullptr},
                                                   {"@1700000000 ", nullptr},
                                                   {"*-*~05,3 UTC ", nullptr},
                                                   {"12:00 Europe/Riga ", nullptr}}) {
    auto r = CalendarSpec::parse_exact(c.expr);
    if (!c.normalized) {
      EXPECT_FALSE(r) << "[" << c.expr << "] should be refused";
      if (!r) {
        EXPECT_NE(r.error().message.find("whitespace"), std::string::npos) << r.error().message;
      }
      continue;
    }
    ASSERT_TRUE(r) << "[" << c.expr << "]: " << r.error().message;
    EXPECT_EQ(r->normalized(), c.normalized) << "[" << c.expr << "]";
  }
  // What is wrong besides the spaces is said as such.
  auto bad = CalendarSpec::parse_exact("*-*-* 25:00 ");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("hour 25"), std::string::npos) << bad.error().message;
  // A unit file's value: stripped around first.
  EXPECT_TRUE(CalendarSpec::parse(" daily\t"));
}

TEST(CalendarSpec, ErrorsSayWhatIsWrong) {
  auto c = CalendarSpec::parse("*-*-* 25:00");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message, "OnCalendar \"*-*-* 25:00\": hour 25 is out of range 0-23");
}

struct NextCase {
  const char* expr;
  const char* zone;
  const char* from;
  V expected;
};

class CalendarNext : public ::testing::TestWithParam<NextCase> {};

TEST_P(CalendarNext, Elapses) {
  const NextCase& c = GetParam();
  EXPECT_EQ(fires(c.expr, c.zone, c.from, static_cast<int>(c.expected.size()), Kind::kSystemd), c.expected) << c.expr;
}

INSTANTIATE_TEST_SUITE_P(
    Table, CalendarNext,
    ::testing::Values(
        NextCase{"Mon..Fri 9:00",
                 "Europe/Berlin",
                 "2026-01-01T00:00:00Z",
                 {"2026-01-01T09:00:00+01:00", "2026-01-02T09:00:00+01:00", "2026-01-05T09:00:00+01:00"}},
        NextCase{"mon,wed *-*~1 3:4", "UTC", "2026-01-01T00:00:00Z", {"2026-08-31T03:04:00+00:00"}},
        NextCase{"*-*~03", "UTC", "2026-02-01T00:00:00Z", {"2026-02-26T00:00:00+00:00", "2026-03-29T00:00:00+00:00"}},
        NextCase{"*-05~07/2",
                 "UTC",
                 "2026-01-01T00:00:00Z",
                 {"2026-05-25T00:00:00+00:00", "2026-05-27T00:00:00+00:00", "2026-05-29T00:00:00+00:00",
                  "2026-05-31T00:00:00+00:00", "2027-05-25T00:00:00+00:00"}},
        NextCase{"*:*:0/7.5",
                 "UTC",
                 "2026-01-01T00:00:00Z",
                 {"2026-01-01T00:00:07.500000+00:00", "2026-01-01T00:00:15+00:00"}},
        NextCase{"Sat,Sun 10:00 Europe/Berlin", "UTC", "2026-01-01T00:00:00Z", {"2026-01-03T09:00:00+00:00"}},
        NextCase{"*-02-29 12:00", "UTC", "2026-01-01T00:00:00Z", {"2028-02-29T12:00:00+00:00"}},
        NextCase{"quarterly", "America/New_York", "2026-01-15T00:00:00Z", {"2026-04-01T00:00:00-04:00"}},
        NextCase{"2026-12-31 23:59:59", "UTC", "2026-01-01T00:00:00Z", {"2026-12-31T23:59:59+00:00"}}));

TEST(CalendarSpec, NeverElapsesAgain) {
  for (const char* e : {"*-02-30", "2020-01-01", "@1700000000"}) {
    auto c = CalendarSpec::parse(e);
    ASSERT_TRUE(c) << e;
    EXPECT_FALSE(c->next_usec(1'767'225'600'000'000, Zone::utc()).has_value()) << e;  // from 2026-01-01
  }
}

}  // namespace
}  // namespace cronitor::schedule
