#include "schedule/calendar_spec.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <tuple>

#include "common/text.h"

namespace cronitor::schedule {
namespace {

constexpr int64_t kMinYear = 1970;
constexpr size_t kMaxItems = 240;  // systemd's CALENDARSPEC_COMPONENTS_MAX

bool istarts_with(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  }
  return true;
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text), p_(text) {}

  Result<void> weekdays(CalendarSpec& c) {
    // systemd numbers weekdays from Monday; we store bit 0 = Sunday.
    static constexpr std::array<std::pair<std::string_view, int>, 14> kDays = {{
        {"Monday", 1},
        {"Mon", 1},
        {"Tuesday", 2},
        {"Tue", 2},
        {"Wednesday", 3},
        {"Wed", 3},
        {"Thursday", 4},
        {"Thu", 4},
        {"Friday", 5},
        {"Fri", 5},
        {"Saturday", 6},
        {"Sat", 6},
        {"Sunday", 0},
        {"Sun", 0},
    }};
    auto order = [](int wd) { return wd == 0 ? 6 : wd - 1; };  // Monday-first position
    int range_from = -1;
    bool first = true;
    while (true) {
      const auto* hit =
          std::find_if(kDays.begin(), kDays.end(), [&](const auto& d) { return istarts_with(p_, d.first); });
      if (hit == kDays.end()) {
        if (first) return {};
        return fail("expected a weekday name at " + quoted(p_));
      }
      const std::string_view rest = p_.substr(hit->first.size());
      if (!rest.empty() && rest[0] != '-' && rest[0] != '.' && rest[0] != ',' && rest[0] != ' ') {
        return fail("unknown weekday " + quoted(p_.substr(0, p_.find_first_of(" ,.-"))));
      }
      c.weekdays |= 1u << hit->second;
      if (range_from >= 0) {
        if (order(range_from) > order(hit->second))
          return fail("weekday range ends before it starts in " + quoted(text_));
        for (int k = order(range_from) + 1; k < order(hit->second); ++k) c.weekdays |= 1u << ((k + 1) % 7);
      }
      p_ = rest;
      if (p_.empty()) return {};
      if (p_[0] == ' ') {
        skip_spaces();
        return {};
      }
      if (p_[0] == '.') {
        if (range_from >= 0 || p_.size() < 2 || p_[1] != '.') return fail("bad weekday range in " + quoted(text_));
        range_from = hit->second;
        p_.remove_prefix(2);
      } else if (p_[0] == '-') {
        if (range_from >= 0) return fail("bad weekday range in " + quoted(text_));
        range_from = hit->second;
        p_.remove_prefix(1);
      } else if (p_[0] == ',') {
        range_from = -1;
        p_.remove_prefix(1);
      }
      if (p_.empty() || p_[0] == ' ') {
        skip_spaces();
        if (range_from >= 0) return fail("open weekday range in " + quoted(text_));
        return {};
      }
      first = false;
    }
  }

