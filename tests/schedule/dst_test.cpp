// DST nights as the real schedulers run them. Cron: Debian's cron(8) rules (fixed-time jobs of a
// skipped interval run once right after the jump, fixed-time jobs do not rerun in a repeated
// interval, wildcard jobs follow real time). OnCalendar: as `systemd-analyze calendar` computes it.
#include <gtest/gtest.h>

#include "tests/support/schedule_helpers.h"

namespace cronitor::schedule {
namespace {

using cronitor::testing::fires;
using V = std::vector<std::string>;

struct DstCase {
  const char* name;
  const char* expr;
  const char* zone;
  const char* from;
  V expected;
  Kind kind = Kind::kCron;
};

class DstNight : public ::testing::TestWithParam<DstCase> {};

TEST_P(DstNight, FiresAsTheSchedulerDoes) {
  const DstCase& c = GetParam();
  EXPECT_EQ(fires(c.expr, c.zone, c.from, static_cast<int>(c.expected.size()), c.kind), c.expected)
      << c.name << ": " << c.expr << " in " << c.zone;
}

// Europe/Berlin 2026: 03-29 02:00 CET -> 03:00 CEST; 10-25 03:00 CEST -> 02:00 CET.
INSTANTIATE_TEST_SUITE_P(
    Berlin, DstNight,
    ::testing::Values(DstCase{"fixed time in the gap runs right after the jump",
                              "30 2 * * *",
                              "Europe/Berlin",
                              "2026-03-28T12:00:00Z",
                              {"2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"}},
                      DstCase{"several skipped times collapse into one run",
                              "15,45 2 * * *",
                              "Europe/Berlin",
                              "2026-03-28T12:00:00Z",
                              {"2026-03-29T03:00:00+02:00", "2026-03-30T02:15:00+02:00"}},
                      DstCase{"a skipped run and one at the jump time run once",
                              "0 2,3 * * *",
                              "Europe/Berlin",
                              "2026-03-28T12:00:00Z",
                              {"2026-03-29T03:00:00+02:00", "2026-03-30T02:00:00+02:00"}},
                      DstCase{"wildcard minute skips the missing hour",
                              "*/30 * * * *",
                              "Europe/Berlin",
                              "2026-03-29T00:30:00Z",
                              {"2026-03-29T03:00:00+02:00", "2026-03-29T03:30:00+02:00"}},
                      DstCase{"wildcard hour skips the missing hour",
                              "30 * * * *",
                              "Europe/Berlin",
                              "2026-03-29T00:00:00Z",
                              {"2026-03-29T01:30:00+01:00", "2026-03-29T03:30:00+02:00"}},
                      DstCase{"@hourly follows real time",
                              "@hourly",
                              "Europe/Berlin",
                              "2026-03-29T00:30:00Z",
                              {"2026-03-29T03:00:00+02:00"}},
                      DstCase{"every minute of a missing hour: none that day",
                              "* 2 * * *",
                              "Europe/Berlin",
                              "2026-03-28T12:00:00Z",
                              {"2026-03-30T02:00:00+02:00"}},
                      DstCase{"fixed time in the repeated hour runs in the first copy only",
                              "30 2 * * *",
                              "Europe/Berlin",
                              "2026-10-24T12:00:00Z",
                              {"2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"}},
                      DstCase{"fixed time: from inside the first copy, after it ran",
                              "30 2 * * *",
                              "Europe/Berlin",
                              "2026-10-25T00:45:00Z",
                              {"2026-10-26T02:30:00+01:00"}},
                      DstCase{"fixed time: from inside the second copy",
                              "30 2 * * *",
                              "Europe/Berlin",
                              "2026-10-25T01:10:00Z",
                              {"2026-10-26T02:30:00+01:00"}},
                      DstCase{"wildcard runs in both copies",
                              "*/30 * * * *",
                              "Europe/Berlin",
                              "2026-10-25T00:00:00Z",
                              {"2026-10-25T02:30:00+02:00", "2026-10-25T02:00:00+01:00", "2026-10-25T02:30:00+01:00",
                               "2026-10-25T03:00:00+01:00"}},
                      DstCase{"wildcard hour runs in both copies",
                              "0 * * * *",
                              "Europe/Berlin",
                              "2026-10-24T23:30:00Z",
                              {"2026-10-25T02:00:00+02:00", "2026-10-25T02:00:00+01:00", "2026-10-25T03:00:00+01:00"}},
                      DstCase{"OnCalendar skips a time that does not exist",
                              "*-*-* 02:30:00",
                              "Europe/Berlin",
                              "2026-03-29T00:00:00Z",
                              {"2026-03-30T02:30:00+02:00"},
                              Kind::kSystemd},
                      DstCase{"OnCalendar repeating minutes skip the gap",
                              "*:00/20",
                              "Europe/Berlin",
                              "2026-03-29T00:00:00Z",
                              {"2026-03-29T01:20:00+01:00", "2026-03-29T01:40:00+01:00", "2026-03-29T03:00:00+02:00"},
                              Kind::kSystemd},
                      DstCase{"OnCalendar runs a repeated wall time once, in the first copy",
                              "*:00/15",
                              "Europe/Berlin",
                              "2026-10-24T23:50:00Z",
                              {"2026-10-25T02:00:00+02:00", "2026-10-25T02:15:00+02:00", "2026-10-25T02:30:00+02:00",
                               "2026-10-25T02:45:00+02:00", "2026-10-25T03:00:00+01:00"},
                              Kind::kSystemd},
                      DstCase{"OnCalendar from inside the second copy stays there",
                              "*:00/15",
                              "Europe/Berlin",
                              "2026-10-25T01:10:00Z",
                              {"2026-10-25T02:15:00+01:00", "2026-10-25T02:30:00+01:00"},
                              Kind::kSystemd}));

// America/New_York 2026: 03-08 02:00 EST -> 03:00 EDT; 11-01 02:00 EDT -> 01:00 EST.
INSTANTIATE_TEST_SUITE_P(NewYork, DstNight,
                         ::testing::Values(DstCase{"fixed time in the gap",
                                                   "0 2 * * *",
                                                   "America/New_York",
                                                   "2026-03-07T12:00:00Z",
                                                   {"2026-03-08T03:00:00-04:00", "2026-03-09T02:00:00-04:00"}},
                                           DstCase{"fixed time after the gap is untouched",
                                                   "30 3 * * *",
                                                   "America/New_York",
                                                   "2026-03-07T12:00:00Z",
                                                   {"2026-03-08T03:30:00-04:00"}},
                                           DstCase{"weekday job in the gap",
                                                   "30 2 * * 0",
                                                   "America/New_York",
                                                   "2026-03-01T12:00:00Z",
                                                   {"2026-03-08T03:00:00-04:00", "2026-03-15T02:30:00-04:00"}},
                                           DstCase{"fixed time in the repeated hour",
                                                   "30 1 * * *",
                                                   "America/New_York",
                                                   "2026-10-31T12:00:00Z",
                                                   {"2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"}},
                                           DstCase{"wildcard in the repeated hour",
                                                   "*/20 * * * *",
                                                   "America/New_York",
                                                   "2026-11-01T05:00:00Z",
                                                   {"2026-11-01T01:20:00-04:00", "2026-11-01T01:40:00-04:00",
                                                    "2026-11-01T01:00:00-05:00", "2026-11-01T01:20:00-05:00",
                                                    "2026-11-01T01:40:00-05:00", "2026-11-01T02:00:00-05:00"}},
                                           DstCase{"OnCalendar in the gap",
                                                   "*-*-* 02:30",
                                                   "America/New_York",
                                                   "2026-03-07T12:00:00Z",
                                                   {"2026-03-09T02:30:00-04:00"},
                                                   Kind::kSystemd}));

// Australia/Lord_Howe: a 30-minute shift. 2026-04-05 02:00 (+11) -> 01:30 (+10:30);
// 2026-10-04 02:00 (+10:30) -> 02:30 (+11).
INSTANTIATE_TEST_SUITE_P(LordHowe, DstNight,
                         ::testing::Values(DstCase{"fixed time in the half-hour gap",
                                                   "15 2 * * *",
                                                   "Australia/Lord_Howe",
                                                   "2026-10-03T12:00:00Z",
                                                   {"2026-10-04T02:30:00+11:00", "2026-10-05T02:15:00+11:00"}},
                                           DstCase{"fixed time after the half-hour gap",
                                                   "45 2 * * *",
                                                   "Australia/Lord_Howe",
                                                   "2026-10-03T12:00:00Z",
                                                   {"2026-10-04T02:45:00+11:00"}},
                                           DstCase{"wildcard skips the half-hour gap",
                                                   "*/10 * * * *",
                                                   "Australia/Lord_Howe",
                                                   "2026-10-03T15:20:00Z",
                                                   {"2026-10-04T02:30:00+11:00", "2026-10-04T02:40:00+11:00"}},
                                           DstCase{"fixed time in the repeated half hour",
                                                   "45 1 * * *",
                                                   "Australia/Lord_Howe",
                                                   "2026-04-04T12:00:00Z",
                                                   {"2026-04-05T01:45:00+11:00", "2026-04-06T01:45:00+10:30"}},
                                           DstCase{"wildcard in the repeated half hour",
                                                   "*/15 * * * *",
                                                   "Australia/Lord_Howe",
                                                   "2026-04-04T14:20:00Z",
                                                   {"2026-04-05T01:30:00+11:00", "2026-04-05T01:45:00+11:00",
                                                    "2026-04-05T01:30:00+10:30", "2026-04-05T01:45:00+10:30",
                                                    "2026-04-05T02:00:00+10:30"}},
                                           DstCase{"OnCalendar in the half-hour gap",
                                                   "*-*-* 02:10,40",
                                                   "Australia/Lord_Howe",
                                                   "2026-10-03T14:00:00Z",
                                                   {"2026-10-04T02:40:00+11:00", "2026-10-05T02:10:00+11:00"},
                                                   Kind::kSystemd}));

INSTANTIATE_TEST_SUITE_P(
    NoDst, DstNight,
    ::testing::Values(DstCase{"a zone without DST on Berlin's night",
                              "30 2 * * 1-5",
                              "Asia/Kolkata",
                              "2026-03-28T00:00:00Z",
                              {"2026-03-30T02:30:00+05:30", "2026-03-31T02:30:00+05:30"}},
                      DstCase{"a zone without DST on New York's night",
                              "*/30 1 * * *",
                              "Asia/Kolkata",
                              "2026-10-31T19:00:00Z",
                              {"2026-11-01T01:00:00+05:30", "2026-11-01T01:30:00+05:30"}},
                      // Pacific/Apia skipped 2011-12-30 entirely (-10 -> +14): a jump of a whole day is a clock
                      // correction for cron, so the skipped day's fixed-time runs are not caught up.
                      DstCase{"a day-long jump is a correction, not caught up",
                              "0 12 * * *",
                              "Pacific/Apia",
                              "2011-12-29T22:00:00Z",
                              {"2011-12-31T12:00:00+14:00"}}));

TEST(DstNight, EveryMinuteOfTheRepeatedHourRunsTwiceForWildcards) {
  // From 01:59 CEST: 60 runs in the first copy of 02:xx, then 60 in the second.
  const auto v = fires("* 2 * * *", "Europe/Berlin", "2026-10-24T23:59:00Z", 121);
  ASSERT_EQ(v.size(), 121u);
  EXPECT_EQ(v[0], "2026-10-25T02:00:00+02:00");
  EXPECT_EQ(v[59], "2026-10-25T02:59:00+02:00");
  EXPECT_EQ(v[60], "2026-10-25T02:00:00+01:00");
  EXPECT_EQ(v[119], "2026-10-25T02:59:00+01:00");
  EXPECT_EQ(v[120], "2026-10-26T02:00:00+01:00");
}

TEST(DstNight, AWholeYearOfDailyRunsHasOneRunPerDay) {
  // 2026 has both transitions; a fixed-time job in the gap and the overlap still runs every day once.
  for (const char* expr : {"30 2 * * *", "0 2 * * *", "59 2 * * *"}) {
    const auto v = fires(expr, "Europe/Berlin", "2025-12-31T23:00:00Z", 365);
    ASSERT_EQ(v.size(), 365u) << expr;
    EXPECT_EQ(v.back().substr(0, 10), "2026-12-31") << expr;
    for (size_t i = 1; i < v.size(); ++i) EXPECT_NE(v[i].substr(0, 10), v[i - 1].substr(0, 10)) << expr;
  }
}

}  // namespace
}  // namespace cronitor::schedule

