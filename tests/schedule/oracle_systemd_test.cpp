// OnCalendar= against the real thing: `systemd-analyze calendar` (systemd 252, Debian 12) is the
// oracle for which expressions parse, their normalised form, and the next elapses in several zones,
// from base times around every DST transition of 2026 and 2027. One systemd-analyze process per
// (zone, base time) evaluates all expressions at once, so the whole file runs in a few seconds.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "schedule/calendar_spec.h"
#include "schedule/iso8601.h"
#include "schedule/zone.h"

namespace cronitor::schedule {
namespace {

constexpr int kIterations = 10;
int gave_up_count = 0;  // expressions systemd parsed but could not iterate (reported, not compared)
constexpr const char* kZones[] = {"UTC",          "Europe/Berlin",  "America/New_York", "Australia/Lord_Howe",
                                  "Asia/Kolkata", "Pacific/Chatham"};

// What systemd-analyze printed for one expression it accepted.
struct Analyzed {
  std::string normalized;
  std::vector<int64_t> elapses;  // Unix seconds (systemd prints seconds resolution)
  // systemd parsed it but gave up computing the next elapse ("Infinite loop in calendar
  // calculation": its search stops after a fixed number of steps). Only the parse is compared.
  bool gave_up = false;
};

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// "Sun 2026-03-29 01:30:00 UTC" -> Unix seconds.
int64_t parse_utc_line(const std::string& text) {
  std::tm tm{};
  char wday[8];
  if (std::sscanf(text.c_str(), "%7s %d-%d-%d %d:%d:%d", wday, &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec) != 7) {
    ADD_FAILURE() << "cannot read systemd-analyze time \"" << text << "\"";
    return 0;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm));
}

std::string after_colon(const std::string& line, const char* label) {
  return line.substr(line.find(label) + std::string(label).size());
}

// Runs `TZ=zone systemd-analyze calendar --iterations=N --base-time=@base EXPR...`; entry i is
// nullopt when systemd rejected expression i.
std::vector<std::optional<Analyzed>> analyze(const std::vector<std::string>& exprs, const std::string& zone,
                                             int64_t base, int iterations = kIterations) {
  std::string cmd = "TZ=" + shell_quote(zone) + " SYSTEMD_PAGER=cat SYSTEMD_COLORS=0 systemd-analyze calendar" +
                    " --iterations=" + std::to_string(iterations) + " --base-time=@" + std::to_string(base) + " --";
  for (const auto& e : exprs) cmd += ' ' + shell_quote(e);
  const std::string err_path = "/tmp/oracle-systemd-" + std::to_string(::getpid()) + ".err";
  cmd += " 2>" + err_path;
  std::FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) {
    ADD_FAILURE() << "popen failed: " << cmd;
    return std::vector<std::optional<Analyzed>>(exprs.size());
  }
  // Blocks are separated by blank lines; "Original form:" is left out when it equals the
  // normalised form.
  std::vector<std::pair<std::string, Analyzed>> blocks;
  bool has_original = false;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, p) != nullptr) {
    std::string line(buf);
    if (!line.empty() && line.back() == '\n') line.pop_back();
    if (line.find("Original form: ") != std::string::npos) {
      blocks.emplace_back(after_colon(line, "Original form: "), Analyzed{});
      has_original = true;
    } else if (line.find("Normalized form: ") != std::string::npos) {
      const std::string normalized = after_colon(line, "Normalized form: ");
      if (!has_original) blocks.emplace_back(normalized, Analyzed{});
      blocks.back().second.normalized = normalized;
      has_original = false;
    } else if (blocks.empty()) {
      continue;
    } else if (line.find("Next elapse: ") != std::string::npos || line.find("Iter. #") != std::string::npos) {
      const std::string t = after_colon(line, ": ");
      if (t != "never") blocks.back().second.elapses.push_back(parse_utc_line(t));
    } else if (line.find("(in UTC): ") != std::string::npos) {
      blocks.back().second.elapses.back() = parse_utc_line(after_colon(line, "(in UTC): "));
    }
  }
  ::pclose(p);
  // stderr names the expressions systemd parsed but could not compute an elapse for.
  std::set<std::string> gave_up;
  {
    std::ifstream err(err_path);
    const std::string marker = "Failed to determine next elapse for '";
    for (std::string line; std::getline(err, line);) {
      if (line.rfind(marker, 0) == 0) gave_up.insert(line.substr(marker.size(), line.rfind("': ") - marker.size()));
    }
    std::remove(err_path.c_str());
  }
  // Accepted expressions print a block each, in argument order; rejected ones only a message on stderr.
  std::vector<std::optional<Analyzed>> out(exprs.size());
  size_t b = 0;
  for (size_t i = 0; i < exprs.size(); ++i) {
    if (b < blocks.size() && blocks[b].first == exprs[i]) {
      out[i] = blocks[b++].second;
    } else if (gave_up.contains(exprs[i])) {
      out[i] = Analyzed{.gave_up = true};
    }
  }
  EXPECT_EQ(b, blocks.size()) << "could not match systemd-analyze's blocks to the expressions";
  return out;
}