  // Returns true when an @TIMESTAMP consumed the rest.
  Result<bool> date(CalendarSpec& c) {
    if (p_.empty()) return false;
    if (p_[0] == '@') {
      p_.remove_prefix(1);
      auto v = number(false, "timestamp", 100'000'000'000);
      if (!v) return std::unexpected(v.error());
      const CivilTime t = CivilTime::from_linear(*v);
      c.utc = true;
      c.year = {{t.year}};
      c.month = {{t.month}};
      c.day = {{t.day}};
      c.hour = {{t.hour}};
      c.minute = {{t.minute}};
      c.usec = {{static_cast<int64_t>(t.second) * kUsecPerSec}};
      return true;
    }
    const std::string_view save = p_;
    CalendarSpec::Component first, second, third;
    if (auto r = chain(false, "date", first); !r) return std::unexpected(r.error());
    if (p_.empty() || p_[0] == ':') {
      p_ = save;  // it was a time
      return false;
    }
    if (p_[0] == '~')
      c.end_of_month = true;
    else if (p_[0] != '-')
      return fail("unexpected " + quoted(p_.substr(0, 1)) + " in the date of " + quoted(text_));
    p_.remove_prefix(1);
    if (auto r = chain(false, "date", second); !r) return std::unexpected(r.error());
    if (p_.empty() || p_[0] == ' ') {
      skip_spaces();
      c.month = std::move(first);
      c.day = std::move(second);
      return false;
    }
    if (c.end_of_month) return fail("'~' must come between month and day in " + quoted(text_));
    if (p_[0] == '~')
      c.end_of_month = true;
    else if (p_[0] != '-')
      return fail("unexpected " + quoted(p_.substr(0, 1)) + " in the date of " + quoted(text_));
    p_.remove_prefix(1);
    if (auto r = chain(false, "day", third); !r) return std::unexpected(r.error());
    if (!p_.empty() && p_[0] != ' ') return fail("unexpected " + quoted(p_) + " after the date in " + quoted(text_));
    skip_spaces();
    c.year = std::move(first);
    c.month = std::move(second);
    c.day = std::move(third);
    return false;
  }

  Result<void> time(CalendarSpec& c) {
    if (p_.empty()) {
      c.hour = {{0}};
      c.minute = {{0}};
      c.usec = {{0}};
      return {};
    }
    if (auto r = chain(false, "hour", c.hour); !r) return std::unexpected(r.error());
    if (p_.empty() || p_[0] != ':') return fail("expected HH:MM[:SS] in " + quoted(text_));
    p_.remove_prefix(1);
    if (auto r = chain(false, "minute", c.minute); !r) return std::unexpected(r.error());
    if (p_.empty()) {
      c.usec = {{0}};
      return {};
    }
    if (p_[0] != ':') return fail("unexpected " + quoted(p_) + " in the time of " + quoted(text_));
    p_.remove_prefix(1);
    if (auto r = chain(true, "second", c.usec); !r) return std::unexpected(r.error());
    if (!p_.empty()) return fail("unexpected " + quoted(p_) + " at the end of " + quoted(text_));
    return {};
  }

  bool done() const { return p_.empty(); }
  std::string_view rest() const { return p_; }

 private:
  void skip_spaces() {
    while (!p_.empty() && p_[0] == ' ') p_.remove_prefix(1);
  }

  Result<int64_t> number(bool usec, std::string_view what, int64_t max = 100'000'000) {
    size_t n = 0;
    int64_t v = 0;
    while (n < p_.size() && std::isdigit(static_cast<unsigned char>(p_[n]))) {
      if (v > max) return fail(std::string(what) + " value too large in " + quoted(text_));
      v = v * 10 + (p_[n++] - '0');
    }
    if (n == 0)
      return fail("expected a number for the " + std::string(what) + " at " + quoted(p_.empty() ? "end" : p_));
    p_.remove_prefix(n);
    if (!usec) return v;
    v *= kUsecPerSec;
    if (p_.size() >= 1 && p_[0] == '.' && !(p_.size() >= 2 && p_[1] == '.')) {
      p_.remove_prefix(1);
      int64_t scale = kUsecPerSec / 10;
      size_t k = 0;
      while (k < p_.size() && std::isdigit(static_cast<unsigned char>(p_[k]))) {
        // Six digits count; the seventh rounds (as systemd's parse_fractional_part_u()); the rest
        // are ignored. The rounded value is what gets range-checked (59.9999996 is 60: too large).
        if (k < 6) v += (p_[k] - '0') * scale;
        if (k == 6 && p_[k] >= '5') v += 1;
        scale /= 10;
        ++k;
      }
      if (k == 0) return fail("expected digits after the decimal point in " + quoted(text_));
      p_.remove_prefix(k);
    }
    return v;
  }

  Result<void> chain(bool usec, std::string_view what, CalendarSpec::Component& out) {
    if (!p_.empty() && p_[0] == '*') {
      p_.remove_prefix(1);
      out.clear();
      if (usec) out.push_back({0, -1, kUsecPerSec});
      return {};
    }
    while (true) {
      if (out.size() >= kMaxItems) return fail("too many list items in " + quoted(text_));
      CalendarSpec::Item item;
      auto start = number(usec, what);
      if (!start) return std::unexpected(start.error());
      item.start = *start;
      if (p_.size() >= 2 && p_[0] == '.' && p_[1] == '.') {
        p_.remove_prefix(2);
        auto stop = number(usec, what);
        if (!stop) return std::unexpected(stop.error());
        item.stop = *stop;
        item.repeat = usec ? kUsecPerSec : 1;
      }
      if (!p_.empty() && p_[0] == '/') {
        p_.remove_prefix(1);
        auto rep = number(usec, what);
        if (!rep) return std::unexpected(rep.error());
        if (*rep == 0) return fail("a repetition of 0 in the " + std::string(what) + " of " + quoted(text_));
        item.repeat = *rep;
      } else if (usec && item.stop >= 0 && item.start + item.repeat > item.stop) {
        return fail("a seconds range shorter than one second in " + quoted(text_));
      }
      if (!p_.empty() && std::string_view(" ,-~:").find(p_[0]) == std::string_view::npos) {
        return fail("unexpected " + quoted(p_.substr(0, 1)) + " in the " + std::string(what) + " of " + quoted(text_));
      }
      out.push_back(item);
      if (p_.empty() || p_[0] != ',') return {};
      p_.remove_prefix(1);
    }
  }

  std::string_view text_;
  std::string_view p_;
};

void normalize_chain(CalendarSpec::Component& c) {
  for (auto& i : c) {
    if (i.stop > i.start && i.repeat > 0) i.stop -= (i.stop - i.start) % i.repeat;
    if ((i.stop > i.start && i.repeat > 0 && i.start + i.repeat > i.stop) || i.start == i.stop) {
      i.repeat = 0;
      i.stop = -1;
    }
  }
  auto key = [](const CalendarSpec::Item& i) { return std::tuple(i.start, i.stop, i.repeat); };
  std::sort(c.begin(), c.end(), [&](const auto& a, const auto& b) { return key(a) < key(b); });
  c.erase(std::unique(c.begin(), c.end(), [&](const auto& a, const auto& b) { return key(a) == key(b); }), c.end());
}

Result<void> check_chain(const CalendarSpec::Component& c, std::string_view what, int64_t from, int64_t to,
                         bool end_of_month, std::string_view text, int64_t unit = 1) {
  if (end_of_month) to -= 3;
  auto show = [&](int64_t v) {
    return unit == 1 ? std::to_string(v) : std::to_string(v / unit) + (v % unit ? "." + std::to_string(v % unit) : "");
  };
  for (const auto& i : c) {
    const std::string range = show(from) + "-" + show(to);
    if (i.start < from || i.start > to) {
      return fail("OnCalendar " + quoted(text) + ": " + std::string(what) + " " + show(i.start) + " is out of range " +
                  range);
    }
    if (i.repeat > to - from)
      return fail("OnCalendar " + quoted(text) + ": " + std::string(what) + " repetition is too large");
    if (i.stop >= 0) {
      if (i.stop < from || i.stop > to) {
        return fail("OnCalendar " + quoted(text) + ": " + std::string(what) + " " + show(i.stop) + " is out of range " +
                    range);
      }
      if (i.start + i.repeat > i.stop)
        return fail("OnCalendar " + quoted(text) + ": " + std::string(what) + " range is empty");
    } else if (end_of_month ? i.start - i.repeat < from : i.start + i.repeat > to) {
      return fail("OnCalendar " + quoted(text) + ": " + std::string(what) + " repetition never fires");
    }
  }
  return {};
}

}  // namespace

