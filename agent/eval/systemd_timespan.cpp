#include "agent/eval/systemd_timespan.h"

#include <cctype>
#include <cmath>
#include <string>
#include <utility>

namespace cronitor::agent {
namespace {

constexpr size_t kMaxLength = 256;
constexpr double kMaxSeconds = 10.0 * 366 * 86400;

// Microseconds per unit; case matters only for "M" (month) against "m" (minute), as in systemd.
constexpr std::pair<std::string_view, double> kUnits[] = {
    {"usec", 1},          {"us", 1},         {"\xC2\xB5s", 1},  // µs
    {"msec", 1e3},        {"ms", 1e3},       {"seconds", 1e6},
    {"second", 1e6},      {"sec", 1e6},      {"s", 1e6},
    {"minutes", 60e6},    {"minute", 60e6},  {"min", 60e6},
    {"m", 60e6},          {"hours", 3600e6}, {"hour", 3600e6},
    {"hr", 3600e6},       {"h", 3600e6},     {"days", 86400e6},
    {"day", 86400e6},     {"d", 86400e6},    {"weeks", 604800e6},
    {"week", 604800e6},   {"w", 604800e6},   {"months", 2629800e6},
    {"month", 2629800e6}, {"M", 2629800e6},  {"years", 31557600e6},
    {"year", 31557600e6}, {"y", 31557600e6},
};

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

}  // namespace

Result<std::chrono::seconds> parse_systemd_timespan(std::string_view text) {
  if (text.size() > kMaxLength) return fail("time span is longer than 256 characters");
  const std::string quoted = "time span \"" + std::string(text) + "\"";
  size_t i = 0;
  double total_us = 0;
  bool any = false;
  while (true) {
    while (i < text.size() && is_space(text[i])) ++i;
    if (i == text.size()) break;
    const size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
    if (start == i) return fail(quoted + ": expected a number at \"" + std::string(text.substr(start)) + "\"");
    const std::string number(text.substr(start, i - start));
    char* end = nullptr;
    const double value = std::strtod(number.c_str(), &end);
    if (end != number.c_str() + number.size() || !std::isfinite(value))
      return fail(quoted + ": bad number \"" + number + "\"");
    while (i < text.size() && is_space(text[i])) ++i;
    const size_t ustart = i;
    while (i < text.size() && !is_space(text[i]) && !std::isdigit(static_cast<unsigned char>(text[i])) &&
           text[i] != '.')
      ++i;
    const std::string_view unit = text.substr(ustart, i - ustart);
    double mult = -1;
    if (unit.empty()) {
      mult = 1e6;
    } else {
      for (auto [name, m] : kUnits)
        if (name == unit) mult = m;
    }
    if (mult < 0) return fail(quoted + ": unknown unit \"" + std::string(unit) + "\"");
    total_us += value * mult;
    any = true;
    if (total_us > kMaxSeconds * 1e6) return fail(quoted + " is longer than ten years");
  }
  if (!any) return fail("empty time span");
  return std::chrono::seconds(static_cast<int64_t>(std::ceil(total_us / 1e6 - 1e-9)));
}

std::string systemd_timespan_text(uint64_t usec) {
  if (usec % 1'000'000 == 0) return std::to_string(usec / 1'000'000) + "s";
  if (usec % 1'000 == 0) return std::to_string(usec / 1'000) + "ms";
  return std::to_string(usec) + "us";
}

}  // namespace cronitor::agent