namespace cronitor::schedule {
namespace {

// A 6-field expression is no Debian cron line: it follows elapsed time, as cronsim does. Riga
// 2021-03-28: 03:00 EET -> 04:00 EEST, so 03:30 does not exist and is not caught up at 04:00.
TEST(DstNightSeconds, ASkippedTimeIsNotCaughtUp) {
  EXPECT_EQ(fires("0 30 1-10 * * *", "Europe/Riga", "2021-03-28T01:31:00+02:00", 3),
            (V{"2021-03-28T02:30:00+02:00", "2021-03-28T04:30:00+03:00", "2021-03-28T05:30:00+03:00"}));
  // The same job written with 5 fields is Debian cron's: the skipped 03:30 runs at 04:00.
  EXPECT_EQ(fires("30 1-10 * * *", "Europe/Riga", "2021-03-28T01:31:00+02:00", 3),
            (V{"2021-03-28T02:30:00+02:00", "2021-03-28T04:00:00+03:00", "2021-03-28T04:30:00+03:00"}));
}

TEST(DstNightSeconds, ARepeatedTimeFiresInBothCopies) {
  // Riga 2021-10-31: 04:00 EEST -> 03:00 EET; 03:30 happens twice.
  EXPECT_EQ(fires("0 30 3 * * *", "Europe/Riga", "2021-10-30T12:00:00Z", 3),
            (V{"2021-10-31T03:30:00+03:00", "2021-10-31T03:30:00+02:00", "2021-11-01T03:30:00+02:00"}));
}

}  // namespace
}  // namespace cronitor::schedule
