// Human durations ("2h30m", "90s") as users write them in agent.yaml: parsed, refused, formatted.
#include "common/duration.h"

#include <gtest/gtest.h>

namespace cronitor {
namespace {

using std::chrono::seconds;

TEST(Duration, ParsesTheFormsUsersWrite) {
  struct Case {
    const char* text;
    int64_t secs;
  } cases[] = {{"8 hours", 8 * 3600},
               {"30 minutes", 1800},
               {"10m", 600},
               {"2h", 7200},
               {"1h30m", 5400},
               {"90", 90},
               {"45s", 45},
               {"1.5h", 5400},
               {"2 days", 172800},
               {"1w", 604800},
               {"1 hour, 5 minutes", 3900},
               {" 5 min ", 300}};
  for (const auto& c : cases) {
    auto d = parse_duration(c.text);
    ASSERT_TRUE(d.has_value()) << c.text << ": " << d.error().message;
    EXPECT_EQ(d->count(), c.secs) << c.text;
  }
}

TEST(Duration, RejectsNonsense) {
  for (const char* bad : {"", "hours", "5 fortnights", "-3m", "1e400", "100000 weeks", "3x"}) {
    auto d = parse_duration(bad);
    EXPECT_FALSE(d.has_value()) << bad;
  }
  EXPECT_NE(parse_duration("5 fortnights").error().message.find("unknown unit \"fortnights\""), std::string::npos);
}

TEST(Duration, Formats) {
  EXPECT_EQ(format_duration(seconds(45)), "45s");
  EXPECT_EQ(format_duration(seconds(125)), "2m 5s");
  EXPECT_EQ(format_duration(seconds(7500)), "2h 5m");
  EXPECT_EQ(format_duration(seconds(3 * 86400 + 4 * 3600)), "3d 4h");
  EXPECT_EQ(format_duration(seconds(0)), "0s");
}

}  // namespace
}  // namespace cronitor
