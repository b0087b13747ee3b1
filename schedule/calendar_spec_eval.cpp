// CalendarSpec: the next elapse, and the normalised text. The search mirrors systemd's find_next()
// (calendarspec.c) step by step, with glibc's mktime() replaced by cctz, so that the answers match
// `systemd-analyze calendar`, DST nights included.
#include <algorithm>
#include <cstdio>

#include "schedule/calendar_spec.h"

namespace cronitor::schedule {
namespace {

constexpr int kMaxIterations = 1000;

// struct tm, with 1-based months and no tm_isdst: the zone decides.
struct Tm {
  int64_t year;
  int64_t mon, mday, hour, min, sec;
};

class Search {
 public:
  Search(const CalendarSpec& spec, const Zone& zone) : spec_(spec), zone_(zone) {}

  // mktime(): carries overflowing fields upwards and moves a wall time that a forward DST jump
  // skipped to where glibc puts it (read with the old offset).
  Tm normalize(Tm t) const {
    t.min += t.sec / 60, t.sec %= 60;
    t.hour += t.min / 60, t.min %= 60;
    t.mday += t.hour / 24, t.hour %= 24;
    t.year += (t.mon - 1) / 12, t.mon = (t.mon - 1) % 12 + 1;
    while (t.mday > static_cast<int64_t>(days_in_month(t.year, static_cast<unsigned>(t.mon)))) {
      t.mday -= days_in_month(t.year, static_cast<unsigned>(t.mon));
      if (++t.mon > 12) t.mon = 1, ++t.year;
    }
    const CivilTime c = to_civil(t);
    const CivilMapping m = zone_.from_civil(c);
    if (m.kind == CivilMapping::Kind::kSkipped) return from_civil(zone_.to_civil(m.pre));
    return t;
  }

  // systemd's tm_within_bounds(): -1 past the last year, 0 when normalisation moved `tm` (now
  // updated), 1 when it was already a valid wall time.
  int within_bounds(Tm& tm) const {
    if (tm.year > kCalendarMaxYear) return -1;
    Tm t = normalize(tm);
    int cmp;
    if ((cmp = compare(t.year, tm.year)) != 0)
      t.mon = 1;
    else if ((cmp = compare(t.mon, tm.mon)) != 0)
      t.mday = 1;
    else if ((cmp = compare(t.mday, tm.mday)) != 0)
      t.hour = 0;
    else if ((cmp = compare(t.hour, tm.hour)) != 0)
      t.min = 0;
    else if ((cmp = compare(t.min, tm.min)) != 0)
      t.sec = 0;
    else
      cmp = compare(t.sec, tm.sec);
    if (cmp < 0) return -1;
    if (cmp > 0) tm = t;
    return cmp == 0 ? 1 : 0;
  }

  // systemd's find_matching_component(): -1 none, 0 unchanged, 1 moved forward.
  int match(const CalendarSpec::Component& c, const Tm& tm, int64_t& val, bool day) const {
    if (c.empty()) return 0;
    const bool eom = spec_.end_of_month && day;
    const int64_t dim = days_in_month(tm.year, static_cast<unsigned>(tm.mon));
    auto from_end = [&](int64_t k) -> int64_t {  // the k-th last day, or -1 outside this month
      const int64_t d = dim + 1 - k;
      return (k < 0 || d < 1 || d > dim) ? -1 : d;
    };
    bool found = false;
    int64_t best = 0;
    for (const auto& i : c) {
      int64_t start = i.start, stop = i.stop;
      if (eom) {
        start = from_end(i.start);
        stop = from_end(i.stop);
        if (stop > 0) std::swap(start, stop);
      }
      if (start >= val) {
        if (!found || start < best) best = start, found = true;
      } else if (i.repeat > 0) {
        const int64_t k = start + i.repeat * ((val - start + i.repeat - 1) / i.repeat);
        if ((!found || k < best) && (stop < 0 || k <= stop)) best = k, found = true;
      }
    }
    if (!found) return -1;
    const int r = val != best;
    val = best;
    return r;
  }

  bool weekday_ok(const Tm& t) const {
    if (spec_.weekdays == 0) return true;
    const unsigned wd =
        weekday_from_days(days_from_civil(t.year, static_cast<unsigned>(t.mon), static_cast<unsigned>(t.mday)));
    return (spec_.weekdays >> wd) & 1;
  }