std::string show(const std::vector<int64_t>& v, const Zone& zone) {
  std::string out;
  for (int64_t s : v) out += "\n      " + format_iso8601(Instant{std::chrono::seconds(s)}, zone);
  return out.empty() ? " (never)" : out;
}

// Known, deliberate differences from systemd, skipped by compare() and pinned by
// KnownDifferenceLocalZoneAbbreviation below: when the trailing word of an expression is an
// abbreviation of the *local* zone (TZ's tzname[0] or [1], "EST" under America/New_York),
// systemd reads it as "local time, only while standard (or daylight) time is in effect" and its
// elapses stop at the next DST change. We read a trailing word as an IANA zone name only (the
// "EST" and "CET" tz files), as systemd itself does when TZ is another zone.
struct KnownDifference {
  const char* expr;
  const char* local_zone;
};
constexpr KnownDifference kKnownDifferences[] = {
    {"*-*-* 9:00 EST", "America/New_York"},
    {"*-*-* 00:00 CET", "Europe/Berlin"},
};

bool known_difference(const std::string& expr, const std::string& zone) {
  for (const auto& k : kKnownDifferences) {
    if (expr == k.expr && zone == k.local_zone) return true;
  }
  return false;
}

// Compares acceptance, normalised form and elapses; returns the number of mismatching expressions
// and appends the first ones to `report`.
int compare(const std::vector<std::string>& exprs, const std::string& zone_name, int64_t base, std::string& report,
            int iterations = kIterations) {
  const auto oracle = analyze(exprs, zone_name, base, iterations);
  auto zone = Zone::load(zone_name);
  if (!zone) {
    ADD_FAILURE() << zone_name << ": " << zone.error().message;
    return 1;
  }
  int bad = 0;
  auto note = [&](const std::string& what) {
    if (++bad <= 12) report += "\n  " + what;
  };
  for (size_t i = 0; i < exprs.size(); ++i) {
    const std::string where = "'" + exprs[i] + "' in " + zone_name + " after @" + std::to_string(base);
    auto spec = CalendarSpec::parse(exprs[i]);
    if (!oracle[i]) {
      if (spec) {
        note(where +
             ": systemd rejects it (alone: " + (analyze({exprs[i]}, zone_name, base, 1)[0] ? "accepts" : "rejects") +
             "), we accept it as '" + spec->normalized() + "'");
      }
      continue;
    }
    if (!spec) {
      note(where + ": systemd accepts it as '" + oracle[i]->normalized + "', we reject it: " + spec.error().message);
      continue;
    }
    if (known_difference(exprs[i], zone_name)) continue;
    if (oracle[i]->gave_up) {
      ++gave_up_count;
      continue;
    }
    if (spec->normalized() != oracle[i]->normalized) {
      note(where + ": normalized form: ours '" + spec->normalized() + "', systemd '" + oracle[i]->normalized + "'");
      continue;
    }
    std::vector<int64_t> ours;
    int64_t t = base * 1'000'000;
    for (int k = 0; k < iterations; ++k) {
      auto n = spec->next_usec(t, *zone);
      if (!n) break;
      ours.push_back(*n >= 0 ? *n / 1'000'000 : -((-*n + 999'999) / 1'000'000));
      t = *n;
    }
    if (ours != oracle[i]->elapses) {
      note(where + ":\n    ours:" + show(ours, *zone) + "\n    systemd:" + show(oracle[i]->elapses, *zone));
    }
  }
  return bad;
}

// Base times: two hours before each offset change of 2026 and 2027 (with `edges`, also the second
// before and the instant of the change), a February month end and a year end.
std::vector<int64_t> bases_for(const Zone& zone, bool edges = false) {
  std::vector<int64_t> out = {1772229600 /* 2026-02-27T22:00Z */, 1830290400 /* 2027-12-31T22:00Z */};
  int64_t t = 1767225600;  // 2026-01-01T00:00Z
  while (auto tr = zone.next_transition(t)) {
    if (tr->at >= 1830297600) break;  // 2028-01-01
    out.push_back(tr->at - 7200);
    if (edges) out.insert(out.end(), {tr->at - 1, tr->at});
    t = tr->at;
  }
  return out;
}

// The syntax of systemd.time(7), one feature or corner per line.
// clang-format off
const std::vector<std::string> kHandWritten = {
    "minutely", "hourly", "daily", "weekly", "monthly", "yearly", "annually", "quarterly", "semiannually", "Daily",
    "HOURLY UTC", "weekly Europe/Berlin", "monthly Asia/Kolkata", "*-*-* *:*:*", "*:*", "*:0/15", "*:00/15",
    "*:5/20:10", "*-*-* 02:30", "*-*-* 2:30:00", "02:30", "*-*-* 01:30", "*-*-* 03:00", "*-*-* 00:30",
    "*-*-* 02:00,02:30,03:00,03:30", "*-*-* 1..4:0/30", "*-*-* 02:15 Europe/Berlin", "*-*-* 02:15 America/New_York",
    "*-*-* 01:45 Australia/Lord_Howe", "*-*-* 02:45 Pacific/Chatham", "*-*-* 03:45 Pacific/Chatham",
    "*-*-* 02:10 Australia/Lord_Howe", "*-*-* 12:00 UTC", "*-*-* 12:00 utc", "*-*-* 23:59:59 Asia/Kolkata",
    "*-*-* 00:00 CET", "*-*-* 9:00 EST", "Mon *-*-* 00:00", "mon", "Mon-Fri", "Mon..Fri 09:00",
    "monday,FRIDAY 12:00", "Sat,Sun 10:00", "Mon..Wed,Fri..Sun 1:2", "Tue,Thu..Sat *-*-1..7 18:00",
    "Sun *-*-* 02:30 Europe/Berlin", "Wednesday 17:30", "Fri *-*-13 00:00", "*-*-01 00:00", "*-*-1", "*-*-31",
    "*-*-30,31", "*-02-29", "*-02-28,29", "2028-02-29", "*-2~1", "*-*~1", "*-*~01..03", "*-*~7/2", "*-02~03",
    "*-*~5/2 06:00", "Mon *-*~1..7", "*-*-1..5/2", "*-*-01/7 09..17:30", "*-12-24..26/1", "*-1/3-1",
    "*-01,04,07,10-01", "2026-*-* 1,2,3:4,5", "2026..2028-02-29", "2026/2-1-1", "2026-03-29 02:30",
    "2026-3-29 2:30", "26-03-29", "27-10-31 02:30:00", "99-1-1", "0-1-1", "2026-02-30", "2027-03-28 02:00..03:00",
    "2199-12-31 23:59:59", "2200-01-01", "*-*-* 1:2:3.000001", "*-*-* 00:00:00.5", "*-*-* *:*:0.5",
    "*-*-* 00:00:59.999999", "*:*:7.5/2.25", "*:0/15:7.5/2.25", "*-*-* 00:00:5/10.5", "*-*-* 00:00:00.5..1.5",
    "*-*-* 1:2:3.5/0.5", "*-*-* 00:00:00.1234567", "*-*-* 00:00:00.1234565", "*-*-* 00:00:00.9999996",
    "*-*-* *:*:00/0.25", "@1774738800", "@1893456000",
};
// clang-format on

// Expressions systemd rejects.
// clang-format off
const std::vector<std::string> kRejected = {
    "", "today", "Wed..Mon", "fri..mon", "Funday", "*-*-* 24:00", "*-*-* 23:60", "*-*-* *:*:60", "*-13-01",
    "*-00-01", "*-*-32", "*-*-0", "*-*-31..1", "*-*~3..1", "*-*-~1", "*-*/3-1", "*/2-1-1", "*:*/15", "*-*-*/2",
    "*-*-* 0/0:0", "*-*-1,,2", "*-*-* 1:2 Europe/Nowhere", "12:00 +01:00", "*-*-* 5:", "*-*-* 1", "2027", "5:",
    "Mon..", "..Fri", "*-*-* 1..", "*-*-* 1:2:3:4", "Mon Mon", "*--1", "*-*-* -1:00", "1:2 3:4", "daily weekly",
    "*-*-* 00:00 UTC UTC", "@", "@x", "*-*-* 00:00:00.", "*-*-* 00:00:59.9999996",
};
// clang-format on
// Not listed: leading and trailing blanks (" daily"), which systemd-analyze rejects but a unit
// file's parser strips before systemd reads the value; Schedule::parse trims them the same way.

TEST(OracleSystemd, HandWrittenExpressionsInEveryZone) {
  gave_up_count = 0;
  std::string report;
  int bad = 0, runs = 0;
  for (const char* z : kZones) {
    for (int64_t base : bases_for(*Zone::load(z), true)) {
      bad += compare(kHandWritten, z, base, report);
      ++runs;
    }
  }
  EXPECT_GE(runs, 50) << "expected four DST transitions in 2026-2027 for most zones";
  EXPECT_EQ(bad, 0) << bad << " mismatches against systemd-analyze; first ones:" << report;
  std::printf("systemd-analyze gave up on %d (expression, zone, base) runs\n", gave_up_count);
}

TEST(OracleSystemd, KnownDifferenceLocalZoneAbbreviation) {
  // From winter, systemd stops at the switch to daylight time; we go on in the fixed EST zone.
  const std::vector<std::string> exprs = {"*-*-* 9:00 EST"};
  const int64_t base = 1772229600;  // 2026-02-27T22:00Z
  const auto oracle = analyze(exprs, "America/New_York", base);
  ASSERT_TRUE(oracle[0].has_value());
  EXPECT_EQ(oracle[0]->elapses.size(), 8u) << "systemd now goes on past 2026-03-08: revisit kKnownDifferences";
  auto spec = CalendarSpec::parse(exprs[0]);
  ASSERT_TRUE(spec.has_value());
  EXPECT_EQ(spec->timezone, "EST");
  auto t = spec->next_usec(1773100800LL * 1'000'000, *Zone::load("America/New_York"));  // 2026-03-10T00:00Z
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(*t, 1773151200LL * 1'000'000) << "09:00 EST = 14:00Z on 2026-03-10";
  // With TZ=UTC, "EST" is the tz file for systemd too, and we agree.
  std::string report;
  EXPECT_EQ(compare(exprs, "UTC", base, report), 0) << report;
}

TEST(OracleSystemd, RejectsWhatSystemdRejects) {
  const auto oracle = analyze(kRejected, "UTC", 1774738800, 1);
  for (size_t i = 0; i < kRejected.size(); ++i) {
    EXPECT_FALSE(oracle[i].has_value()) << "'" << kRejected[i] << "' is accepted by systemd: fix this list";
    auto spec = CalendarSpec::parse(kRejected[i]);
    EXPECT_FALSE(spec.has_value()) << "'" << kRejected[i] << "' accepted by us as '" << spec->normalized() << "'";
  }
}

// Random expressions over the whole grammar (seeded: a failure reproduces).
class CalendarGen {
 public:
  explicit CalendarGen(uint64_t seed) : rng_(seed) {}

  std::string next() {
    if (chance(6)) return cased(kShortcuts[uni(0, 8)]) + zone();
    std::string out;
    if (chance(30)) out += weekdays();
    if (chance(65)) out += (out.empty() ? "" : " ") + date();
    if (out.empty() || chance(80)) out += (out.empty() ? "" : " ") + time();
    return out + zone();
  }

  // A small random edit: most stay valid, many do not; acceptance must agree with systemd.
  std::string mutate(std::string s) {
    static const std::string kChars = "0123456789-:.,/~*. aZ";
    const size_t at = static_cast<size_t>(uni(0, static_cast<int>(s.size())));
    switch (uni(0, 3)) {
      case 0:
        if (at < s.size()) s.erase(at, 1);
        break;
      case 1:
        s.insert(at, 1, kChars[static_cast<size_t>(uni(0, static_cast<int>(kChars.size()) - 1))]);
        break;
      case 2:
        if (at < s.size()) s[at] = kChars[static_cast<size_t>(uni(0, static_cast<int>(kChars.size()) - 1))];
        break;
      default:
        s.insert(at, std::to_string(uni(0, 99)));
    }
    return s;
  }

 private:
  static constexpr const char* kShortcuts[] = {"minutely", "hourly",   "daily",     "weekly",      "monthly",
                                               "yearly",   "annually", "quarterly", "semiannually"};
  static constexpr const char* kDays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  static constexpr const char* kLongDays[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                              "Friday", "Saturday", "Sunday"};

  int uni(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool chance(int pct) { return uni(1, 100) <= pct; }

  std::string cased(std::string s) {
    if (chance(20))
      for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    else if (chance(20))
      for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }

  std::string day(int d) { return cased(chance(70) ? kDays[d] : kLongDays[d]); }

  std::string weekdays() {
    std::string out;
    for (int n = chance(70) ? 1 : uni(2, 3); n > 0; --n) {
      if (!out.empty()) out += ',';
      int a = uni(0, 6), b = uni(0, 6);
      if (a > b && chance(90)) std::swap(a, b);
      out += chance(50) ? day(a) : day(a) + (chance(80) ? ".." : "-") + day(b);
    }
    return out;
  }

  std::string num(int v, int width) {
    std::string s = std::to_string(v);
    while (static_cast<int>(s.size()) < width && chance(50)) s = "0" + s;
    return s;
  }

  // "*", or a list of values, ranges "a..b" and repeats "a/r", "a..b/r".
  std::string component(int lo, int hi, int width, int star_pct, bool repeats = true) {
    if (chance(star_pct)) return "*";
    std::string out;
    for (int n = chance(70) ? 1 : uni(2, 3); n > 0; --n) {
      if (!out.empty()) out += ',';
      int a = uni(lo, hi), b = uni(lo, hi);
      if (a > b) std::swap(a, b);
      const int kind = uni(0, 9);
      out += num(a, width);
      if (kind >= 5 && kind < 8) out += ".." + num(b, width);
      if (repeats && (kind == 4 || kind >= 7)) out += "/" + std::to_string(uni(1, std::max(1, (hi - lo) / 2)));
    }
    return out;
  }

  std::string date() {
    std::string year = chance(60) ? "*" : chance(20) ? num(uni(26, 29), 2) : component(2026, 2030, 4, 0);
    std::string month = component(1, 12, 2, 50);
    if (chance(15)) return year + "-" + month + "~" + component(1, 7, 2, 0);
    std::string d = component(1, 31, 2, 50);
    return chance(25) ? month + "-" + d : year + "-" + month + "-" + d;
  }

  std::string seconds() {
    if (chance(15)) return "*";
    std::string s = num(uni(0, 59), 2);
    if (chance(25)) s += "." + std::to_string(uni(0, 999999)).substr(0, static_cast<size_t>(uni(1, 6)));
    if (chance(20)) s += "/" + std::to_string(uni(1, 30)) + (chance(30) ? ".5" : "");
    return s;
  }

  std::string time() {
    std::string t = component(0, 23, 2, 30) + ":" + component(0, 59, 2, 20);
    if (chance(50)) t += ":" + seconds();
    return t;
  }

  std::string zone() {
    if (!chance(15)) return "";
    static const char* kNames[] = {"UTC",          "Europe/Berlin",       "America/New_York",
                                   "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham"};
    return std::string(" ") + kNames[uni(0, 5)];
  }

  std::mt19937_64 rng_;
};

TEST(OracleSystemd, GeneratedExpressionsAcrossDstInSeveralZones) {
  gave_up_count = 0;
  CalendarGen gen(20261025);
  std::vector<std::string> exprs;
  for (int i = 0; i < 600; ++i) exprs.push_back(gen.next());
  // An expression with its own zone does not depend on TZ, and systemd 252 forks a process for
  // every elapse of such an expression: run those once, with TZ=UTC, around their own zone's
  // transitions. The others run in every zone.
  std::vector<std::string> local;
  std::map<std::string, std::vector<std::string>> by_zone;
  for (const auto& e : exprs) {
    auto spec = CalendarSpec::parse(e);
    if (spec && !spec->timezone.empty())
      by_zone[spec->timezone].push_back(e);
    else
      local.push_back(e);
  }
  std::string report;
  int bad = 0;
  for (const char* z : kZones) {
    for (int64_t base : bases_for(*Zone::load(z))) bad += compare(local, z, base, report);
  }
  for (const auto& [z, list] : by_zone) {
    for (int64_t base : bases_for(*Zone::load(z))) bad += compare(list, "UTC", base, report);
  }
  EXPECT_GT(by_zone.size(), 3u);
  EXPECT_EQ(bad, 0) << bad << " mismatches against systemd-analyze; first ones:" << report;
  std::printf("systemd-analyze gave up on %d (expression, zone, base) runs\n", gave_up_count);
}

TEST(OracleSystemd, MutatedExpressionsAcceptedAndRejectedAlike) {
  CalendarGen gen(7);
  std::vector<std::string> exprs;
  for (int i = 0; i < 600; ++i) {
    std::string e = gen.next();
    for (int k = i % 3; k >= 0; --k) e = gen.mutate(e);
    if (!e.empty() && e.front() != ' ' && e.back() != ' ') exprs.push_back(e);
  }
  std::string report;
  const int bad = compare(exprs, "Europe/Berlin", 1774738800, report, 5);
  EXPECT_EQ(bad, 0) << bad << " of " << exprs.size() << " mutated expressions differ; first ones:" << report;
}

}  // namespace
}  // namespace cronitor::schedule