Result<CalendarSpec> CalendarSpec::parse(std::string_view expr) {
  while (!expr.empty() && (expr.front() == ' ' || expr.front() == '\t')) expr.remove_prefix(1);
  while (!expr.empty() && (expr.back() == ' ' || expr.back() == '\t')) expr.remove_suffix(1);
  return parse_as_is(expr);
}

// systemd's calendar_spec_from_string() strips nothing: its weekday and date parsers skip the
// spaces after them, so "*-*~05,3 " and "Mon " parse, while a time, a zone, a shortcut or an
// @timestamp must end the text ("00:00 ", "daily ", "*-*-* 00:00 UTC " are refused). The parser
// below does the same when given the text as it is.
Result<CalendarSpec> CalendarSpec::parse_exact(std::string_view expr) {
  auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  const std::string shown = quoted(expr);
  if (!expr.empty() && space(expr.front()))
    return fail("OnCalendar " + shown + ": leading whitespace (systemd refuses whitespace there)");
  for (char c : expr)
    if (c != ' ' && space(c))
      return fail("OnCalendar " + shown + ": a tab or newline (systemd refuses whitespace there)");
  auto exact = parse_as_is(expr);
  if (exact || !expr.ends_with(' ')) return exact;
  if (auto trimmed = parse(expr); !trimmed) return trimmed;  // wrong without the spaces too: say what
  return fail("OnCalendar " + shown +
              ": trailing whitespace after a time, a zone, a shortcut or an @timestamp (systemd refuses whitespace "
              "there; after the weekdays or the date it is fine)");
}

