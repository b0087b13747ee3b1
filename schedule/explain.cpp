// Schedule::explain(): plain English for people ("At 02:30 on Monday through Friday").
// It works from the expression's text (the bitmasks have lost "every 2nd" and ranges).
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/text.h"
#include "schedule/schedule.h"

namespace cronitor::schedule {
namespace {

constexpr const char* kMonths[] = {"January", "February", "March",     "April",   "May",      "June",
                                   "July",    "August",   "September", "October", "November", "December"};
constexpr const char* kDays[] = {"Sunday",   "Monday", "Tuesday",  "Wednesday",
                                 "Thursday", "Friday", "Saturday", "Sunday"};
constexpr const char* kMonthAbbr[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                      "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr const char* kDayAbbr[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t p = 0;
  while (true) {
    size_t q = s.find(sep, p);
    out.push_back(s.substr(p, q == std::string::npos ? std::string::npos : q - p));
    if (q == std::string::npos) return out;
    p = q + 1;
  }
}

bool is_number(const std::string& s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos; }

std::string ordinal(int n) {
  const char* suffix = "th";
  if (n % 100 < 11 || n % 100 > 13) {
    if (n % 10 == 1) suffix = "st";
    if (n % 10 == 2) suffix = "nd";
    if (n % 10 == 3) suffix = "rd";
  }
  return std::to_string(n) + suffix;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += i + 1 == parts.size() ? " and " : ", ";
    out += parts[i];
  }
  return out;
}

// One value of a field: a number, or a month or day name.
std::string value_name(const std::string& v, int field) {
  const std::string l = ascii_lower(v);
  if (field == 3) {
    for (int i = 0; i < 12; ++i) {
      if (l == kMonthAbbr[i] || (is_number(l) && std::stoi(l) == i + 1)) return kMonths[i];
    }
  }
  if (field == 4) {
    for (int i = 0; i < 7; ++i) {
      if (l == kDayAbbr[i]) return kDays[i];
    }
    if (is_number(l) && std::stoi(l) <= 7) return kDays[std::stoi(l)];
  }
  return v;
}

// A list item of field (0 minute, 1 hour, 2 day-of-month, 3 month, 4 day-of-week, 5 second).
std::string item_text(const std::string& item, int field) {
  static const char* kUnits[] = {"minute", "hour", "day", "month", "day of the week", "second"};
  const std::string l = ascii_lower(item);
  if (field == 2) {
    if (l == "l") return "the last day of the month";
    if (l == "lw") return "the last weekday of the month";
    if (l.starts_with("l-")) return l.substr(2) + " days before the last day of the month";
    if (l.size() > 1 && l.back() == 'w') return "the weekday nearest day " + l.substr(0, l.size() - 1);
  }
  if (field == 4) {
    if (auto hash = l.find('#'); hash != std::string::npos) {
      return "the " + ordinal(std::stoi(l.substr(hash + 1))) + " " + value_name(l.substr(0, hash), 4) + " of the month";
    }
    if (l.size() > 1 && l.back() == 'l')
      return "the last " + value_name(l.substr(0, l.size() - 1), 4) + " of the month";
  }
  std::string base = item, step;
  if (auto slash = item.find('/'); slash != std::string::npos)
    base = item.substr(0, slash), step = item.substr(slash + 1);
  std::string out;
  if (base == "*" || base == "?") {
    out = step.empty() ? std::string("every ") + kUnits[field]
                       : "every " + ordinal(std::stoi(step)) + " " + kUnits[field];
    return out;
  }
  if (auto dash = base.find('-', 1); dash != std::string::npos) {
    out = value_name(base.substr(0, dash), field) + " through " + value_name(base.substr(dash + 1), field);
  } else {
    out = value_name(base, field);
  }
  if (!step.empty()) out = "every " + ordinal(std::stoi(step)) + " " + kUnits[field] + " from " + out;
  return out;
}

std::string field_text(const std::string& f, int field) {
  std::vector<std::string> parts;
  for (const auto& item : split(f, ',')) parts.push_back(item_text(item, field));
  return join(parts);
}

std::string two(const std::string& v) { return v.size() == 1 ? "0" + v : v; }

std::string explain_cron(const std::string& text) {
  std::vector<std::string> w;
  for (size_t i = 0; i < text.size();) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    size_t j = i;
    while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j]))) ++j;
    if (j > i) w.push_back(text.substr(i, j - i));
    i = j;
  }
  if (w.size() == 1) {
    const std::string a = ascii_lower(w[0]);
    if (a == "@reboot") return "At boot";
    if (a == "@hourly") return "Every hour, at minute 0";
    if (a == "@daily" || a == "@midnight") return "At 00:00 every day";
    if (a == "@weekly") return "At 00:00 on Sunday";
    if (a == "@monthly") return "At 00:00 on day 1 of the month";
    if (a == "@yearly" || a == "@annually") return "At 00:00 on day 1 of the month in January";
  }
  if (w.size() != 5 && w.size() != 6) return text;
  std::string sec = w.size() == 6 ? w[0] : "0";
  const size_t b = w.size() == 6 ? 1 : 0;
  const std::string &min = w[b], &hour = w[b + 1], &dom = w[b + 2], &mon = w[b + 3], &dow = w[b + 4];

  std::string out;
  auto plain = [](const std::string& f) { return f.find_first_of(",-/*?") == std::string::npos && is_number(f); };
  if (plain(min) && plain(hour) && plain(sec)) {
    out = "At " + two(hour) + ":" + two(min) + (sec == "0" || sec == "00" ? "" : ":" + two(sec));
  } else if (plain(min) && hour.find_first_of("-/*?") == std::string::npos && plain(sec)) {
    std::vector<std::string> times;
    for (const auto& h : split(hour, ',')) times.push_back(two(h) + ":" + two(min));
    out = "At " + join(times);
  } else {
    std::string s =
        w.size() == 6 && sec != "0" ? (sec == "*" ? "Every second" : "At second " + field_text(sec, 5)) : "";
    std::string m;
    if (min == "*")
      m = "every minute";
    else if (min.starts_with("*/"))
      m = "every " + min.substr(2) + " minutes";
    else
      m = "at minute " + field_text(min, 0);
    std::string h;
    if (hour == "*")
      h = "";
    else if (hour.starts_with("*/"))
      h = " past every " + ordinal(std::stoi(hour.substr(2))) + " hour";
    else
      h = " past hour " + field_text(hour, 1);
    out = s.empty() ? m + h : s + ", " + m + h;
    out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  }
  const bool dom_any = dom == "*" || dom == "?", dow_any = dow == "*" || dow == "?";
  std::string dom_text = "day " + field_text(dom, 2) + " of the month";
  if (dom.find_first_of("lLwW") != std::string::npos) dom_text = field_text(dom, 2);
  if (!dom_any && !dow_any) {
    const bool either = dom[0] != '*' && dow[0] != '*';
    out += " on " + dom_text + (either ? " or on " : " if it is ") + field_text(dow, 4);
  } else if (!dom_any) {
    out += " on " + dom_text;
  } else if (!dow_any) {
    out += " on " + field_text(dow, 4);
  }
  if (mon != "*") out += " in " + field_text(mon, 3);
  return out;
}

