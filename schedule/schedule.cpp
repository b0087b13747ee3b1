#include "schedule/schedule.h"

#include <cctype>
#include <string>
#include <vector>

#include "common/text.h"

namespace cronitor::schedule {
namespace {

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t j = i;
    while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

// Cronitor's "every 30 seconds" ... "every 3 weeks"; the count may be left out ("every day").
Result<IntervalSpec> parse_every(const std::string& expr, const std::vector<std::string>& w) {
  size_t unit_at = 1;
  int64_t n = 1;
  if (w.size() == 3) {
    const std::string& num = w[1];
    if (num.empty() || num.size() > 6 || num.find_first_not_of("0123456789") != std::string::npos) {
      return fail("\"" + expr + "\": \"" + num + "\" is not a whole number of units");
    }
    n = std::stoll(num);
    if (n == 0) return fail("\"" + expr + "\": the period must be at least 1");
    unit_at = 2;
  } else if (w.size() != 2) {
    return fail("\"" + expr + "\": expected \"every N seconds|minutes|hours|days|weeks\"");
  }
  std::string unit = w[unit_at];
  if (unit.size() > 1 && unit.back() == 's') unit.pop_back();
  int64_t secs = 0;
  if (unit == "second" || unit == "sec")
    secs = 1;
  else if (unit == "minute" || unit == "min")
    secs = 60;
  else if (unit == "hour")
    secs = 3600;
  else if (unit == "day")
    secs = 86400;
  else if (unit == "week")
    secs = 7 * 86400;
  else
    return fail("\"" + expr + "\": unknown unit \"" + w[unit_at] + "\" (seconds, minutes, hours, days or weeks)");
  return IntervalSpec{std::chrono::seconds(n * secs)};
}

}  // namespace

Result<Schedule> Schedule::parse(std::string_view expr, Kind kind, CronDialect dialect) {
  std::string text = trim(expr);
  if (text.size() > 1024) return fail("schedule is longer than 1024 characters");
  if (kind == Kind::kSystemd) {
    auto c = CalendarSpec::parse(text);
    if (!c) return std::unexpected(c.error());
    return Schedule(std::move(text), std::move(*c));
  }
  if (dialect == CronDialect::kExtended) {
    const auto w = words(ascii_lower(text));
    if (!w.empty() && w[0] == "every") {
      // "every day at 13:37" is a daily time, not an interval.
      if (w.size() == 4 && w[1] == "day" && w[2] == "at") {
        auto c = CronSpec::daily_at(w[3]);
        if (!c) return std::unexpected(c.error());
        return Schedule(std::move(text), *c);
      }
      auto i = parse_every(text, w);
      if (!i) return std::unexpected(i.error());
      return Schedule(std::move(text), *i);
    }
    if (!w.empty() && w[0] == "at") {
      if (w.size() != 2) return fail("\"" + text + "\": expected \"at HH:MM\"");
      auto c = CronSpec::daily_at(w[1]);
      if (!c) return std::unexpected(c.error());
      return Schedule(std::move(text), *c);
    }
  }
  auto c = CronSpec::parse(text, dialect);
  if (!c) return std::unexpected(c.error());
  return Schedule(std::move(text), *c);
}

std::optional<Instant> Schedule::next(Instant after, const Zone& zone) const {
  using std::chrono::microseconds;
  const int64_t us = after.time_since_epoch().count();
  if (const auto* c = std::get_if<CronSpec>(&spec_)) {
    const int64_t secs = us >= 0 ? us / 1'000'000 : -((-us + 999'999) / 1'000'000);
    const auto t = c->next_fire(secs, zone);
    if (!t) return std::nullopt;
    return Instant(microseconds(*t * 1'000'000));
  }
  if (const auto* i = std::get_if<IntervalSpec>(&spec_)) return after + i->period;
  const auto t = std::get<CalendarSpec>(spec_).next_usec(us, zone);
  if (!t) return std::nullopt;
  return Instant(microseconds(*t));
}

bool Schedule::at_reboot() const {
  const auto* c = std::get_if<CronSpec>(&spec_);
  return c != nullptr && c->has(CronSpec::kReboot);
}

std::optional<std::chrono::seconds> Schedule::interval() const {
  if (const auto* i = std::get_if<IntervalSpec>(&spec_)) return i->period;
  return std::nullopt;
}

}  // namespace cronitor::schedule
