// The cron engine against an independent oracle: python3-croniter (Debian package), in one Python
// process per test run. Thousands of generated 5-field expressions (seeded, so a failure reproduces)
// are compared fire time by fire time in UTC.
//
// croniter is not the real scheduler in two places, and the tests below say so explicitly:
//  - Day-of-month and day-of-week: Vixie/Debian cron ORs them when neither field *starts with* '*'
//    and ANDs them otherwise; croniter decides on the expanded sets ("*/2" is not '*' to it, "1-31"
//    is). The helper script (oracle/croniter_batch.py) asks croniter the question Vixie cron answers
//    for those expressions (day_or=False, or every day), and DayFieldsCombineAsVixieCron checks the
//    rule against dates computed by hand.
//  - DST: croniter shifts fixed-time jobs around transitions and drops the repeated copy of wildcard
//    jobs; Debian cron runs a skipped fixed time right after the jump, a repeated one once, and
//    wildcard jobs in real time. DstFollowsDebianCronNotCroniter pins both behaviours.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "schedule/iso8601.h"
#include "schedule/schedule.h"

namespace cronitor::schedule {
namespace {

constexpr const char* kPython = "/usr/bin/python3";
constexpr int kExpressions = 3200;  // each against two base times, 20 fire times each
constexpr int kFires = 20;

struct Job {
  std::string expr;
  int64_t base;
  int count;
  bool vixie_or;
  std::string zone = "UTC";
};

struct OracleAnswer {
  std::string mode;    // same | and | everyday (see croniter_batch.py)
  std::string result;  // Unix seconds, "never", or "error:..."
  std::string plain;   // plain croniter for and/everyday, else "-"
  int corrected = 0;   // answers fixed by the script's month-end workaround (a croniter bug)
};

std::string script_path() { return std::string(CRONITOR_SOURCE_DIR) + "/tests/schedule/oracle/croniter_batch.py"; }

// Runs the whole batch through one croniter process.
std::vector<OracleAnswer> ask_croniter(const std::vector<Job>& jobs) {
  const auto dir = std::filesystem::temp_directory_path() / ("oracle-croniter-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto in = dir / "in.tsv", out = dir / "out.tsv";
  {
    std::ofstream f(in);
    for (const Job& j : jobs) {
      f << j.expr << '\t' << j.base << '\t' << j.count << '\t' << (j.vixie_or ? 1 : 0) << '\t' << j.zone << '\n';
    }
  }
  const std::string cmd =
      std::string(kPython) + " '" + script_path() + "' '" + in.string() + "' '" + out.string() + "'";
  const int rc = std::system(cmd.c_str());
  std::vector<OracleAnswer> answers;
  std::ifstream f(out);
  for (std::string line; std::getline(f, line);) {
    OracleAnswer a;
    std::istringstream ls(line);
    std::getline(ls, a.mode, '\t');
    std::getline(ls, a.result, '\t');
    std::getline(ls, a.plain, '\t');
    ls >> a.corrected;
    answers.push_back(a);
  }
  std::filesystem::remove_all(dir);
  EXPECT_EQ(rc, 0) << cmd << " failed (python3-croniter comes from scripts/install-deps)";
  EXPECT_EQ(answers.size(), jobs.size()) << "croniter answered " << answers.size() << " of " << jobs.size() << " jobs";
  return answers;
}

// Our fire times for a job, in the helper's output format.
std::string ours(const Job& j, CronDialect dialect = CronDialect::kDebian) {
  auto s = Schedule::parse(j.expr, Kind::kCron, dialect);
  if (!s) return "error:" + s.error().message;
  auto zone = Zone::load(j.zone);
  if (!zone) return "error:zone " + zone.error().message;
  std::string out;
  Instant t{std::chrono::seconds(j.base)};
  for (int i = 0; i < j.count; ++i) {
    auto n = s->next(t, *zone);
    if (!n) break;
    if (!out.empty()) out += ' ';
    out += std::to_string(std::chrono::duration_cast<std::chrono::seconds>(n->time_since_epoch()).count());
    t = *n;
  }
  return out.empty() ? "never" : out;
}

// Unix seconds as ISO 8601 in `zone`, for readable failure messages.
std::string readable(const std::string& times, const std::string& zone_name) {
  if (times.rfind("error:", 0) == 0 || times == "never" || times == "-") return times;
  auto zone = Zone::load(zone_name);
  std::istringstream in(times);
  std::string out;
  for (int64_t s; in >> s;) {
    out += (out.empty() ? "" : " ") + format_iso8601(Instant{std::chrono::seconds(s)}, zone ? *zone : Zone::utc());
  }
  return out;
}

// Vixie cron combines the day fields with OR unless one of them starts with '*'.
bool vixie_or(const std::string& expr) {
  std::istringstream in(expr);
  std::vector<std::string> f;
  for (std::string w; in >> w;) f.push_back(w);
  return f.size() == 5 && f[2][0] != '*' && f[4][0] != '*';
}

// Random 5-field expressions over the whole Debian syntax: numbers, month and day names in any
// case, lists, ranges, steps on ranges and on '*', Sunday as 0 or 7, lists that start with '*'.
class ExprGen {
 public:
  explicit ExprGen(uint64_t seed) : rng_(seed) {}

  std::string next() {
    return field(0, 59, 15, nullptr) + ' ' + field(0, 23, 25, nullptr) + ' ' + dom() + ' ' + month() + ' ' + dow();
  }
  /// A seconds field, for the 6-field monitor form.
  std::string seconds() { return field(0, 59, 20, nullptr); }

 private:
  static constexpr const char* kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                            "jul", "aug", "sep", "oct", "nov", "dec"};
  static constexpr const char* kDays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

  int uni(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool chance(int pct) { return uni(1, 100) <= pct; }

  std::string name(const char* n) {
    std::string s = n;
    switch (uni(0, 2)) {
      case 0:
        break;
      case 1:
        for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        break;
      default:
        s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
    }
    return s;
  }

  // One value; `names` (indexed by value - name_base) turns some of them into names.
  std::string value(int v, const char* const* names, int name_base, int name_max) {
    if (names != nullptr && v - name_base >= 0 && v <= name_max && chance(40)) return name(names[v - name_base]);
    return std::to_string(v);
  }

  std::string item(int lo, int hi, const char* const* names, int name_base, int name_max, int max_single) {
    const int r = uni(0, 99);
    if (r < 35) return value(uni(lo, max_single), names, name_base, name_max);
    if (r < 85) {
      int a = uni(lo, hi), b = uni(lo, hi);
      if (a > b) std::swap(a, b);
      std::string s = value(a, names, name_base, name_max) + '-' + value(b, names, name_base, name_max);
      if (r >= 60) s += '/' + std::to_string(uni(1, std::max(1, b - a + 1)));
      return s;
    }
    return "*/" + std::to_string(uni(1, (hi - lo + 1) / 2));
  }

  std::string list(int lo, int hi, const char* const* names, int name_base, int name_max, int max_single) {
    std::string s = item(lo, hi, names, name_base, name_max, max_single);
    if (chance(30)) {
      for (int n = uni(1, 3); n > 0; --n) s += ',' + item(lo, hi, names, name_base, name_max, max_single);
    }
    return s;
  }

  std::string field(int lo, int hi, int star_pct, const char* const* names) {
    if (chance(star_pct)) return "*";
    return list(lo, hi, names, 0, -1, hi);
  }

  std::string dom() {
    if (chance(45)) return "*";
    if (chance(4)) return "1-31";  // every day, but not '*': Vixie ORs with the weekday field
    if (chance(4)) return "*/2," + std::to_string(uni(1, 31));  // starts with '*': Vixie ANDs
    return list(1, 31, nullptr, 0, -1, chance(85) ? 28 : 31);
  }

  std::string month() {
    if (chance(55)) return "*";
    return list(1, 12, kMonths, 1, 12, 12);
  }

  std::string dow() {
    if (chance(45)) return "*";
    switch (uni(0, 19)) {
      case 0:
        return "0-6";
      case 1:
        return "1-7";
      case 2:
        return name("sun") + '-' + name("sat");
      case 3:
        return "*/2," + std::to_string(uni(0, 7));
      case 4:
        return std::to_string(uni(0, 1) * 7);  // Sunday as 0 or 7
      default:
        return list(0, 7, kDays, 0, 6, 7);
    }
  }

  std::mt19937_64 rng_;
};

// UTC base times: a year start, a second before a non-leap March, mid-year with seconds, a year end,
// a leap February, and the end of 2099 (2100 is not a leap year).
constexpr int64_t kBases[] = {1767225600, 1772323170, 1784122662, 1830297480, 1835352000, 4102401600};

TEST(OracleCroniter, GeneratedExpressionsMatchInUtc) {
  ExprGen gen(20260329);
  std::vector<Job> jobs;
  for (int i = 0; i < kExpressions; ++i) {
    const std::string e = gen.next();
    for (int b : {i % 6, (i + 3) % 6}) jobs.push_back(Job{e, kBases[b], kFires, vixie_or(e)});
  }
  const auto answers = ask_croniter(jobs);
  ASSERT_EQ(answers.size(), jobs.size());

  std::map<std::string, int> modes;
  int mismatches = 0, plain_differs = 0, never = 0, corrected = 0;
  std::string report;
  for (size_t i = 0; i < jobs.size(); ++i) {
    const Job& j = jobs[i];
    const OracleAnswer& a = answers[i];
    const std::string mine = ours(j);
    ++modes[a.mode];
    never += a.result == "never";
    corrected += a.corrected;
    if (a.mode != "same" && a.plain != mine) ++plain_differs;
    if (mine == a.result) continue;
    if (++mismatches <= 15) {
      report += "\n  expr '" + j.expr + "' after " + readable(std::to_string(j.base), "UTC") + " (croniter mode " +
                a.mode + ")\n    ours:     " + readable(mine, "UTC") + "\n    croniter: " + readable(a.result, "UTC");
    }
  }
  EXPECT_EQ(mismatches, 0) << mismatches << " of " << jobs.size() << " jobs differ; first ones:" << report;
  // The generator must exercise every way the day fields combine, and the exclusions must matter.
  EXPECT_GT(modes["same"], 4000);
  EXPECT_GT(modes["and"], 50) << "too few '*/N' day fields against a restricted other day field";
  EXPECT_GT(modes["everyday"], 20) << "too few full-range day fields that are not '*'";
  EXPECT_GT(plain_differs, 50) << "plain croniter should disagree with Vixie cron on the excluded day-field cases";
  EXPECT_LT(never, static_cast<int>(jobs.size()) / 20) << "generator produces too many impossible dates";
  std::printf("croniter: %zu jobs, modes same=%d and=%d everyday=%d, never=%d, month-end workaround used %d times\n",
              jobs.size(), modes["same"], modes["and"], modes["everyday"], never, corrected);
}

// The 6-field monitor form has seconds first; croniter takes seconds as a sixth, last field.
// croniter's 6-field form does not read 7 as Sunday (its LOWMAP is skipped there), so expressions
// with a 7 in the day-of-week field are left out; the 5-field tests cover Sunday as 7.
TEST(OracleCroniter, SixFieldSecondsFormMatches) {
  ExprGen gen(6);
  std::vector<Job> jobs;
  std::vector<std::string> ours_form;
  while (jobs.size() < 300) {
    const size_t i = jobs.size();
    const std::string five = gen.next(), sec = gen.seconds();
    if (five.substr(five.rfind(' ')).find('7') != std::string::npos) continue;
    jobs.push_back(Job{five + ' ' + sec, kBases[i % 6], kFires, vixie_or(five)});
    ours_form.push_back(sec + ' ' + five);
  }
  const auto answers = ask_croniter(jobs);
  ASSERT_EQ(answers.size(), jobs.size());
  int bad = 0;
  for (size_t i = 0; i < jobs.size(); ++i) {
    Job mine = jobs[i];
    mine.expr = ours_form[i];
    const std::string got = ours(mine, CronDialect::kExtended);
    if (got != answers[i].result && ++bad <= 5) {
      ADD_FAILURE() << "'" << ours_form[i] << "' after " << readable(std::to_string(mine.base), "UTC")
                    << "\n  ours:     " << readable(got, "UTC")
                    << "\n  croniter: " << readable(answers[i].result, "UTC");
    }
  }
  EXPECT_EQ(bad, 0);
}

// The @ aliases of Debian's cron (croniter has all but @reboot, which has no clock times).
TEST(OracleCroniter, AliasesMatch) {
  std::vector<Job> jobs;
  for (const char* e : {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}) {
    for (int64_t base : kBases) jobs.push_back(Job{e, base, kFires, false});
  }
  const auto answers = ask_croniter(jobs);
  ASSERT_EQ(answers.size(), jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) EXPECT_EQ(ours(jobs[i]), answers[i].result) << jobs[i].expr;
  EXPECT_EQ(ours(Job{"@reboot", kBases[0], 1, false}), "never");
}

// Steps after a single value ("5/15") are a monitor-definition extension (Debian's cron rejects
// them); croniter reads them as "5-max/15", as our extended dialect does.
TEST(OracleCroniter, ExtendedStepFromValueMatches) {
  std::vector<Job> jobs;
  for (const char* e : {"5/15 * * * *", "0 3/4 * * *", "0 0 10/7 * *", "0 0 * 2/5 *", "0 12 * * 1/2", "7/20 9/6 * * *",
                        "0 0 3/10 * 1/3"}) {
    jobs.push_back(Job{e, kBases[0], kFires, vixie_or(e)});
  }
  const auto answers = ask_croniter(jobs);
  ASSERT_EQ(answers.size(), jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) {
    EXPECT_EQ(ours(jobs[i], CronDialect::kExtended), answers[i].result) << jobs[i].expr;
    EXPECT_TRUE(ours(jobs[i], CronDialect::kDebian).starts_with("error:"))
        << jobs[i].expr << " is not Debian cron syntax";
  }
}

// Expressions croniter rejects are rejected by us too (Debian dialect).
TEST(OracleCroniter, RejectedByBoth) {
  std::vector<Job> jobs;
  for (const char* e : {"60 * * * *", "* 24 * * *", "* * 0 * *", "* * 32 * *", "* * * 13 *", "* * * 0 *", "* * * * 8",
                        "* * * foo *", "* * * * funday", "*/0 * * * *", "* * * *", "* * * * * * *", "-1 * * * *",
                        "1-x * * * *", "5-2 * * * *", "* * * jan-xyz *", "a * * * *"}) {
    jobs.push_back(Job{e, kBases[0], 1, false});
  }
  const auto answers = ask_croniter(jobs);
  ASSERT_EQ(answers.size(), jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) {
    EXPECT_TRUE(answers[i].result.starts_with("error:")) << "croniter accepts '" << jobs[i].expr << "'";
    EXPECT_TRUE(ours(jobs[i]).starts_with("error:")) << "we accept '" << jobs[i].expr << "': " << ours(jobs[i]);
  }
}

// Vixie cron's day-field rule against dates computed by hand (checked with Python's calendar,
// not croniter), and what plain croniter says instead.
TEST(OracleCroniter, DayFieldsCombineAsVixieCron) {
  struct Case {
    const char* expr;
    std::vector<const char*> days;  // midnight UTC of each fire, after 2026-01-01T00:00:00Z
    bool croniter_differs;
  };
  const Case cases[] = {
      // dom starts with '*': AND. Odd days that are Mondays (croniter: odd days OR Mondays).
      {"0 0 */2 * 1", {"2026-01-05", "2026-01-19", "2026-02-09", "2026-02-23", "2026-03-09", "2026-03-23"}, true},
      // Both start with '*': AND. Days 1, 11, 21, 31 that are Sun, Wed or Sat (croniter: OR).
      {"0 0 */10 * */3", {"2026-01-11", "2026-01-21", "2026-01-31", "2026-02-01", "2026-02-11", "2026-02-21"}, true},
      // A list starting with '*' counts as '*': every Tuesday.
      {"0 0 *,5 * tue", {"2026-01-06", "2026-01-13", "2026-01-20"}, false},
      // Neither starts with '*': OR. The 13th or a Friday.
      {"0 0 13 * fri", {"2026-01-02", "2026-01-09", "2026-01-13", "2026-01-16", "2026-01-23", "2026-01-30"}, false},
      {"0 0 1,15 * sat,sun",
       {"2026-01-03", "2026-01-04", "2026-01-10", "2026-01-11", "2026-01-15", "2026-01-17"},
       false},
      // OR with a field that covers every day: every day (croniter reads 1-31 / 0-6 as '*' and ANDs).
      {"0 0 1-31 * 1", {"2026-01-02", "2026-01-03", "2026-01-04"}, true},
      {"0 0 13 * 0-6", {"2026-01-02", "2026-01-03", "2026-01-04"}, true},
      {"0 0 13 * 0-7", {"2026-01-02", "2026-01-03", "2026-01-04"}, true},
  };
  std::vector<Job> jobs;
  for (const Case& c : cases) {
    jobs.push_back(Job{c.expr, kBases[0], static_cast<int>(c.days.size()), vixie_or(c.expr)});
  }
  const auto answers = ask_croniter(jobs);
  ASSERT_EQ(answers.size(), jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) {
    std::string expected;
    for (const char* d : cases[i].days) {
      expected += (expected.empty() ? "" : " ") + std::string(d) + "T00:00:00+00:00";
    }
    const std::string mine = ours(jobs[i]);
    EXPECT_EQ(readable(mine, "UTC"), expected) << cases[i].expr;
    EXPECT_EQ(answers[i].result, mine) << cases[i].expr << ": croniter asked Vixie's question";
    const std::string plain = answers[i].mode == "same" ? answers[i].result : answers[i].plain;
    EXPECT_EQ(plain != mine, cases[i].croniter_differs)
        << cases[i].expr << ": plain croniter says " << readable(plain, "UTC");
  }
}

// DST nights, where croniter is known not to be the real scheduler. Expected values follow Debian's
// cron: a fixed-time job in a skipped interval runs at the first minute after the jump, in a
// repeated interval once (the first time); wildcard jobs follow real elapsed time. croniter's
// answers differ on every one of these; the test asserts that, so that a change in either shows.
TEST(OracleCroniter, DstFollowsDebianCronNotCroniter) {
  struct Case {
    const char* expr;
    const char* zone;
    int64_t base;
    std::vector<const char*> expected;
  };
  const Case cases[] = {
      // Berlin spring forward 2026-03-29 02:00 CET -> 03:00 CEST. croniter: 03:30 CEST.
      {"30 2 * * *",
       "Europe/Berlin",
       1774699200,  // 2026-03-28T12:00Z
       {"2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00", "2026-03-31T02:30:00+02:00"}},
      // Berlin fall back 2026-10-25 03:00 CEST -> 02:00 CET: once, at the first 02:30.
      // croniter: 02:30 CEST, then 03:30 CET the next day.
      {"30 2 * * *",
       "Europe/Berlin",
       1792843200,  // 2026-10-24T12:00Z
       {"2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00", "2026-10-27T02:30:00+01:00"}},
      // A wildcard job runs in both copies of the repeated hour. croniter drops the second copy.
      {"*/30 * * * *",
       "Europe/Berlin",
       1792886400,  // 2026-10-25T00:00Z = 02:00 CEST
       {"2026-10-25T02:30:00+02:00", "2026-10-25T02:00:00+01:00", "2026-10-25T02:30:00+01:00",
        "2026-10-25T03:00:00+01:00"}},
      // New York spring forward 2026-03-08 02:00 EST -> 03:00 EDT. croniter: 03:30 EDT.
      {"30 2 * * *",
       "America/New_York",
       1772928000,  // 2026-03-08T00:00Z
       {"2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00", "2026-03-10T02:30:00-04:00"}},
      // New York fall back 2026-11-01 02:00 EDT -> 01:00 EST: 01:30 once. croniter: 02:30 EST next day.
      {"30 1 * * *",
       "America/New_York",
       1793509200,  // 2026-11-01T05:00Z = 01:00 EDT
       {"2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00", "2026-11-03T01:30:00-05:00"}},
      // Lord Howe ends DST 2026-04-05 02:00 +11 -> 01:30 +10:30 (a 30-minute repeat): 01:45 once.
      // croniter: 02:15 +10:30 on the day after.
      {"45 1 * * *",
       "Australia/Lord_Howe",
       1775224800,  // 2026-04-03T14:00Z
       {"2026-04-04T01:45:00+11:00", "2026-04-05T01:45:00+11:00", "2026-04-06T01:45:00+10:30"}},
  };
  std::vector<Job> jobs;
  for (const Case& c : cases) {
    jobs.push_back(Job{c.expr, c.base, static_cast<int>(c.expected.size()), vixie_or(c.expr), c.zone});
  }
  const auto answers = ask_croniter(jobs);
  ASSERT_EQ(answers.size(), jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) {
    std::string expected;
    for (const char* t : cases[i].expected) expected += (expected.empty() ? "" : " ") + std::string(t);
    const std::string mine = ours(jobs[i]);
    EXPECT_EQ(readable(mine, cases[i].zone), expected) << cases[i].expr << " in " << cases[i].zone;
    EXPECT_NE(answers[i].result, mine) << cases[i].expr << " in " << cases[i].zone
                                       << ": croniter now agrees with Debian cron; update the comment";
  }
}

}  // namespace
}  // namespace cronitor::schedule