// OnCalendar components, named in full: every time, weekday and date it fires at.
constexpr int64_t kUsec = 1'000'000;

bool single(const CalendarSpec::Item& i) { return i.repeat == 0 && (i.stop < 0 || i.stop == i.start); }

// The values a time component stands for, in order, or nullopt when there are more than `cap`.
std::optional<std::vector<int64_t>> expand(const CalendarSpec::Component& c, int64_t max, int64_t unit, size_t cap) {
  std::vector<int64_t> v;
  if (c.empty()) {
    for (int64_t x = 0; x <= max; x += unit) v.push_back(x);
  }
  for (const auto& i : c) {
    const int64_t stop = i.stop >= 0 ? i.stop : (i.repeat > 0 ? max : i.start);
    const int64_t step = i.repeat > 0 ? i.repeat : unit;
    for (int64_t x = i.start; x <= stop && x <= max; x += step) {
      v.push_back(x);
      if (v.size() > cap) return std::nullopt;
    }
  }
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  if (v.size() > cap) return std::nullopt;
  return v;
}

std::string seconds_text(int64_t usec) {
  char buf[32];
  if (usec % kUsec == 0) {
    std::snprintf(buf, sizeof buf, "%02lld", static_cast<long long>(usec / kUsec));
  } else {
    std::snprintf(buf, sizeof buf, "%02lld.%06lld", static_cast<long long>(usec / kUsec),
                  static_cast<long long>(usec % kUsec));
  }
  return buf;
}

