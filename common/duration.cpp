#include "common/duration.h"

#include <cctype>
#include <cmath>
#include <utility>

namespace cronitor {
namespace {

constexpr std::pair<std::string_view, int64_t> kUnits[] = {
    {"s", 1},      {"sec", 1},       {"secs", 1},       {"second", 1},   {"seconds", 1}, {"m", 60},
    {"min", 60},   {"mins", 60},     {"minute", 60},    {"minutes", 60}, {"h", 3600},    {"hr", 3600},
    {"hrs", 3600}, {"hour", 3600},   {"hours", 3600},   {"d", 86400},    {"day", 86400}, {"days", 86400},
    {"w", 604800}, {"week", 604800}, {"weeks", 604800}, {"ms", 0},
};

}  // namespace

Result<std::chrono::seconds> parse_duration(std::string_view text) {
  constexpr int64_t kMax = int64_t{10} * 366 * 86400;  // ten years: beyond that it is a typo
  size_t i = 0;
  double total = 0;
  bool any = false;
  auto skip_space = [&] {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  };
  skip_space();
  if (i == text.size()) return fail("empty duration");
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
    if (start == i)
      return fail("duration \"" + std::string(text) + "\": expected a number at \"" + std::string(text.substr(start)) +
                  "\"");
    std::string number(text.substr(start, i - start));
    char* end = nullptr;
    double value = std::strtod(number.c_str(), &end);
    if (end != number.c_str() + number.size() || !std::isfinite(value))
      return fail("duration \"" + std::string(text) + "\": bad number \"" + number + "\"");
    skip_space();
    size_t ustart = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string unit(text.substr(ustart, i - ustart));
    for (char& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    int64_t mult = -1;
    if (unit.empty()) {
      mult = 1;
    } else {
      for (auto [name, m] : kUnits)
        if (name == unit) mult = m;
    }
    if (mult < 0)
      return fail("duration \"" + std::string(text) + "\": unknown unit \"" + unit +
                  "\" (use seconds, minutes, hours, days or weeks)");
    total += mult == 0 ? value / 1000.0 : value * static_cast<double>(mult);
    any = true;
    skip_space();
    if (i < text.size() && text[i] == ',') ++i;
    skip_space();
    if (total > static_cast<double>(kMax))
      return fail("duration \"" + std::string(text) + "\" is longer than ten years");
  }
  if (!any) return fail("empty duration");
  return std::chrono::seconds(static_cast<int64_t>(std::llround(total)));
}

std::string format_duration(std::chrono::seconds d) {
  int64_t s = d.count();
  if (s < 0) return "-" + format_duration(std::chrono::seconds(-s));
  if (s == 0) return "0s";
  std::string out;
  auto part = [&](int64_t unit, const char* suffix) {
    if (s >= unit) {
      if (!out.empty()) out += ' ';
      out += std::to_string(s / unit) + suffix;
      s %= unit;
    }
  };
  int parts_before = 0;
  part(86400, "d");
  parts_before = out.empty() ? 0 : 1;
  part(3600, "h");
  part(60, "m");
  // Seconds matter only for short spans.
  if (parts_before == 0 && d.count() < 3600) part(1, "s");
  if (out.empty()) out = std::to_string(d.count()) + "s";
  return out;
}

}  // namespace cronitor
