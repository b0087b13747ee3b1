#include "schedule/cron_spec.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <limits>
#include <string>
#include <vector>

#include "common/text.h"

namespace cronitor::schedule {
namespace {

constexpr std::array<std::string_view, 12> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                                          "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 7> kDayNames = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

enum FieldId { kSecond, kMinute, kHour, kDom, kMonth, kDow };

struct FieldInfo {
  std::string_view name;
  unsigned low, high;
  const std::string_view* names;  // names[i] stands for low + i (months) or i (days)
  unsigned name_count;
  std::string_view names_hint;
};

constexpr FieldInfo kFields[] = {
    {"second", 0, 59, nullptr, 0, ""},
    {"minute", 0, 59, nullptr, 0, ""},
    {"hour", 0, 23, nullptr, 0, ""},
    {"day-of-month", 1, 31, nullptr, 0, ""},
    {"month", 1, 12, kMonthNames.data(), 12, " or a month name (jan-dec)"},
    {"day-of-week", 0, 7, kDayNames.data(), 7, " or a day name (sun-sat)"},
};

std::string field_error(FieldId f, std::string_view token, std::string_view what) {
  return std::string(kFields[f].name) + " field: " + quoted(token) + " " + std::string(what);
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A number or a name of field f; `token` is the whole list item, for messages.
Result<unsigned> parse_value(FieldId f, std::string_view v, std::string_view token) {
  const FieldInfo& fi = kFields[f];
  if (all_digits(v)) {
    if (v.size() > 4)
      return fail(field_error(f, token, "is out of range " + std::to_string(fi.low) + "-" + std::to_string(fi.high)));
    unsigned n = 0;
    for (char c : v) n = n * 10 + static_cast<unsigned>(c - '0');
    if (n < fi.low || n > fi.high) {
      return fail(field_error(f, v == token ? token : v,
                              "is out of range " + std::to_string(fi.low) + "-" + std::to_string(fi.high)));
    }
    return n;
  }
  for (unsigned i = 0; i < fi.name_count; ++i) {
    if (iequals(v, fi.names[i])) return f == kMonth ? i + 1 : i;
  }
  return fail(field_error(f, v, "is not a number" + std::string(fi.names_hint)));
}

Result<unsigned> parse_step(FieldId f, std::string_view s, std::string_view token) {
  if (!all_digits(s)) return fail(field_error(f, token, "has a step that is not a number"));
  if (s.size() > 4) return fail(field_error(f, token, "has a step larger than the field"));
  unsigned n = 0;
  for (char c : s) n = n * 10 + static_cast<unsigned>(c - '0');
  if (n == 0) return fail(field_error(f, token, "has a step of 0 (a step must be 1 or more)"));
  return n;
}

struct FieldBits {
  uint64_t bits = 0;
  uint32_t dom_last = 0, dom_nearest = 0;
  uint8_t dow_last = 0;
  uint8_t dow_nth[5] = {};
  bool last_weekday = false;
};

// Extended-dialect tokens of the day fields: L, L-N, LW, NW (day of month); wL, w#n, L (day of week).
Result<bool> parse_special(FieldId f, std::string_view item, FieldBits& out) {
  if (f == kDom) {
    if (iequals(item, "L")) return out.dom_last |= 1, true;
    if (iequals(item, "LW")) return out.last_weekday = true;
    if (item.size() > 2 && (item[0] == 'L' || item[0] == 'l') && item[1] == '-') {
      std::string_view n = item.substr(2);
      if (!all_digits(n) || n.size() > 2 || std::stoi(std::string(n)) > 30) {
        return fail(field_error(f, item, "must be L-N with N from 0 to 30 days before the last day"));
      }
      out.dom_last |= 1u << std::stoi(std::string(n));
      return true;
    }
    if (item.size() > 1 && (item.back() == 'W' || item.back() == 'w')) {
      auto d = parse_value(f, item.substr(0, item.size() - 1), item);
      if (!d) return std::unexpected(d.error());
      out.dom_nearest |= 1u << *d;
      return true;
    }
    return false;
  }
  if (f == kDow) {
    if (iequals(item, "L")) return out.bits |= 1u << 6, true;  // the last day of the week: Saturday
    if (item.size() > 1 && (item.back() == 'L' || item.back() == 'l')) {
      auto w = parse_value(f, item.substr(0, item.size() - 1), item);
      if (!w) return std::unexpected(w.error());
      out.dow_last |= 1u << (*w % 7);
      return true;
    }
    if (auto hash = item.find('#'); hash != std::string_view::npos) {
      auto w = parse_value(f, item.substr(0, hash), item);
      if (!w) return std::unexpected(w.error());
      std::string_view n = item.substr(hash + 1);
      if (n.size() != 1 || n[0] < '1' || n[0] > '5') {
        return fail(field_error(f, item, "must be DAY#N with N from 1 to 5 (MON#2: the second Monday)"));
      }
      out.dow_nth[n[0] - '1'] |= 1u << (*w % 7);
      return true;
    }
  }
  return false;
}

Result<FieldBits> parse_field(FieldId f, std::string_view text, CronDialect dialect) {
  const FieldInfo& fi = kFields[f];
  const bool extended = dialect == CronDialect::kExtended;
  FieldBits out;
  size_t pos = 0;
  while (true) {
    const size_t comma = text.find(',', pos);
    std::string_view item = text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    if (item.empty()) return fail(field_error(f, text, "has an empty list item"));
    if (extended && (f == kDom || f == kDow)) {
      if (item == "?") item = "*";
      auto special = parse_special(f, item, out);
      if (!special) return std::unexpected(special.error());
      if (*special) goto next;
    }
    {
      std::string_view base = item, step_text;
      bool has_step = false;
      if (auto slash = item.find('/'); slash != std::string_view::npos) {
        base = item.substr(0, slash);
        step_text = item.substr(slash + 1);
        has_step = true;
      }
      unsigned lo, hi, step = 1;
      if (has_step) {
        auto s = parse_step(f, step_text, item);
        if (!s) return std::unexpected(s.error());
        step = *s;
      }
      if (base == "*") {
        lo = fi.low;
        hi = fi.high;
      } else {
        const size_t dash = base.find('-', 1);
        auto a = parse_value(f, base.substr(0, dash), item);
        if (!a) return std::unexpected(a.error());
        lo = hi = *a;
        if (dash != std::string_view::npos) {
          auto b = parse_value(f, base.substr(dash + 1), item);
          if (!b) return std::unexpected(b.error());
          hi = *b;
          if (hi < lo) return fail(field_error(f, item, "is a range that goes backwards"));
        } else if (has_step) {
          if (!extended) {
            return fail(field_error(f, item, "has a step after a single value; cron needs a range or * before /"));
          }
          hi = fi.high;  // "5/15" in monitor definitions: from 5 to the end, every 15
        }
      }
      if (step == 1) {  // lo..hi at once (a "*" of minutes was 60 passes, for every crontab line read)
        out.bits |= (uint64_t{2} << hi) - (uint64_t{1} << lo);
      } else {
        for (unsigned v = lo; v <= hi; v += step) out.bits |= uint64_t{1} << v;
      }
    }
  next:
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  if (f == kDow && (out.bits & (1u << 7))) out.bits = (out.bits | 1) & 0x7f;  // Sunday is 0 or 7
  if (!extended && (out.dom_last || out.dom_nearest || out.last_weekday || out.dow_last)) {
    return fail(field_error(f, text, "uses an extension that Debian's cron does not read"));
  }
  return out;
}

// The blank-separated words of a schedule: the first six kept, all counted (a schedule has five
// or six; a vector for them was four allocations per crontab line read).
struct Words {
  std::array<std::string_view, 6> w;
  std::size_t n = 0;
  bool empty() const { return n == 0; }
  std::size_t size() const { return n; }
  std::string_view operator[](std::size_t i) const { return w[i]; }
};

Words split_ws(std::string_view s) {
  Words out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
    if (j > i) {
      if (out.n < out.w.size()) out.w[out.n] = s.substr(i, j - i);
      ++out.n;
    }
    i = j;
  }
  return out;
}

std::optional<unsigned> next_bit(uint64_t mask, unsigned from) {
  if (from >= 64) return std::nullopt;
  const uint64_t m = mask & (~uint64_t{0} << from);
  if (m == 0) return std::nullopt;
  return static_cast<unsigned>(std::countr_zero(m));
}

// Bits 1..dim of the days whose weekday is in `days` (bit 0 = Sunday), for a month starting on w1.
uint32_t weekday_days(uint8_t days, unsigned w1, unsigned dim) {
  uint64_t r = days & 0x7f;
  r |= r << 7;
  r |= r << 14;
  r |= r << 28;
  const uint64_t m = (r >> w1) & ((uint64_t{1} << dim) - 1);
  return static_cast<uint32_t>(m << 1);
}

CronSpec from_fields(uint64_t minutes, uint32_t hours, uint32_t dom, uint16_t months, uint8_t dow, uint8_t flags) {
  CronSpec s;
  s.minutes = minutes;
  s.hours = hours;
  s.dom = dom;
  s.months = months;
  s.dow = dow;
  s.flags = flags;
  return s;
}

constexpr uint32_t kAllDays = 0xFFFFFFFEu;
constexpr uint16_t kAllMonths = 0x1FFEu;
constexpr uint8_t kAllWeekdays = 0x7F;
constexpr uint32_t kAllHours = 0xFFFFFFu;

Result<CronSpec> parse_alias(std::string_view word, CronDialect dialect) {
  std::string w(word);
  if (dialect == CronDialect::kExtended) std::transform(w.begin(), w.end(), w.begin(), ::tolower);
  using F = CronSpec::Flag;
  if (w == "@reboot") return from_fields(0, 0, 0, 0, 0, F::kReboot);
  if (w == "@yearly" || w == "@annually") return from_fields(1, 1, 1u << 1, 1u << 1, kAllWeekdays, F::kDowStar);
  if (w == "@monthly") return from_fields(1, 1, 1u << 1, kAllMonths, kAllWeekdays, F::kDowStar);
  if (w == "@weekly") return from_fields(1, 1, kAllDays, kAllMonths, 1, F::kDomStar);
  if (w == "@daily" || w == "@midnight") {
    return from_fields(1, 1, kAllDays, kAllMonths, kAllWeekdays, F::kDomStar | F::kDowStar);
  }
  if (w == "@hourly") {
    return from_fields(1, kAllHours, kAllDays, kAllMonths, kAllWeekdays, F::kDomStar | F::kDowStar | F::kHourStar);
  }
  return fail("unknown schedule " + quoted(word) +
              " (expected @reboot, @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)");
}

}  // namespace

Result<CronSpec> CronSpec::parse(std::string_view expr, CronDialect dialect) {
  if (expr.size() > 1024) return fail("cron expression is longer than 1024 characters");
  const auto words = split_ws(expr);
  if (words.empty()) return fail("empty cron expression");
  if (words[0].starts_with('@')) {
    if (words.size() != 1) return fail("unexpected text after " + quoted(words[0]));
    return parse_alias(words[0], dialect);
  }
  const bool extended = dialect == CronDialect::kExtended;
  if (words.size() != 5 && !(extended && words.size() == 6)) {
    return fail(std::string("expected 5 fields (minute hour day-of-month month day-of-week)") +
                (extended ? " or 6 with seconds first" : "") + ", found " + std::to_string(words.size()) + " in " +
                quoted(expr));
  }
  const size_t base = words.size() == 6 ? 1 : 0;
  CronSpec s;
  if (base == 1) {
    auto sec = parse_field(kSecond, words[0], dialect);
    if (!sec) return std::unexpected(sec.error());
    s.seconds = sec->bits;
    s.flags |= kSeconds;
  }
  FieldBits f[5];
  for (int i = 0; i < 5; ++i) {
    auto r = parse_field(static_cast<FieldId>(kMinute + i), words[base + i], dialect);
    if (!r) return std::unexpected(r.error());
    f[i] = *r;
  }
  s.minutes = f[0].bits;
  s.hours = static_cast<uint32_t>(f[1].bits);
  s.dom = static_cast<uint32_t>(f[2].bits);
  s.dom_last = f[2].dom_last;
  s.dom_nearest = f[2].dom_nearest;
  s.months = static_cast<uint16_t>(f[3].bits);
  s.dow = static_cast<uint8_t>(f[4].bits);
  s.dow_last = f[4].dow_last;
  std::copy(std::begin(f[4].dow_nth), std::end(f[4].dow_nth), s.dow_nth);
  auto starts_star = [&](std::string_view w) { return w.starts_with('*') || (extended && w.starts_with('?')); };
  if (starts_star(words[base + 0])) s.flags |= kMinuteStar;
  if (starts_star(words[base + 1])) s.flags |= kHourStar;
  if (starts_star(words[base + 2])) s.flags |= kDomStar;
  if (starts_star(words[base + 4])) s.flags |= kDowStar;
  if (f[2].last_weekday) s.flags |= kLastWeekday;
  if (!s.next_civil(CivilTime{1970, 1, 1, 0, 0, 0})) s.flags |= kNever;
  return s;
}

Result<CronSpec> CronSpec::daily_at(std::string_view hhmm) {
  const size_t colon = hhmm.find(':');
  auto num = [](std::string_view v, unsigned max) -> std::optional<unsigned> {
    if (v.empty() || v.size() > 2 || !all_digits(v)) return std::nullopt;
    unsigned n = 0;
    for (char c : v) n = n * 10 + static_cast<unsigned>(c - '0');
    return n <= max ? std::optional(n) : std::nullopt;
  };
  auto h = colon == std::string_view::npos ? std::nullopt : num(hhmm.substr(0, colon), 23);
  auto m = colon == std::string_view::npos ? std::nullopt : num(hhmm.substr(colon + 1), 59);
  if (!h || !m) return fail("\"at " + std::string(hhmm) + "\": expected a time of day HH:MM from 00:00 to 23:59");
  return from_fields(uint64_t{1} << *m, 1u << *h, kAllDays, kAllMonths, kAllWeekdays, kDomStar | kDowStar);
}

uint32_t CronSpec::day_mask(int64_t year, unsigned month) const {
  const unsigned dim = days_in_month(year, month);
  const uint32_t valid = static_cast<uint32_t>(((uint64_t{1} << dim) - 1) << 1);
  // Every day (the common "* *" pair): no weekday arithmetic needed.
  if ((dom | 1u) == 0xffffffffu && (dow & 0x7f) == 0x7f && dom_last == 0 && dom_nearest == 0 && dow_last == 0 &&
      !(flags & kLastWeekday) && std::all_of(std::begin(dow_nth), std::end(dow_nth), [](uint8_t b) { return b == 0; }))
    return valid;
  const unsigned w1 = weekday_from_days(days_from_civil(year, month, 1));
  auto weekday_of = [&](unsigned d) { return (w1 + d - 1) % 7; };

  uint32_t dom_hit = dom & valid;
  for (uint32_t b = dom_last; b != 0; b &= b - 1) {
    const unsigned k = static_cast<unsigned>(std::countr_zero(b));
    if (k < dim) dom_hit |= 1u << (dim - k);
  }
  if (flags & kLastWeekday) {
    unsigned d = dim;
    if (weekday_of(d) == 6) d -= 1;
    if (weekday_of(d) == 0) d -= 2;
    dom_hit |= 1u << d;
  }
  for (uint32_t b = dom_nearest & valid; b != 0; b &= b - 1) {
    unsigned d = static_cast<unsigned>(std::countr_zero(b));
    const unsigned w = weekday_of(d);
    if (w == 6)
      d = d > 1 ? d - 1 : d + 2;
    else if (w == 0)
      d = d < dim ? d + 1 : d - 2;
    dom_hit |= 1u << d;
  }

  uint32_t dow_hit = weekday_days(dow, w1, dim);
  if (dow_last) dow_hit |= weekday_days(dow_last, w1, dim) & ~static_cast<uint32_t>((uint64_t{1} << (dim - 6)) - 1);
  for (unsigned k = 0; k < 5; ++k) {
    if (dow_nth[k]) dow_hit |= weekday_days(dow_nth[k], w1, dim) & (uint32_t{0x7f} << (7 * k + 1));
  }
  return (flags & (kDomStar | kDowStar)) ? (dom_hit & dow_hit) : (dom_hit | dow_hit);
}

std::optional<CivilTime> CronSpec::next_civil(const CivilTime& after) const {
  int64_t y = after.year;
  unsigned mo = after.month, d = after.day, h = after.hour, mi = after.minute, s = after.second + 1;
  const int64_t last_year = y + 400;
  while (y <= last_year) {
    if (!((months >> mo) & 1)) {
      auto nm = next_bit(months, mo);
      if (!nm) {
        ++y;
        mo = static_cast<unsigned>(std::countr_zero(months));
      } else {
        mo = *nm;
      }
      d = 1, h = 0, mi = 0, s = 0;
      if (mo == 0 || mo > 12) return std::nullopt;  // no month at all
    }
    const uint64_t days = (uint64_t{day_mask(y, mo)} >> d) << d;
    if (days == 0) {
      if (++mo > 12) ++y, mo = 1;
      d = 1, h = 0, mi = 0, s = 0;
      continue;
    }
    if (const auto nd = static_cast<unsigned>(std::countr_zero(days)); nd != d) d = nd, h = 0, mi = 0, s = 0;
    const auto nh = next_bit(hours, h);
    if (!nh) {
      ++d, h = 0, mi = 0, s = 0;
      continue;
    }
    if (*nh != h) h = *nh, mi = 0, s = 0;
    const auto nmi = next_bit(minutes, mi);
    if (!nmi) {
      ++h, mi = 0, s = 0;
      continue;
    }
    if (*nmi != mi) mi = *nmi, s = 0;
    const auto ns = next_bit(seconds, s);
    if (!ns) {
      ++mi, s = 0;
      continue;
    }
    return CivilTime{y, mo, d, h, mi, *ns};
  }
  return std::nullopt;
}

std::optional<int64_t> CronSpec::next_fire(int64_t after, const Zone& zone) const {
  if (flags & (kReboot | kNever)) return std::nullopt;
  if (zone.fixed()) {
    const int off = zone.offset_at(after);
    const auto c = next_civil(CivilTime::from_linear(after + off));
    if (!c) return std::nullopt;
    return c->linear() - off;
  }
  // Debian cron (cron.c): a forward jump under 3 hours runs the fixed-time jobs of the skipped
  // minutes right after it; a backward one under 3 hours runs only wildcard jobs again; anything
  // larger is a clock correction that runs the current minute only. A jump under 5 minutes is
  // taken as a late wake-up: every job of the skipped minutes runs.
  constexpr int64_t kCorrection = 3 * 3600;
  constexpr int64_t kLateWakeup = 5 * 60;
  constexpr int64_t kNone = std::numeric_limits<int64_t>::min();
  const bool elapsed = has(kSeconds);
  const bool wild = wildcard() || elapsed;
  int64_t t = after;
  int64_t off = zone.offset_at(t);
  int64_t wall = t + off;
  int64_t fixed_skip_until = kNone;  // fixed-time jobs already ran at wall times before this
  if (!wild) {
    if (auto p = zone.prev_transition(t); p && p->to < p->from && p->from - p->to <= kCorrection && wall < p->from) {
      fixed_skip_until = p->from;
    }
  }
  for (int segment = 0; segment < 1000; ++segment) {
    const auto tr = zone.next_transition(t);
    const int64_t from = fixed_skip_until == kNone ? wall : std::max(wall, fixed_skip_until - 1);
    const auto c = next_civil(CivilTime::from_linear(from));
    if (!c) return std::nullopt;
    const int64_t cl = c->linear();
    if (!tr || cl < tr->from) return cl - off;
    const int64_t jump = tr->to - tr->from;
    if (!elapsed && jump > 0 && cl < tr->to && jump < kCorrection && (!wild || jump < kLateWakeup)) return tr->at;
    fixed_skip_until = (jump < 0 && !wild && -jump <= kCorrection) ? tr->from : kNone;
    t = tr->at;
    off = tr->to - tr->at;
    wall = tr->to - 1;
  }
  return std::nullopt;
}

}  // namespace cronitor::schedule