// A seconds value for prose: "5", "0.5".
std::string seconds_name(int64_t usec) {
  std::string out = std::to_string(usec / kUsec);
  if (usec % kUsec) {
    std::string f = seconds_text(usec).substr(3);
    while (f.back() == '0') f.pop_back();
    out += "." + f;
  }
  return out;
}

// One item of a component: "5", "5 through 9", "every 3 minutes from minute 2".
// The parser keeps a range as a repeat of one unit with a stop ("8..17" is 8..17/1).
std::string calendar_item(const CalendarSpec::Item& i, const char* unit, int64_t scale,
                          const std::function<std::string(int64_t)>& name) {
  if (single(i)) return name(i.start);
  if (i.repeat == scale && i.stop >= 0) return name(i.start) + " through " + name(i.stop);
  if (i.repeat == 0) return name(i.start) + " through " + name(i.stop);
  const int64_t r = i.repeat / scale;
  const std::string every = i.repeat % scale ? seconds_name(i.repeat) + " " + unit + "s"
                            : r == 1         ? std::string(unit)
                                             : std::to_string(r) + " " + unit + "s";
  std::string out = "every " + every;
  if (i.start != 0 || i.stop >= 0) out += std::string(" from ") + unit + " " + name(i.start);
  if (i.stop >= 0) out += " through " + name(i.stop);
  return out;
}

// A whole component: "minute 10, 20 and 30", "every 3 minutes from minute 2", "every minute".
std::string calendar_component(const CalendarSpec::Component& c, const char* unit, int64_t scale,
                               const std::function<std::string(int64_t)>& name) {
  if (c.empty()) return std::string("every ") + unit;
  std::vector<std::string> plain, repeats;
  for (const auto& i : c) {
    const bool repeat = i.repeat > 0 && !(i.repeat == scale && i.stop >= 0);
    (repeat ? repeats : plain).push_back(calendar_item(i, unit, scale, name));
  }
  std::string out;
  if (!plain.empty()) out = std::string(unit) + " " + join(plain);
  for (const auto& r : repeats) out += (out.empty() ? "" : " and ") + r;
  return out;
}

std::string two_digits(int64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%02lld", static_cast<long long>(v));
  return buf;
}

std::string calendar_time(const CalendarSpec& c) {
  // Few enough times to name each one: "At 01:23 and 02:23".
  const auto hours = expand(c.hour, 23, 1, 24), minutes = expand(c.minute, 59, 1, 60);
  const auto secs = expand(c.usec, 60 * kUsec - 1, kUsec, 60);
  if (hours && minutes && secs && hours->size() * minutes->size() * secs->size() <= 12) {
    const bool show_secs = secs->size() != 1 || (*secs)[0] != 0;
    std::vector<std::string> times;
    for (int64_t h : *hours)
      for (int64_t m : *minutes)
        for (int64_t s : *secs)
          times.push_back(two_digits(h) + ":" + two_digits(m) + (show_secs ? ":" + seconds_text(s) : ""));
    return "At " + join(times);
  }
  auto num = [](int64_t v) { return std::to_string(v); };
  const bool sec_zero = secs && secs->size() == 1 && (*secs)[0] == 0;
  const std::string sec = calendar_component(c.usec, "second", kUsec, seconds_name);
  const std::string min = calendar_component(c.minute, "minute", 1, num);
  const std::string hour = calendar_component(c.hour, "hour", 1, num);
  // "of every hour" adds nothing after a phrase that already repeats ("every 3 minutes ...").
  std::string out = min;
  if (!(c.hour.empty() && min.starts_with("every"))) out += " of " + hour;
  if (!sec_zero) out = sec.starts_with("every") && out == "every minute" ? sec : sec + " of " + out;
  if (out.starts_with("second") || out.starts_with("minute")) out = "at " + out;
  if (sec_zero && c.minute.empty() && c.hour.empty()) out = "every minute";
  out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  return out;
}

