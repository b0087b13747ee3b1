#include "uplink/upstream_schedule.h"

#include <array>
#include <bit>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

namespace cronitor::uplink {
namespace {

namespace fs = std::filesystem;
using schedule::CalendarSpec;
using schedule::CronSpec;

std::string slurp(const fs::path& p, size_t max = 1 << 20) {
  std::ifstream in(p, std::ios::binary);
  std::string s;
  s.resize(max);
  in.read(s.data(), static_cast<std::streamsize>(max));
  s.resize(static_cast<size_t>(in.gcount()));
  return s;
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t b = 0;
  while (b < s.size() && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  return s.substr(b);
}

/// A day pattern and clock times as sets: what both cron and OnCalendar expressions reduce to
/// when a 5-field crontab can say them.
struct Fields {
  std::array<bool, 60> minute{};
  std::array<bool, 24> hour{};
  std::array<bool, 32> dom{};  // 1..31
  std::array<bool, 13> month{};
  std::array<bool, 7> dow{};  // 0 = Sunday
  // Vixie cron: a day matches dom AND dow when either field is '*'-led, else dom OR dow.
  bool dom_star = true, dow_star = true;
};

template <size_t N>
bool all_set(const std::array<bool, N>& a, size_t lo) {
  for (size_t i = lo; i < N; ++i)
    if (!a[i]) return false;
  return true;
}

/// One field's text. `star_forms`: "*" and "*/k" may stand for the values (not for dom/dow
/// fields, where a leading '*' changes how the two combine).
template <size_t N>
std::string field_text(const std::array<bool, N>& a, int lo, bool star_forms) {
  std::vector<int> v;
  for (int i = lo; i < static_cast<int>(N); ++i)
    if (a[static_cast<size_t>(i)]) v.push_back(i);
  const int hi = static_cast<int>(N) - 1;
  if (star_forms && static_cast<int>(v.size()) == hi - lo + 1) return "*";
  if (star_forms && v.size() > 2 && v[0] == lo) {
    const int k = v[1] - v[0];
    bool even = v.back() + k > hi;
    for (size_t i = 1; even && i < v.size(); ++i) even = v[i] - v[i - 1] == k;
    if (even) return "*/" + std::to_string(k);
  }
  std::string out;
  for (size_t i = 0; i < v.size();) {
    size_t j = i;
    while (j + 1 < v.size() && v[j + 1] == v[j] + 1) ++j;
    out += (out.empty() ? "" : ",") + std::to_string(v[i]);
    if (j > i) out += "-" + std::to_string(v[j]);
    i = j + 1;
  }
  return out;
}

std::string crontab_text(const Fields& f) {
  const bool dom_all = all_set(f.dom, 1), dow_all = all_set(f.dow, 0);
  std::string dom, dow;
  if (f.dom_star || f.dow_star) {  // AND: a full field is '*' (and keeps the AND)
    dom = dom_all ? "*" : field_text(f.dom, 1, false);
    dow = dow_all ? "*" : field_text(f.dow, 0, false);
  } else {  // OR: both written out, so neither reads as '*'
    dom = field_text(f.dom, 1, false);
    dow = field_text(f.dow, 0, false);
  }
  return field_text(f.minute, 0, true) + " " + field_text(f.hour, 0, true) + " " + dom + " " +
         field_text(f.month, 1, true) + " " + dow;
}

/// Why `f` cannot be said in a 5-field crontab, or empty.
std::string from_cron(const CronSpec& c, Fields& f) {
  if (c.has(CronSpec::kNever)) return "it never fires";
  if (c.seconds != 1) return "it fires at seconds other than :00 (Sentry and Cronitor count in minutes)";
  bool nth = false;
  for (uint8_t b : c.dow_nth) nth = nth || b;
  if (c.dom_last || c.dom_nearest || c.dow_last || nth || c.has(CronSpec::kLastWeekday))
    return "it uses L, W or # (no 5-field crontab form that Sentry and Cronitor both read the same)";
  for (int i = 0; i < 60; ++i) f.minute[static_cast<size_t>(i)] = (c.minutes >> i) & 1;
  for (int i = 0; i < 24; ++i) f.hour[static_cast<size_t>(i)] = (c.hours >> i) & 1;
  for (int i = 1; i < 32; ++i) f.dom[static_cast<size_t>(i)] = (c.dom >> i) & 1;
  for (int i = 1; i < 13; ++i) f.month[static_cast<size_t>(i)] = (c.months >> i) & 1;
  for (int i = 0; i < 7; ++i) f.dow[static_cast<size_t>(i)] = (c.dow >> i) & 1;
  f.dom_star = c.has(CronSpec::kDomStar);
  f.dow_star = c.has(CronSpec::kDowStar);
  // "*/2 * 1-5" means odd days that are weekdays; written out, the two lists would be ORed.
  if ((f.dom_star || f.dow_star) && !all_set(f.dom, 1) && !all_set(f.dow, 0))
    return "its day-of-month and day-of-week fields combine in a way a plain crontab cannot write";
  return {};
}

template <size_t N>
bool component(const CalendarSpec::Component& c, std::array<bool, N>& out, int lo) {
  const int hi = static_cast<int>(N) - 1;
  if (c.empty()) {
    for (int i = lo; i <= hi; ++i) out[static_cast<size_t>(i)] = true;
    return true;
  }
  for (const auto& it : c) {
    const int64_t stop = it.stop >= 0 ? it.stop : (it.repeat > 0 ? hi : it.start);
    const int64_t step = it.repeat > 0 ? it.repeat : 1;
    if (it.start < lo || it.start > hi) return false;
    for (int64_t v = it.start; v <= std::min<int64_t>(stop, hi); v += step) out[static_cast<size_t>(v)] = true;
  }
  return true;
}

std::string from_calendar(const CalendarSpec& c, Fields& f) {
  if (!c.year.empty()) return "it names years (a crontab repeats every year)";
  if (c.end_of_month) return "it counts days back from the month's end (~)";
  if (c.usec.size() != 1 || c.usec[0].start != 0 || c.usec[0].stop >= 0 || c.usec[0].repeat != 0)
    return "it fires at seconds other than :00 (Sentry and Cronitor count in minutes)";
  if (!component(c.minute, f.minute, 0) || !component(c.hour, f.hour, 0) || !component(c.day, f.dom, 1) ||
      !component(c.month, f.month, 1))
    return "a value is out of a crontab field's range";
  for (int i = 0; i < 7; ++i) f.dow[static_cast<size_t>(i)] = c.weekdays == 0 || ((c.weekdays >> i) & 1);
  // systemd wants the weekday AND the date; cron ANDs them only when one is '*'.
  if (!all_set(f.dom, 1) && !all_set(f.dow, 0)) return "it restricts both weekdays and dates";
  f.dom_star = f.dow_star = true;
  return {};
}

/// The clock times of `f` moved by `-offset` seconds (a fixed-offset zone to UTC). Only when every
/// day matches: a time that crosses midnight would move to another date otherwise.
bool shift_to_utc(Fields& f, int offset) {
  if (offset % 60 || !all_set(f.dom, 1) || !all_set(f.dow, 0) || !all_set(f.month, 1)) return false;
  std::set<std::pair<int, int>> pairs;
  std::array<bool, 60> m{};
  std::array<bool, 24> h{};
  for (int hh = 0; hh < 24; ++hh)
    for (int mm = 0; mm < 60; ++mm) {
      if (!f.hour[static_cast<size_t>(hh)] || !f.minute[static_cast<size_t>(mm)]) continue;
      const int t = ((hh * 60 + mm - offset / 60) % 1440 + 1440) % 1440;
      pairs.emplace(t / 60, t % 60);
      h[static_cast<size_t>(t / 60)] = m[static_cast<size_t>(t % 60)] = true;
    }
  // One crontab line is hours x minutes: the shifted times must still be such a product.
  size_t hn = 0, mn = 0;
  for (bool b : h) hn += b;
  for (bool b : m) mn += b;
  if (pairs.size() != hn * mn) return false;
  f.hour = h;
  f.minute = m;
  return true;
}

std::string plural(long long n, const std::string& unit) {
  return "every " + std::to_string(n) + " " + unit + (n == 1 ? "" : "s");
}

}  // namespace

bool is_iana_zone(std::string_view name, const std::string& root) {
  if (name == "UTC") return true;
  if (name.empty() || name.size() > 64 || name.front() == '/' || name.find("..") != std::string_view::npos ||
      name.find_first_of(": \t\n") != std::string_view::npos || name.starts_with("posix/") ||
      name.starts_with("right/") || name == "localtime" || name == "posixrules")
    return false;
  const fs::path p = fs::path(root + "/usr/share/zoneinfo") / std::string(name);
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) return false;
  return slurp(p, 4) == "TZif";
}

std::optional<std::string> host_iana_zone(const std::string& root) {
  const fs::path lt = root + "/etc/localtime";
  std::error_code ec;
  const auto st = fs::symlink_status(lt, ec);
  if (ec || !fs::exists(st)) return "UTC";  // glibc reads no file as UTC
  if (fs::is_symlink(st)) {
    const std::string target = fs::read_symlink(lt, ec).string();
    if (const auto at = target.rfind("zoneinfo/"); !ec && at != std::string::npos) {
      std::string name = target.substr(at + 9);
      if (is_iana_zone(name, root)) return name;
    }
  }
  const std::string named = trim(slurp(root + "/etc/timezone", 256));
  const std::string mine = slurp(lt);
  if (is_iana_zone(named, root) && slurp(root + "/usr/share/zoneinfo/" + named) == mine) return named;
  if (!mine.empty() && slurp(root + "/usr/share/zoneinfo/UTC") == mine) return "UTC";
  return std::nullopt;
}

std::optional<std::string> iana_zone_name(const schedule::Zone& zone, const std::string& root) {
  const std::string& name = zone.name();
  if (is_iana_zone(name, root)) return name;
  if (name == "Etc/UTC" || name == "Z") return "UTC";
  if (name.empty() || name == "localtime" || name.front() == '/' || name.front() == ':') {
    if (const auto at = name.rfind("zoneinfo/"); at != std::string::npos && is_iana_zone(name.substr(at + 9), root))
      return name.substr(at + 9);
    return host_iana_zone(root);
  }
  if (zone.fixed()) {
    const int off = zone.offset_at(0);
    if (off == 0) return "UTC";
    // Etc/GMT-5 is UTC+5: POSIX signs, in the zoneinfo list from -14 to +12.
    if (off % 3600 == 0 && off >= -12 * 3600 && off <= 14 * 3600) {
      const std::string n = "Etc/GMT" + std::string(off > 0 ? "-" : "+") + std::to_string(std::abs(off) / 3600);
      if (is_iana_zone(n, root)) return n;
    }
  }
  return std::nullopt;
}

std::optional<Interval> whole_interval(std::chrono::seconds period) {
  const long long s = period.count();
  if (s <= 0 || s % 60) return std::nullopt;
  const long long m = s / 60;
  if (m % (7 * 1440) == 0) return Interval{m / (7 * 1440), "week"};
  if (m % 1440 == 0) return Interval{m / 1440, "day"};
  if (m % 60 == 0) return Interval{m / 60, "hour"};
  return Interval{m, "minute"};
}

std::optional<Interval> parse_interval(std::string_view text) {
  long long n = 0;
  char unit[16] = {};
  if (std::sscanf(std::string(text).c_str(), "every %lld %15s", &n, unit) != 2 || n <= 0) return std::nullopt;
  std::string u = unit;
  if (u.ends_with("s")) u.pop_back();
  static const std::pair<const char*, long long> kUnits[] = {
      {"second", 1}, {"minute", 60}, {"hour", 3600}, {"day", 86400}, {"week", 7 * 86400}};
  for (const auto& [name, secs] : kUnits)
    if (u == name) return whole_interval(std::chrono::seconds(n * secs));
  return std::nullopt;
}

bool is_plain_crontab(std::string_view text) {
  int fields = 0;
  bool in = false;
  for (char c : text) {
    if (c == ' ') {
      in = false;
      continue;
    }
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '*' && c != ',' && c != '-' && c != '/') return false;
    if (!in) ++fields, in = true;
  }
  return fields == 5;
}

