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

std::string format_iso8601(Instant t, const Zone& zone) {
  const int64_t us = t.time_since_epoch().count();
  int64_t secs = us / 1'000'000, frac = us % 1'000'000;
  if (frac < 0) frac += 1'000'000, --secs;
  const CivilTime c = zone.to_civil(secs);
  const int off = zone.offset_at(secs);
  const int aoff = off < 0 ? -off : off;
  char buf[80];
  int n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02u:%02u:%02u", static_cast<long long>(c.year), c.month,
                        c.day, c.hour, c.minute, c.second);
  if (frac != 0) n += std::snprintf(buf + n, sizeof buf - n, ".%06lld", static_cast<long long>(frac));
  n += std::snprintf(buf + n, sizeof buf - n, "%c%02d:%02d", off < 0 ? '-' : '+', aoff / 3600, aoff / 60 % 60);
  if (aoff % 60 != 0) std::snprintf(buf + n, sizeof buf - n, ":%02d", aoff % 60);
  return buf;
}

Result<Instant> parse_iso8601(std::string_view s, const Zone& zone) {
  using std::chrono::microseconds;
  const std::string shown = "\"" + std::string(s.substr(0, 64)) + "\"";
  if (!s.empty() && s[0] == '@') {
    int64_t v = 0;
    if (s.size() < 2 || s.size() > 13 || !digits(s, 1, s.size() - 1, v)) return fail("bad timestamp " + shown + ": expected @UNIX_SECONDS");
    return Instant(microseconds(v * 1'000'000));
  }
  const std::string expected = ": expected ISO 8601 such as 2026-03-29T01:30:00+01:00, 2026-03-29T00:30:00Z or @1774747800";
  int64_t y, mo, d, h = 0, mi = 0, sec = 0, frac = 0;
  if (!digits(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' || !digits(s, 8, 2, d)) {
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
  const CivilTime c{y, static_cast<unsigned>(mo), static_cast<unsigned>(d), static_cast<unsigned>(h),
                    static_cast<unsigned>(mi), static_cast<unsigned>(sec)};
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
    int64_t oh, om = 0;
    const bool ok = (zone_part[0] == '+' || zone_part[0] == '-') && digits(zone_part, 1, 2, oh) &&
                    (zone_part.size() == 3 || (zone_part.size() == 6 && zone_part[3] == ':' && digits(zone_part, 4, 2, om)) ||
                     (zone_part.size() == 5 && digits(zone_part, 3, 2, om)));
    if (!ok || oh > 18 || om > 59) return fail("bad timestamp " + shown + ": bad UTC offset");
    const int64_t off = (oh * 3600 + om * 60) * (zone_part[0] == '-' ? -1 : 1);
    t = c.linear() - off;
  }
  return Instant(microseconds(t * 1'000'000 + frac));
}

}  // namespace cronitor::schedule
