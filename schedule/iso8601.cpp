#include "schedule/iso8601.h"

#include <cstdio>
#include <cstdlib>

namespace cronitor::schedule {
namespace {

bool digits(std::string_view s, size_t pos, size_t n, int64_t& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

}  // namespace

// Fixed-width digits by hand: `schedule next --count 100000` spends most of its time here.
static char* put_digits(char* p, int64_t v, int width) {
  for (int i = width - 1; i >= 0; --i, v /= 10) p[i] = static_cast<char>('0' + v % 10);
  return p + width;
}

char* format_iso8601(char* p, const CivilTime& c, int64_t frac, int off) {
  const int aoff = off < 0 ? -off : off;
  if (c.year < 0 || c.year > 9999) {
    p += std::snprintf(p, 24, "%lld", static_cast<long long>(c.year));
  } else {
    p = put_digits(p, c.year, 4);
  }
  *p++ = '-';
  p = put_digits(p, c.month, 2);
  *p++ = '-';
  p = put_digits(p, c.day, 2);
  *p++ = 'T';
  p = put_digits(p, c.hour, 2);
  *p++ = ':';
  p = put_digits(p, c.minute, 2);
  *p++ = ':';
  p = put_digits(p, c.second, 2);
  if (frac != 0) *p++ = '.', p = put_digits(p, frac, 6);
  *p++ = off < 0 ? '-' : '+';
  p = put_digits(p, aoff / 3600, 2);
  *p++ = ':';
  p = put_digits(p, aoff / 60 % 60, 2);
  if (aoff % 60 != 0) *p++ = ':', p = put_digits(p, aoff % 60, 2);
  return p;
}

std::string format_iso8601_utc(Instant t) {
  return format_iso8601(std::chrono::floor<std::chrono::seconds>(t), Zone::utc());
}

std::string format_iso8601(Instant t, const Zone& zone) {
  const int64_t us = t.time_since_epoch().count();
  int64_t secs = us / 1'000'000, frac = us % 1'000'000;
  if (frac < 0) frac += 1'000'000, --secs;
  char buf[kIso8601Max];
  return std::string(buf, format_iso8601(buf, zone.to_civil(secs), frac, zone.offset_at(secs)));
}

Result<Instant> parse_iso8601(std::string_view s, const Zone& zone) {
  using std::chrono::microseconds;
  const std::string shown = "\"" + std::string(s.substr(0, 64)) + "\"";
  if (!s.empty() && s[0] == '@') {
    int64_t v = 0;
    // Years 1970..9999, like the other forms: what we print must parse back.
    if (s.size() < 2 || s.size() > 13 || !digits(s, 1, s.size() - 1, v) || v > 253402300799) {
      return fail("bad timestamp " + shown + ": expected @UNIX_SECONDS up to the year 9999");
    }
    return Instant(microseconds(v * 1'000'000));
  }
  const std::string expected =
      ": expected ISO 8601 such as 2026-03-29T01:30:00+01:00, 2026-03-29T00:30:00Z or @1774747800";
  int64_t y, mo, d, h = 0, mi = 0, sec = 0, frac = 0;
  if (!digits(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d)) {
    return fail("bad timestamp " + shown + expected);
  }
  size_t p = 10;
  if (p < s.size() && (s[p] == 'T' || s[p] == 't' || s[p] == ' ')) {
    if (!digits(s, p + 1, 2, h) || p + 3 >= s.size() || s[p + 3] != ':' || !digits(s, p + 4, 2, mi)) {
      return fail("bad timestamp " + shown + expected);
    }
    p += 6;
    if (p < s.size() && s[p] == ':') {
      if (!digits(s, p + 1, 2, sec)) return fail("bad timestamp " + shown + expected);
      p += 3;
      if (p < s.size() && (s[p] == '.' || s[p] == ',')) {
        ++p;
        int64_t scale = 100000;
        size_t k = 0;
        for (; p < s.size() && s[p] >= '0' && s[p] <= '9'; ++p, ++k) {
          if (scale > 0) frac += (s[p] - '0') * scale;
          scale /= 10;
        }
        if (k == 0) return fail("bad timestamp " + shown + expected);
      }
    }
  }
  if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, static_cast<unsigned>(mo)) || h > 23 || mi > 59 || sec > 59) {
    return fail("bad timestamp " + shown + ": a field is out of range");
  }
  const CivilTime c{y,
                    static_cast<unsigned>(mo),
                    static_cast<unsigned>(d),
                    static_cast<unsigned>(h),
                    static_cast<unsigned>(mi),
                    static_cast<unsigned>(sec)};
  int64_t t;
  const std::string_view zone_part = s.substr(p);
  if (zone_part.empty()) {
    const CivilMapping m = zone.from_civil(c);
    if (m.kind == CivilMapping::Kind::kSkipped) {
      return fail("bad timestamp " + shown + ": that wall time does not exist in " + zone.name() + " (skipped by DST)");
    }
    t = m.pre;
  } else if (zone_part == "Z" || zone_part == "z") {
    t = c.linear();
  } else {
    // +hh, +hhmm, +hh:mm, and +hh:mm:ss (local mean time before ~1900 is not whole minutes).
    int64_t oh, om = 0, os = 0;
    const size_t n = zone_part.size();
    const bool ok = (zone_part[0] == '+' || zone_part[0] == '-') && digits(zone_part, 1, 2, oh) &&
                    (n == 3 || (n == 5 && digits(zone_part, 3, 2, om)) ||
                     (n == 6 && zone_part[3] == ':' && digits(zone_part, 4, 2, om)) ||
                     (n == 9 && zone_part[3] == ':' && digits(zone_part, 4, 2, om) && zone_part[6] == ':' &&
                      digits(zone_part, 7, 2, os)));
    if (!ok || oh > 18 || om > 59 || os > 59) return fail("bad timestamp " + shown + ": bad UTC offset");
    const int64_t off = (oh * 3600 + om * 60 + os) * (zone_part[0] == '-' ? -1 : 1);
    t = c.linear() - off;
  }
  return Instant(microseconds(t * 1'000'000 + frac));
}

}  // namespace cronitor::schedule