UpstreamSchedule upstream_schedule(const std::vector<const schedule::Schedule*>& schedules, const schedule::Zone& zone,
                                   bool from_end, const std::string& root) {
  UpstreamSchedule out;
  std::set<std::string> texts;
  std::string zone_of_all;
  for (const schedule::Schedule* s : schedules) {
    if (!s || s->at_reboot()) continue;
    std::string text, tz, why;
    if (auto iv = s->interval()) {
      auto w = whole_interval(*iv);
      if (!w)
        why = "its period of " + std::to_string(iv->count()) + " s is not a whole number of minutes";
      else if (from_end)
        why = "its period counts from the end of the previous run (OnUnitInactiveSec=), an upstream's from each run";
      else
        text = plural(w->value, w->unit), tz = iana_zone_name(zone, root).value_or("");
    } else {
      Fields f;
      const schedule::Zone* z = &zone;
      std::optional<schedule::Zone> own;
      if (const auto* c = std::get_if<CronSpec>(&s->spec())) {
        why = from_cron(*c, f);
      } else if (const auto* cal = std::get_if<CalendarSpec>(&s->spec())) {
        why = from_calendar(*cal, f);
        if (cal->utc) own = schedule::Zone::utc();
        if (!cal->timezone.empty()) {
          if (auto l = schedule::Zone::load(cal->timezone)) own = *l;
        }
        if (own) z = &*own;
      }
      if (why.empty()) {
        if (auto name = iana_zone_name(*z, root)) {
          tz = *name;
        } else if (z->fixed() && shift_to_utc(f, z->offset_at(0))) {
          tz = "UTC";
        } else {
          why = "its zone \"" + z->name() + "\" has no IANA name" +
                (z->fixed() ? " and its times cannot be moved to UTC in one crontab line" : "");
        }
        text = crontab_text(f);
      }
    }
    if (!why.empty()) {
      out.why_not = "schedule \"" + s->text() + "\": " + why;
      return out;
    }
    texts.insert(text);
    zone_of_all = tz;
  }
  if (texts.size() > 1) {
    out.why_not = "its crontab lines have different schedules (one upstream monitor has one)";
    return out;
  }
  if (texts.empty()) return out;
  out.schedule = *texts.begin();
  out.timezone = zone_of_all;
  return out;
}

}  // namespace cronitor::uplink