std::string explain_calendar(const CalendarSpec& c) {
  static const char* kLong[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
  std::string out = calendar_time(c);
  if (c.weekdays != 0) {
    std::vector<std::string> days;
    for (int k = 1; k <= 7; ++k) {
      if ((c.weekdays >> (k % 7)) & 1) days.push_back(kLong[k % 7]);
    }
    out += " on " + join(days);
  }
  auto num = [](int64_t v) { return std::to_string(v); };
  auto month_name = [](int64_t v) { return v >= 1 && v <= 12 ? std::string(kMonths[v - 1]) : std::to_string(v); };
  const std::string months = c.month.empty() ? "" : calendar_component(c.month, "month", 1, month_name);
  // "month January and July" reads as "January and July".
  const std::string month_names = months.starts_with("month ") ? months.substr(6) : months;
  if (!c.day.empty()) {
    std::string day;
    if (c.end_of_month) {
      std::vector<std::string> parts;
      for (const auto& i : c.day) {
        auto back = [](int64_t v) { return v == 1 ? std::string("last") : ordinal(static_cast<int>(v)) + " last"; };
        if (single(i))
          parts.push_back("the " + back(i.start) + " day");
        else if (i.repeat == 1 && i.stop < 0)  // "~07/1": from the 7th last day to the end
          parts.push_back("one of the last " + std::to_string(i.start) + " days");
        else
          parts.push_back("the " + back(i.start) + " through " + back(i.stop > 0 ? i.stop : 1) + " day");
      }
      day = join(parts) + " of " + (months.empty() ? "the month" : month_names);
    } else {
      std::vector<std::string> parts;
      for (const auto& i : c.day) {
        if (i.repeat > 1) {  // "1/2": every 2nd day of the month from day 1
          parts.push_back("every " + ordinal(static_cast<int>(i.repeat)) + " day of " +
                          (months.empty() ? "the month" : month_names) + " from day " + num(i.start) +
                          (i.stop >= 0 ? " through " + num(i.stop) : ""));
        } else {
          parts.push_back("day " + calendar_item(i, "day", 1, num) + " of " +
                          (months.empty() ? "the month" : month_names));
        }
      }
      day = join(parts);
    }
    out += (c.weekdays != 0 ? " when that is " : " on ") + day;
  } else if (!months.empty()) {
    out += " in " + month_names;
  }
  if (!c.year.empty()) {
    const std::string years = calendar_component(c.year, "year", 1, num);
    out += " in " + (years.starts_with("year ") ? years.substr(5) : years);
  }
  if (c.weekdays == 0 && c.day.empty() && c.month.empty() && c.year.empty())
    out += out.starts_with("At ") && out.find(" of ") == std::string::npos ? " every day" : ", every day";
  if (c.utc)
    out += " (UTC)";
  else if (!c.timezone.empty())
    out += " (" + c.timezone + ")";
  return out;
}

std::string explain_interval(const IntervalSpec& i) {
  int64_t s = i.period.count();
  struct Unit {
    int64_t secs;
    const char* name;
  };
  for (Unit u : {Unit{604800, "week"}, Unit{86400, "day"}, Unit{3600, "hour"}, Unit{60, "minute"}, Unit{1, "second"}}) {
    if (s % u.secs == 0) {
      const int64_t n = s / u.secs;
      return (n == 1 ? std::string("Every ") + u.name : "Every " + std::to_string(n) + " " + u.name + "s") +
             ", counted from the previous run";
    }
  }
  return "Every " + std::to_string(s) + " seconds";
}

}  // namespace

std::string Schedule::explain() const {
  if (const auto* i = std::get_if<IntervalSpec>(&spec_)) return explain_interval(*i);
  if (const auto* c = std::get_if<CalendarSpec>(&spec_)) return explain_calendar(*c);
  std::string t = text_;
  const std::string l = ascii_lower(t);
  if (l.starts_with("at ")) return "At " + t.substr(3) + " every day";
  if (l.starts_with("every day at ")) return "At " + t.substr(13) + " every day";
  return explain_cron(t);
}

}  // namespace cronitor::schedule
