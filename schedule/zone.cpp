#include "schedule/zone.h"

#include <cstdlib>

namespace cronitor::schedule {
namespace {

using Seconds = cctz::time_point<cctz::seconds>;

Seconds to_tp(int64_t s) { return Seconds(cctz::seconds(s)); }
int64_t from_tp(Seconds tp) { return tp.time_since_epoch().count(); }

CivilTime to_civil_time(const cctz::civil_second& cs) {
  return CivilTime{cs.year(),
                   static_cast<unsigned>(cs.month()),
                   static_cast<unsigned>(cs.day()),
                   static_cast<unsigned>(cs.hour()),
                   static_cast<unsigned>(cs.minute()),
                   static_cast<unsigned>(cs.second())};
}

// "+05:30", "-3", "UTC+2", "GMT-03:00": a fixed offset in seconds east of UTC.
std::optional<int> parse_fixed_offset(std::string_view s) {
  for (std::string_view prefix : {"UTC", "GMT"}) {
    if (s.starts_with(prefix)) s.remove_prefix(prefix.size());
  }
  if (s.size() < 2 || (s[0] != '+' && s[0] != '-')) return std::nullopt;
  const int sign = s[0] == '-' ? -1 : 1;
  s.remove_prefix(1);
  int hours = 0, minutes = 0, digits = 0;
  size_t i = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9' && digits < 2; ++i, ++digits) hours = hours * 10 + (s[i] - '0');
  if (digits == 0) return std::nullopt;
  if (i < s.size()) {
    if (s[i] == ':') ++i;
    if (s.size() - i != 2 || s[i] < '0' || s[i] > '9' || s[i + 1] < '0' || s[i + 1] > '9') return std::nullopt;
    minutes = (s[i] - '0') * 10 + (s[i + 1] - '0');
  }
  if (hours > 18 || minutes > 59) return std::nullopt;
  return sign * (hours * 3600 + minutes * 60);
}

bool has_transitions(const cctz::time_zone& tz) {
  cctz::time_zone::civil_transition t;
  return tz.next_transition(Seconds::min(), &t);
}

}  // namespace

Result<Zone> Zone::load(std::string_view name) {
  if (name.empty() || name == "UTC" || name == "Etc/UTC" || name == "Z") return utc();
  if (auto off = parse_fixed_offset(name)) {
    return Zone(std::string(name), cctz::fixed_time_zone(cctz::seconds(*off)), true, *off);
  }
  // cctz also accepts POSIX TZ strings and paths; a monitor's zone must be an IANA name. No ':'
  // either: cctz opens "file:/any/path" as given, and a zone comes from users' crontabs (a FIFO
  // there would block the root daemon in open()).
  if (name.size() > 64 || name.find("..") != std::string_view::npos || name.front() == '/' ||
      name.find(':') != std::string_view::npos) {
    return fail("unknown time zone \"" + std::string(name) + "\"");
  }
  cctz::time_zone tz;
  if (!cctz::load_time_zone(std::string(name), &tz)) {
    return fail("unknown time zone \"" + std::string(name) + "\" (expected an IANA name such as Europe/Berlin)");
  }
  const bool fixed = !has_transitions(tz);
  const int off = fixed ? tz.lookup(to_tp(0)).offset : 0;
  return Zone(std::string(name), tz, fixed, off);
}

Zone Zone::utc() { return Zone("UTC", cctz::utc_time_zone(), true, 0); }

Zone Zone::local() {
  if (const char* tz = std::getenv("TZ"); tz != nullptr && *tz != '\0') {
    std::string_view name(tz);
    if (name.front() == ':') name.remove_prefix(1);
    if (auto z = load(name)) return *z;
  }
  cctz::time_zone tz = cctz::local_time_zone();
  const bool fixed = !has_transitions(tz);
  return Zone(tz.name(), tz, fixed, fixed ? tz.lookup(to_tp(0)).offset : 0);
}

int Zone::offset_at(int64_t s) const { return fixed_ ? fixed_offset_ : tz_.lookup(to_tp(s)).offset; }

CivilTime Zone::to_civil(int64_t s) const {
  if (fixed_) return CivilTime::from_linear(s + fixed_offset_);
  return to_civil_time(tz_.lookup(to_tp(s)).cs);
}

CivilMapping Zone::from_civil(const CivilTime& c) const {
  if (fixed_) {
    const int64_t t = c.linear() - fixed_offset_;
    return {CivilMapping::Kind::kUnique, t, t, t};
  }
  const auto cl = tz_.lookup(cctz::civil_second(c.year, c.month, c.day, c.hour, c.minute, c.second));
  CivilMapping::Kind kind = CivilMapping::Kind::kUnique;
  if (cl.kind == cctz::time_zone::civil_lookup::SKIPPED) kind = CivilMapping::Kind::kSkipped;
  if (cl.kind == cctz::time_zone::civil_lookup::REPEATED) kind = CivilMapping::Kind::kRepeated;
  return {kind, from_tp(cl.pre), from_tp(cl.trans), from_tp(cl.post)};
}

std::optional<Transition> Zone::next_transition(int64_t s) const {
  if (fixed_) return std::nullopt;
  cctz::time_zone::civil_transition ct;
  if (!tz_.next_transition(to_tp(s), &ct)) return std::nullopt;
  const auto at = from_tp(tz_.lookup(ct.to).trans);
  return Transition{at, to_civil_time(ct.from).linear(), to_civil_time(ct.to).linear()};
}

std::optional<Transition> Zone::prev_transition(int64_t s) const {
  if (fixed_) return std::nullopt;
  cctz::time_zone::civil_transition ct;
  if (!tz_.prev_transition(to_tp(s + 1), &ct)) return std::nullopt;
  const auto at = from_tp(tz_.lookup(ct.to).trans);
  return Transition{at, to_civil_time(ct.from).linear(), to_civil_time(ct.to).linear()};
}

}  // namespace cronitor::schedule
