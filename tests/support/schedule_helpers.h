// Shared by the schedule tests: fire times as the ISO strings the CLI prints.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "schedule/iso8601.h"
#include "schedule/schedule.h"

namespace cronitor::testing {

/// The next `count` fire times of `expr` after `from`, formatted in `zone`.
inline std::vector<std::string> fires(const std::string& expr, const std::string& zone_name, const std::string& from,
                                      int count, schedule::Kind kind = schedule::Kind::kCron) {
  auto sched = schedule::Schedule::parse(expr, kind);
  EXPECT_TRUE(sched.has_value()) << expr << ": " << (sched ? "" : sched.error().message);
  if (!sched) return {};
  auto zone = schedule::Zone::load(zone_name);
  EXPECT_TRUE(zone.has_value()) << zone_name;
  if (!zone) return {};
  auto t = schedule::parse_iso8601(from, *zone);
  EXPECT_TRUE(t.has_value()) << from;
  if (!t) return {};
  std::vector<std::string> out;
  schedule::Instant at = *t;
  for (int i = 0; i < count; ++i) {
    auto n = sched->next(at, *zone);
    if (!n) break;
    EXPECT_GT(*n, at) << expr << ": next() must move forward";
    out.push_back(schedule::format_iso8601(*n, *zone));
    at = *n;
  }
  return out;
}

}  // namespace cronitor::testing