Result<CalendarSpec> CalendarSpec::parse_as_is(std::string_view expr) {
  if (expr.size() > 1024) return fail("OnCalendar expression is longer than 1024 characters");
  CalendarSpec c;
  if (expr.size() > 4 && iequals(expr.substr(expr.size() - 4), " UTC")) {
    c.utc = true;
    expr.remove_suffix(4);
  } else if (const size_t sp = expr.rfind(' '); sp != std::string_view::npos) {
    const std::string_view word = expr.substr(sp + 1);
    const bool zone_like =
        !word.empty() && std::isalpha(static_cast<unsigned char>(word[0])) &&
        word.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+-") ==
            std::string_view::npos;
    if (zone_like && Zone::load(word)) {
      c.timezone = std::string(word);
      expr = expr.substr(0, sp);
      while (!expr.empty() && expr.back() == ' ') expr.remove_suffix(1);
    }
  }
  if (expr.empty()) return fail("empty OnCalendar expression");

  auto shortcut = [&](std::initializer_list<int64_t> months, int64_t day, bool hour, bool minute) {
    for (int64_t m : months) c.month.push_back({m});
    if (day) c.day = {{day}};
    if (hour) c.hour = {{0}};
    if (minute) c.minute = {{0}};
    c.usec = {{0}};
  };
  if (iequals(expr, "minutely"))
    shortcut({}, 0, false, false);
  else if (iequals(expr, "hourly"))
    shortcut({}, 0, false, true);
  else if (iequals(expr, "daily"))
    shortcut({}, 0, true, true);
  else if (iequals(expr, "monthly"))
    shortcut({}, 1, true, true);
  else if (iequals(expr, "weekly"))
    c.weekdays = 1u << 1, shortcut({}, 0, true, true);
  else if (iequals(expr, "yearly") || iequals(expr, "annually") || iequals(expr, "anually"))
    shortcut({1}, 1, true, true);
  else if (iequals(expr, "quarterly"))
    shortcut({1, 4, 7, 10}, 1, true, true);
  else if (iequals(expr, "semiannually") || iequals(expr, "semi-annually") || iequals(expr, "biannually") ||
           iequals(expr, "bi-annually")) {
    shortcut({1, 7}, 1, true, true);
  } else {
    Parser p(expr);
    if (auto r = p.weekdays(c); !r)
      return std::unexpected(Error{"OnCalendar " + quoted(expr) + ": " + r.error().message});
    auto at = p.date(c);
    if (!at) return std::unexpected(at.error());
    if (!*at) {
      if (auto r = p.time(c); !r) return std::unexpected(r.error());
    }
    if (!p.done()) return fail("OnCalendar " + quoted(expr) + ": unexpected " + quoted(p.rest()));
  }

  if (c.timezone == "UTC") c.utc = true, c.timezone.clear();
  if (c.weekdays == 0x7f) c.weekdays = 0;
  if (c.end_of_month && c.day.empty()) c.end_of_month = false;
  for (auto& i : c.year) {
    for (int64_t* v : {&i.start, &i.stop}) {
      if (*v >= 0 && *v < 70)
        *v += 2000;
      else if (*v >= 70 && *v < 100)
        *v += 1900;
    }
  }
  for (auto* comp : {&c.year, &c.month, &c.day, &c.hour, &c.minute, &c.usec}) normalize_chain(*comp);
  for (auto r :
       {check_chain(c.year, "year", kMinYear, kCalendarMaxYear, false, expr),
        check_chain(c.month, "month", 1, 12, false, expr), check_chain(c.day, "day", 1, 31, c.end_of_month, expr),
        check_chain(c.hour, "hour", 0, 23, false, expr), check_chain(c.minute, "minute", 0, 59, false, expr),
        check_chain(c.usec, "second", 0, 60 * kUsecPerSec - 1, false, expr, kUsecPerSec)}) {
    if (!r) return std::unexpected(r.error());
  }
  return c;
}

}  // namespace cronitor::schedule