  // systemd's find_next(): false when it never elapses again.
  bool find_next(Tm& tm, int64_t& usec) const {
    Tm c = tm;
    int64_t us = usec;
    for (int it = 0; it < kMaxIterations; ++it) {
      c = normalize(c);
      int r = match(spec_.year, c, c.year, false);
      if (r > 0) c.mon = 1, c.mday = 1, c.hour = c.min = c.sec = us = 0;
      if (r < 0 || within_bounds(c) <= 0) return false;

      r = match(spec_.month, c, c.mon, false);
      if (r > 0) c.mday = 1, c.hour = c.min = c.sec = us = 0;
      if (r < 0 || (r = within_bounds(c)) < 0) {
        ++c.year, c.mon = 1, c.mday = 1, c.hour = c.min = c.sec = us = 0;
        continue;
      }
      if (r == 0) continue;

      r = match(spec_.day, c, c.mday, true);
      if (r > 0) c.hour = c.min = c.sec = us = 0;
      if (r < 0 || (r = within_bounds(c)) < 0) {
        ++c.mon, c.mday = 1, c.hour = c.min = c.sec = us = 0;
        continue;
      }
      if (r == 0) continue;

      if (!weekday_ok(c)) {
        ++c.mday, c.hour = c.min = c.sec = us = 0;
        continue;
      }

      r = match(spec_.hour, c, c.hour, false);
      if (r > 0) c.min = c.sec = us = 0;
      if (r < 0 || (r = within_bounds(c)) < 0) {
        ++c.mday, c.hour = c.min = c.sec = us = 0;
        continue;
      }
      if (r == 0) continue;

      r = match(spec_.minute, c, c.min, false);
      if (r > 0) c.sec = us = 0;
      if (r < 0 || (r = within_bounds(c)) < 0) {
        ++c.hour, c.min = c.sec = us = 0;
        continue;
      }
      if (r == 0) continue;

      int64_t v = c.sec * kUsecPerSec + us;
      r = match(spec_.usec, c, v, false);
      us = v % kUsecPerSec;
      c.sec = v / kUsecPerSec;
      if (r < 0 || (r = within_bounds(c)) < 0) {
        ++c.min, c.sec = us = 0;
        continue;
      }
      if (r == 0) continue;

      tm = c;
      usec = us;
      return true;
    }
    return false;
  }

  static CivilTime to_civil(const Tm& t) {
    return CivilTime{t.year,
                     static_cast<unsigned>(t.mon),
                     static_cast<unsigned>(t.mday),
                     static_cast<unsigned>(t.hour),
                     static_cast<unsigned>(t.min),
                     static_cast<unsigned>(t.sec)};
  }
  static Tm from_civil(const CivilTime& c) { return Tm{c.year, c.month, c.day, c.hour, c.minute, c.second}; }

 private:
  static int compare(int64_t a, int64_t b) { return (a > b) - (a < b); }

  const CalendarSpec& spec_;
  const Zone& zone_;
};

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

void format_chain(std::string& out, const CalendarSpec::Component& c, int width, bool usec) {
  const int64_t d = usec ? kUsecPerSec : 1;
  if (c.empty() || (usec && std::any_of(c.begin(), c.end(), [](const auto& i) {
                      return i.start == 0 && i.stop < 0 && i.repeat == kUsecPerSec;
                    }))) {
    out += '*';
    return;
  }
  char buf[64];
  auto num = [&](int64_t v) {
    std::snprintf(buf, sizeof buf, "%0*lld", width, static_cast<long long>(v / d));
    out += buf;
    if (v % d) {
      std::snprintf(buf, sizeof buf, ".%06lld", static_cast<long long>(v % d));
      out += buf;
    }
  };
  for (size_t k = 0; k < c.size(); ++k) {
    const auto& i = c[k];
    if (k) out += ',';
    num(i.start);
    if (i.stop > 0) out += "..", num(i.stop);
    if (i.repeat > 0 && !(i.stop > 0 && i.repeat == d)) {
      std::snprintf(buf, sizeof buf, "/%lld", static_cast<long long>(i.repeat / d));
      out += buf;
      if (i.repeat % d) {
        std::snprintf(buf, sizeof buf, ".%06lld", static_cast<long long>(i.repeat % d));
        out += buf;
      }
    }
  }
}

}  // namespace

std::optional<int64_t> CalendarSpec::next_usec(int64_t after, const Zone& zone) const {
  std::optional<Zone> own;
  if (utc)
    own = Zone::utc();
  else if (!timezone.empty()) {
    auto z = Zone::load(timezone);
    if (!z) return std::nullopt;
    own = std::move(*z);
  }
  const Zone& z = own ? *own : zone;
  const int64_t start = after + 1;
  const int64_t secs = floor_div(start, kUsecPerSec);
  int64_t usec = start - secs * kUsecPerSec;
  Search search(*this, z);
  Tm tm = Search::from_civil(z.to_civil(secs));
  if (!search.find_next(tm, usec)) return std::nullopt;
  const CivilMapping m = z.from_civil(Search::to_civil(tm));
  // A repeated wall time elapses in the copy the search started in: the first, unless `after`
  // already lies in the second (glibc's mktime() keeps the offset it last used).
  int64_t t = m.pre;
  if (m.kind == CivilMapping::Kind::kRepeated && m.pre * kUsecPerSec + usec <= after) t = m.post;
  return t * kUsecPerSec + usec;
}

std::string CalendarSpec::normalized() const {
  static constexpr const char* kNames[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  std::string out;
  if (weekdays != 0) {
    auto has = [&](int k) { return k < 7 && ((weekdays >> ((k + 1) % 7)) & 1); };  // k: Monday-first
    bool comma = false;
    for (int k = 0; k < 7;) {
      if (!has(k)) {
        ++k;
        continue;
      }
      int e = k;
      while (has(e + 1)) ++e;
      if (comma) out += ',';
      comma = true;
      out += kNames[k];
      if (e > k) out += (e > k + 1 ? ".." : ","), out += kNames[e];
      k = e + 1;
    }
    out += ' ';
  }
  format_chain(out, year, 4, false);
  out += '-';
  format_chain(out, month, 2, false);
  out += end_of_month ? '~' : '-';
  format_chain(out, day, 2, false);
  out += ' ';
  format_chain(out, hour, 2, false);
  out += ':';
  format_chain(out, minute, 2, false);
  out += ':';
  format_chain(out, usec, 2, true);
  if (utc)
    out += " UTC";
  else if (!timezone.empty())
    out += " " + timezone;
  return out;
}

}  // namespace cronitor::schedule
