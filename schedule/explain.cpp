// Schedule::explain(): plain English for people ("At 02:30 on Monday through Friday").
// It works from the expression's text (the bitmasks have lost "every 2nd" and ranges).
#include <cctype>
#include <cstdio>
#include <string>
#include <vector>

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

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
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
  const std::string l = lower(v);
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
  const std::string l = lower(item);
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
    const std::string a = lower(w[0]);
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

std::string explain_calendar(const CalendarSpec& c) {
  static const char* kLong[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
  std::string out;
  const bool plain_time = c.hour.size() == 1 && c.hour[0].repeat == 0 && c.minute.size() == 1 &&
                          c.minute[0].repeat == 0 && c.usec.size() == 1 && c.usec[0].repeat == 0;
  const std::string norm = c.normalized();
  const std::string time_part = norm.substr(norm.find(':') - 2);
  if (plain_time) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "At %02lld:%02lld", static_cast<long long>(c.hour[0].start),
                  static_cast<long long>(c.minute[0].start));
    out = buf;
    if (c.usec[0].start != 0) out += ":" + time_part.substr(6, time_part.find(' ') - 6);
  } else {
    out = "At times matching " + time_part.substr(0, time_part.find(' '));
  }
  if (c.weekdays != 0) {
    std::vector<std::string> days;
    for (int k = 1; k <= 7; ++k) {
      if ((c.weekdays >> (k % 7)) & 1) days.push_back(kLong[k % 7]);
    }
    out += " on " + join(days);
  }
  if (!c.year.empty() || !c.month.empty() || !c.day.empty()) {
    const size_t date_start = c.weekdays != 0 ? norm.find(' ') + 1 : 0;
    out += " on dates matching " + norm.substr(date_start, norm.find(' ', date_start) - date_start);
  } else if (c.weekdays == 0) {
    out += " every day";
  }
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
  const std::string l = lower(t);
  if (l.starts_with("at ")) return "At " + t.substr(3) + " every day";
  if (l.starts_with("every day at ")) return "At " + t.substr(13) + " every day";
  return explain_cron(t);
}

}  // namespace cronitor::schedule
