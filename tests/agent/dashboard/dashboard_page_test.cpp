// The dashboard's pages as HTML text (agent/dashboard/): escaping of every job-controlled text,
// one SVG mark per run, failing jobs first. The data comes from status_json and run_json, the
// functions `status --json` and `history --json` print.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <regex>

#include "agent/control/status_view.h"
#include "agent/dashboard/html.h"
#include "agent/dashboard/pages.h"
#include "agent/dashboard/run_charts.h"
#include "schedule/iso8601.h"
#include "schedule/schedule.h"

namespace cronitor::agent::dashboard {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const Instant kPageNow = std::chrono::sys_days(std::chrono::year_month_day(
                             std::chrono::year(2026), std::chrono::month(12), std::chrono::day(6))) +
                         4h;

constexpr std::string_view kXssName = "<img src=x onerror=alert(1)>";
constexpr std::string_view kXssOutput = "done\n</pre><script>alert(2)</script>";

size_t needle_count(const std::string& hay, std::string_view needle) {
  size_t n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + needle.size())) ++n;
  return n;
}

/// The runs the strips in `html` show: the sum of their paths' data-n.
size_t marks_in_strips(const std::string& html) {
  size_t n = 0;
  static const std::regex kSeg("<path class=\"seg [a-z ]+\" data-n=\"([0-9]+)\"");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), kSeg); it != std::sregex_iterator(); ++it)
    n += std::stoul((*it)[1]);
  return n;
}

MonitorState state_with(std::string status, std::optional<int> exit, bool incident = false) {
  MonitorState s;
  s.last_start = kPageNow - 10min;
  s.last_end = kPageNow - 9min;
  s.last_status = std::move(status);
  s.last_exit_code = exit;
  s.last_duration_ms = 60000;
  s.expected = kPageNow + 50min;
  if (incident) s.incident = Incident{kPageNow - 9min, "failed", 1, kPageNow - 9min, "exit code 1", 0, {}};
  return s;
}

/// `n` runs newest first, every `fail_every`-th failed with `output`.
json runs_of(int n, int fail_every, std::string_view output = "") {
  json runs = json::array();
  for (int i = 0; i < n; ++i) {
    RunRow r;
    r.key = "job";
    r.run_id = "run-" + std::to_string(i);
    const bool failed = fail_every > 0 && i % fail_every == 0;
    r.status = failed ? "failed" : "ok";
    const int64_t start =
        std::chrono::duration_cast<std::chrono::milliseconds>((kPageNow - std::chrono::hours(i + 1)).time_since_epoch())
            .count();
    r.started_ms = start;
    r.duration_ms = 1000 + i * 10;
    r.ended_ms = start + *r.duration_ms;
    r.exit_code = failed ? 1 : 0;
    if (failed) r.output_tail = output;
    runs.push_back(run_json(r));
  }
  return runs;
}

TEST(DashboardHtml, EscapesEveryMarkupCharacter) {
  EXPECT_EQ(escape("<a href=\"x\" title='y'>&</a>"), "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
  EXPECT_EQ(escape(std::string("a\0b\x1b", 4) + "\t\n"),
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD\t\n");
  EXPECT_EQ(escape("caf\xC3\xA9"), "caf\xC3\xA9");  // UTF-8 passes
  // Not UTF-8 (Latin-1, a cut sequence, an overlong "<"): U+FFFD each byte, never a raw byte or a tag.
  EXPECT_EQ(escape("caf\xE9 <b>"), "caf\xEF\xBF\xBD &lt;b&gt;");
  EXPECT_EQ(escape("\xE2\x82"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(escape("\xC0\xBC"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(escape("\xE2\x82\xAC&"), "\xE2\x82\xAC&amp;");  // the euro sign, then an entity
}

TEST(DashboardHtml, UrlComponentEncodesAllButUnreserved) {
  EXPECT_EQ(url_component("a b/c?d&e\"<"), "a%20b%2Fc%3Fd%26e%22%3C");
  EXPECT_EQ(url_component("nightly-backup_1.x~"), "nightly-backup_1.x~");
}

TEST(DashboardHtml, DurationAndRelativeTimes) {
  EXPECT_EQ(duration_text(json(221)), "221 ms");
  EXPECT_EQ(duration_text(json()), "-");
  EXPECT_EQ(relative_text(json("2026-12-06T03:55:00Z"), kPageNow), "5 min ago");
  EXPECT_EQ(relative_text(json("2026-12-06T06:00:00Z"), kPageNow), "in 2 h");
  EXPECT_EQ(relative_text(json("yesterday"), kPageNow), "");
}

TEST(DashboardPage, XssShapedNameAndOutputStayText) {
  MonitorState s = state_with("failed", 1, true);
  json m = status_json("xss", std::string(kXssName), "0 2 * * *", "UTC", "/etc/cron.d/x:3 <u>", s);
  json runs = runs_of(3, 1, kXssOutput);
  std::unordered_map<std::string, json> by_key = {{"xss", runs}};
  const std::string overview =
      overview_page(json{{"host", "<h>"}, {"monitors", json::array({m})}}, by_key, {}, {kPageNow, "1.0"});
  const std::string job = job_page(m, runs, {kPageNow, "1.0"});
  for (const std::string& html : {overview, job}) {
    EXPECT_EQ(html.find("<img"), std::string::npos);
    EXPECT_EQ(html.find("<script"), std::string::npos);
    EXPECT_EQ(html.find("<u>"), std::string::npos);
    EXPECT_EQ(html.find("<h>"), std::string::npos);
    EXPECT_NE(html.find("&lt;img src=x onerror=alert(1)&gt;"), std::string::npos);
  }
  EXPECT_EQ(needle_count(job, "&lt;/pre&gt;&lt;script&gt;alert(2)&lt;/script&gt;"), 3u);  // every failure's output
  EXPECT_EQ(needle_count(job, "</pre>"), 3u + 1u);  // the outputs and the commands
}

TEST(DashboardPage, ChartHasOneMarkPerRunAndFailuresMarked) {
  json m = status_json("job", "Job", "every 1 hours", "UTC", "/etc/crontab:1", state_with("ok", 0));
  json runs = runs_of(500, 7);
  const std::string chart = duration_chart_svg(runs);
  EXPECT_EQ(needle_count(chart, "<circle class=\"mark "), 500u);
  EXPECT_EQ(needle_count(chart, "<circle class=\"mark failed\""), 72u);  // runs 0, 7, ..., 497
  EXPECT_EQ(needle_count(chart, "<circle class=\"mark ok\""), 428u);
  EXPECT_EQ(needle_count(chart, "data-run=\"run-499\""), 1u);
  const std::string job = job_page(m, runs, {kPageNow, "1.0"});
  EXPECT_EQ(needle_count(job, "<circle class=\"mark "), 500u);
  EXPECT_EQ(needle_count(job, "<tr class=\"run "), 500u);
  // The newest run is at the right edge, the oldest at the left (x from the start time).
  std::smatch newest, oldest;
  ASSERT_TRUE(std::regex_search(chart, newest, std::regex("data-run=\"run-0\" cx=\"([0-9.]+)\"")));
  ASSERT_TRUE(std::regex_search(chart, oldest, std::regex("data-run=\"run-499\" cx=\"([0-9.]+)\"")));
  EXPECT_GT(std::stod(newest[1]), std::stod(oldest[1]));
}

// Issue 22: the chart marks the misses (a missed slot is no run: it comes from the missed alerts of
// the job's incidents) and draws the max-runtime line (job_extras' max_runtime_ms), in scale.
TEST(DashboardPage, ChartDrawsTheMaxRuntimeLineAndTheMisses) {
  json m = status_json("job", "Job", "0 * * * *", "UTC", "/etc/crontab:1", state_with("ok", 0));
  const json runs = runs_of(10, 0);  // 1 s to 1.09 s
  const json incidents = json::array(
      {{{"key", "job"},
        {"kind", "missed"},
        {"sent", json::array({{{"kind", "recovered"}, {"action", "resolve"}, {"at", "2026-12-06T03:30:00+00:00"}},
                              {{"kind", "missed"}, {"action", "open"}, {"at", "2026-12-05T20:01:00+00:00"}}})}}});
  const json extras = {{"settings", json::array()}, {"max_runtime_ms", 5000}};
  const std::string job = job_page(m, runs, {kPageNow, "1.0"}, incidents, extras);
  EXPECT_EQ(needle_count(job, "<circle class=\"mark "), 10u) << "a miss is not a run";
  EXPECT_EQ(needle_count(job, "<path class=\"miss\""), 1u);
  EXPECT_NE(job.find("<title>missed, alerted 2026-12-05T20:01:00+00:00</title>"), std::string::npos);
  // The line at 5 s, the top of the scale (the runs are all shorter): y = the plot's top, 10.
  EXPECT_NE(job.find("<line class=\"max-runtime\" x1=\"56.0\" y1=\"10.0\" x2=\"708.0\" y2=\"10.0\"><title>max "
                     "runtime 5s</title>"),
            std::string::npos)
      << job.substr(job.find("<svg class=\"chart\""), 600);
  const std::string plain = job_page(m, runs, {kPageNow, "1.0"});
  EXPECT_EQ(needle_count(plain, "max-runtime\""), 0u);
  EXPECT_EQ(needle_count(plain, "<path class=\"miss\""), 0u);
}

// Issue 22's overview columns: state (colour class and word), name, schedule in words, zone,
// source file:line, last run (when, exit, duration), next expected.
TEST(DashboardPage, OverviewRowHasEveryColumn) {
  json m = status_json("backup", "Nightly backup", "0 2 * * *", "Europe/Berlin", "/etc/cron.d/backup:3",
                       state_with("failed", 1, true));
  const std::string html = overview_page(json{{"monitors", json::array({m})}}, {}, {}, {kPageNow, "1.0"});
  const std::string row = html.substr(html.find("<tr data-key=\"backup\""));
  EXPECT_NE(row.find("<span class=\"state s-failing\">failing</span>"), std::string::npos) << row;
  EXPECT_NE(row.find(">Nightly backup</a>"), std::string::npos) << row;
  EXPECT_NE(row.find("<code>0 2 * * *</code><br>At 02:00"), std::string::npos) << row;
  EXPECT_NE(row.find("<td>Europe/Berlin</td>"), std::string::npos) << row;
  EXPECT_NE(row.find("<code>/etc/cron.d/backup:3</code>"), std::string::npos) << row;
  EXPECT_NE(row.find("(10 min ago)</span><br>exit 1, 1m"), std::string::npos) << row;
  EXPECT_NE(row.find("(in 50 min)"), std::string::npos) << row;
}

// A job's page: the settings in force, the suggested ones (`suggest`) and the commands to act.
TEST(DashboardPage, JobPageShowsSettingsSuggestionAndCommands) {
  json m = status_json("backup", "Nightly backup", "0 2 * * *", "UTC", "/etc/cron.d/backup:3", state_with("ok", 0));
  const json extras = {{"settings", json::array({json::array({"grace", "1m"})})},
                       {"suggested", {{"comment", "# cronitor: grace=5m"}, {"yaml", "- key: backup\n"}, {"runs", 42}}}};
  const std::string job = job_page(m, runs_of(3, 0), {kPageNow, "1.0"}, json::array(), extras);
  EXPECT_NE(job.find("<h2>Settings in force</h2>"), std::string::npos);
  EXPECT_NE(job.find("<tr><td><code>grace</code></td><td>1m</td></tr>"), std::string::npos);
  EXPECT_NE(job.find("From 42 finished runs"), std::string::npos);
  EXPECT_NE(job.find("<pre class=\"suggested\"># cronitor: grace=5m</pre>"), std::string::npos);
  EXPECT_NE(job.find("cronitor-agent pause backup --for"), std::string::npos);
  EXPECT_NE(job.find("cronitor-agent resume backup"), std::string::npos);
}

// Issue 22: the runs table gives each run's start delay (after its slot), and the chart and table
// cover the last 30 days (at most the 500 runs the page reads).
TEST(DashboardPage, JobPageShowsStartDelaysAndTheLastThirtyDays) {
  auto utc = [](std::string_view iso) { return *schedule::parse_iso8601(iso, schedule::Zone::utc()); };
  auto hourly = schedule::Schedule::parse("0 * * * *");
  ASSERT_TRUE(hourly.has_value());
  EXPECT_EQ(start_delay_ms(*hourly, schedule::Zone::utc(), utc("2026-12-06T03:00:00Z")), 0);
  EXPECT_EQ(start_delay_ms(*hourly, schedule::Zone::utc(), utc("2026-12-06T03:01:35Z")), 95'000);
  // A daily job in Berlin (UTC+1 in December): its 02:30 slot is 01:30Z.
  auto daily = schedule::Schedule::parse("30 2 * * *");
  auto berlin = schedule::Zone::load("Europe/Berlin");
  ASSERT_TRUE(daily.has_value() && berlin.has_value());
  EXPECT_EQ(start_delay_ms(*daily, *berlin, utc("2026-12-06T01:30:07Z")), 7'000);
  EXPECT_EQ(start_delay_ms(*daily, *berlin, utc("2026-12-06T00:00:00Z")), int64_t{22} * 3'600'000 + 1'800'000)
      << "a run by hand before today's slot: after yesterday's";
  auto every = schedule::Schedule::parse("every 5 minutes");
  ASSERT_TRUE(every.has_value());
  EXPECT_FALSE(start_delay_ms(*every, schedule::Zone::utc(), utc("2026-12-06T03:01:35Z")).has_value());

  json runs = runs_of(3, 0);  // hourly, on the hour: delay 0 s
  runs[1]["started"] = "2026-12-06T02:01:35Z";
  json old = runs[2];
  old["run_id"] = "run-old";
  old["started"] = "2026-10-01T03:00:00Z";  // 66 days before kPageNow
  old["ended"] = "2026-10-01T03:00:01Z";
  runs.push_back(old);
  json m = status_json("hourly", "Hourly", "0 * * * *", "UTC", "f:1", state_with("ok", 0));
  const std::string job = job_page(m, runs, {kPageNow, "1.0"});
  EXPECT_NE(job.find("<th>Start delay</th>"), std::string::npos);
  EXPECT_EQ(needle_count(job, "<tr class=\"run "), 3u) << "the run of 66 days ago is outside the 30 days";
  EXPECT_EQ(job.find("run-old"), std::string::npos);
  EXPECT_NE(job.find("Durations of the last 3 runs (30 days at most)"), std::string::npos);
  EXPECT_NE(job.find("<td>1m 35s</td>"), std::string::npos) << "the late run's delay";
}

TEST(DashboardPage, OomAndRunningRunsHaveTheirOwnMarks) {
  RunRow oom{"job", "r-oom", "failed", 1, 2, 1, 137, "SIGKILL", true, "", false, "", ""};
  RunRow open{"job", "r-open", "running", 3, std::nullopt, std::nullopt, std::nullopt, "", false, "", false, "", ""};
  json runs = json::array({run_json(open), run_json(oom)});
  const std::string chart = duration_chart_svg(runs);
  EXPECT_EQ(needle_count(chart, "<circle class=\"mark failed oom\""), 1u);
  EXPECT_EQ(needle_count(chart, "<circle class=\"mark running\""), 1u);
}

TEST(DashboardPage, StripShowsTheLastSixtyRunsOldestLeft) {
  json runs = runs_of(100, 0);
  runs[0]["status"] = "failed";  // the newest
  const std::string strip = run_strip_svg(runs, kStripRuns);
  // 59 ok runs as one dashed path, then the newest (failed) as the rightmost dash.
  EXPECT_EQ(marks_in_strips(strip), 60u);
  EXPECT_NE(strip.find("<path class=\"seg ok\" data-n=\"59\" d=\"M0 8h353\""), std::string::npos) << strip;
  EXPECT_NE(strip.find("<path class=\"seg failed\" data-n=\"1\" d=\"M354 8h5\""), std::string::npos) << strip;
  // Alternating classes: one path per class, a subpath per row (the oldest, run 5, is ok).
  json mixed = runs_of(6, 2);
  const std::string alternating = run_strip_svg(mixed, kStripRuns);
  EXPECT_EQ(needle_count(alternating, "<path class=\"seg "), 2u);
  EXPECT_NE(alternating.find("<path class=\"seg ok\" data-n=\"3\" d=\"M0 8h5M12 8h5M24 8h5\"/>"), std::string::npos)
      << alternating;
  EXPECT_NE(alternating.find("<path class=\"seg failed\" data-n=\"3\" d=\"M6 8h5M18 8h5M30 8h5\"/>"),
            std::string::npos);
  EXPECT_EQ(marks_in_strips(run_strip_svg(mixed, 4)), 4u);
}

// The overview draws each strip from its entries' classes (strip_classes: no run copied); the
// picture is the one strip_entries' runs give, with and without missed slots, runs timed by
// t_ms, by start or by end only, or not at all, at every limit.
TEST(DashboardPage, StripFromClassesIsTheStripOfTheEntries) {
  const int64_t base = 1'780'000'000'000;  // ms
  auto iso = [&](int64_t ms) {
    return schedule::format_iso8601(Instant(std::chrono::milliseconds(ms)), schedule::Zone::utc());
  };
  json runs = json::array();
  for (int i = 0; i < 90; ++i) {  // newest first, a minute apart
    const int64_t t = base + (89 - i) * 60'000;
    json r = {{"run_id", "r" + std::to_string(i)},
              {"status", i % 7 == 0    ? "failed"
                         : i % 11 == 0 ? "running"
                                       : "ok"},
              {"oom", i % 13 == 0}};
    if (i % 4 == 0)
      r["t_ms"] = t;
    else if (i % 4 == 1)
      r["started"] = iso(t);
    else if (i % 4 == 2)
      r["ended"] = iso(t + 1000);
    runs.push_back(r);  // i % 4 == 3: no time, keeps its place
  }
  json missed = json::array();
  for (int k = 0; k < 12; ++k) missed.push_back(iso(base + k * 8 * 60'000 + 30'000));
  for (const json& slots : {json(), json::array(), missed})
    for (size_t limit : {size_t{1}, size_t{5}, kStripRuns, size_t{200}}) {
      const json entries = strip_entries(runs, slots, limit);
      std::vector<std::string> classes;
      for (const auto& e : entries) classes.push_back(run_class(e));
      EXPECT_EQ(strip_classes(runs, slots, limit), classes) << slots.dump() << " limit " << limit;
      EXPECT_EQ(run_strip_svg(strip_classes(runs, slots, limit), limit), run_strip_svg(entries, limit)) << limit;
      EXPECT_EQ(entries.size(), std::min(limit, runs.size() + (slots.is_array() ? slots.size() : 0)));
    }
  EXPECT_EQ(strip_classes(json(), missed, 3), (std::vector<std::string>{"missed", "missed", "missed"}));
  EXPECT_TRUE(strip_classes(json::object(), json(), kStripRuns).empty());
}

// Issue 22: the strip shows the last 60 runs or slots; a slot that passed without a run is kept
// by the monitor's state (status --json "missed_slots") and drawn among the runs by its time.
TEST(DashboardPage, StripPlacesMissedSlotsAmongTheRuns) {
  const int64_t base = 1'780'000'000'000;  // ms
  json runs = json::array();
  for (int i = 0; i < 4; ++i)  // newest first: t = base + 3, 2, 1, 0 minutes
    runs.push_back(
        {{"run_id", "r" + std::to_string(i)}, {"status", "ok"}, {"oom", false}, {"t_ms", base + (3 - i) * 60'000}});
  auto iso = [&](int64_t ms) {
    return schedule::format_iso8601(Instant(std::chrono::milliseconds(ms)), schedule::Zone::utc());
  };
  // Missed between the oldest two runs and after the newest.
  const json missed = json::array({iso(base + 30'000), iso(base + 4 * 60'000)});
  const json entries = strip_entries(runs, missed, kStripRuns);
  ASSERT_EQ(entries.size(), 6u);
  std::vector<std::string> order;
  for (const auto& e : entries) order.push_back(e["status"].get<std::string>());
  EXPECT_EQ(order, (std::vector<std::string>{"missed", "ok", "ok", "ok", "missed", "ok"}));
  const std::string strip = run_strip_svg(entries, kStripRuns);
  EXPECT_NE(strip.find("<path class=\"seg missed\" data-n=\"2\""), std::string::npos) << strip;
  EXPECT_EQ(strip_entries(runs, missed, 3).size(), 3u);
  EXPECT_EQ(strip_entries(runs, json(), kStripRuns), runs);
  // Through status --json: the monitor's state keeps the slot, the overview's strip draws it.
  MonitorState s = state_with("ok", 0);
  s.missed_slots = {Instant(std::chrono::milliseconds(base + 30'000))};
  const json m = status_json("j", "J", "* * * * *", "UTC", "f:1", s);
  ASSERT_TRUE(m.contains("missed_slots"));
  EXPECT_EQ(m["missed_slots"], json::array({iso(base + 30'000)}));
  const std::string html = overview_page(json{{"monitors", json::array({m})}}, {{"j", runs}}, {}, {kPageNow, "1.0"});
  EXPECT_NE(html.find("<path class=\"seg missed\" data-n=\"1\""), std::string::npos);
  EXPECT_FALSE(status_json("k", "K", "* * * * *", "UTC", "f:1", state_with("ok", 0)).contains("missed_slots"));
}

TEST(DashboardPage, OverviewListsFailingFirst) {
  json monitors = json::array();
  monitors.push_back(status_json("a-ok", "A", "* * * * *", "UTC", "f:1", state_with("ok", 0)));
  monitors.push_back(status_json("b-paused", "B", "* * * * *", "UTC", "f:2", state_with("ok", 0), true));
  monitors.push_back(status_json("c-failing", "C", "* * * * *", "UTC", "f:3", state_with("failed", 2, true)));
  MonitorState missed = state_with("ok", 0);
  missed.incident = Incident{kPageNow, "missed", 1, kPageNow, "no run", 0, {}};
  monitors.push_back(status_json("d-missed", "D", "* * * * *", "UTC", "f:4", missed));
  const std::string html = overview_page(json{{"monitors", monitors}}, {}, {}, {kPageNow, "1.0"});
  const size_t c = html.find("data-key=\"c-failing\""), d = html.find("data-key=\"d-missed\""),
               a = html.find("data-key=\"a-ok\""), b = html.find("data-key=\"b-paused\"");
  ASSERT_NE(c, std::string::npos);
  ASSERT_NE(b, std::string::npos);
  EXPECT_LT(c, d);
  EXPECT_LT(d, a);
  EXPECT_LT(a, b);
  EXPECT_NE(html.find("<span class=\"state s-failing\">failing</span>"), std::string::npos);
  EXPECT_NE(html.find("Every minute"), std::string::npos) << "schedule in words";
  // Filters: by state, and by text (case-insensitive).
  const std::string failing = overview_page(json{{"monitors", monitors}}, {}, {"failing", ""}, {kPageNow, "1.0"});
  EXPECT_EQ(needle_count(failing, "<tr data-key="), 1u);
  const std::string text = overview_page(json{{"monitors", monitors}}, {}, {"", "B-PAU"}, {kPageNow, "1.0"});
  EXPECT_EQ(needle_count(text, "<tr data-key="), 1u);
  EXPECT_NE(text.find("data-key=\"b-paused\""), std::string::npos);
}

/// `n` monitors of the status reply, keys "job-0000".. in reverse order, every `failing_every`th failing.
json many_monitors(size_t n, size_t failing_every) {
  json monitors = json::array();
  for (size_t i = n; i-- > 0;) {
    char key[32];
    std::snprintf(key, sizeof key, "job-%04zu", i);
    monitors.push_back(
        {{"key", key}, {"name", std::string(key) + " a&b c"}, {"state", i % failing_every == 0 ? "failing" : "ok"}});
  }
  return json{{"host", "h"}, {"monitors", monitors}};
}

/// The data-key of every job row of `html`, in page order.
std::vector<std::string> row_keys(const std::string& html) {
  std::vector<std::string> out;
  static const std::regex kRow("<tr data-key=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), kRow); it != std::sregex_iterator(); ++it)
    out.push_back((*it)[1]);
  return out;
}

// A host of thousands of jobs is listed kOverviewPageJobs at a time, failing first across pages;
// every job is on exactly one page, and the links keep the filter.
TEST(DashboardPage, OverviewListsAThousandJobsAPageAndEveryJobOnOnePage) {
  const json status = many_monitors(2500, 100);  // 25 failing
  std::vector<std::string> seen;
  for (size_t page = 1; page <= 3; ++page) {
    OverviewFilter f;
    f.page = page;
    const std::string html = overview_page(status, {}, f, {kPageNow, "1.0"});
    const auto keys = row_keys(html);
    ASSERT_EQ(keys.size(), page < 3 ? kOverviewPageJobs : 500u) << page;
    seen.insert(seen.end(), keys.begin(), keys.end());
    EXPECT_NE(html.find("2500 of 2500 jobs"), std::string::npos);
    const std::string range = "Page " + std::to_string(page) + " of 3: jobs " + std::to_string((page - 1) * 1000 + 1) +
                              "-" + std::to_string((page - 1) * 1000 + keys.size()) + " of 2500";
    EXPECT_EQ(needle_count(html, range), 2u) << "above and below the table: " << range;
    EXPECT_EQ(html.find("data-page=\"" + std::to_string(page + 1) + "\">next<") != std::string::npos, page < 3);
    EXPECT_EQ(html.find(">previous<") != std::string::npos, page > 1);
  }
  ASSERT_EQ(seen.size(), 2500u);
  for (size_t i = 0; i < 25; ++i) {
    char key[32];
    std::snprintf(key, sizeof key, "job-%04zu", i * 100);
    EXPECT_EQ(seen[i], key) << "failing first, by key";
  }
  std::vector<std::string> sorted = seen;
  std::sort(sorted.begin() + 25, sorted.end());
  EXPECT_TRUE(std::equal(sorted.begin() + 25, sorted.end(), seen.begin() + 25)) << "then by key";
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end()) << "no job on two pages";
  // A page past the last lists the last; a filter's links keep it, escaped for a URL in HTML.
  OverviewFilter past{"", "", 99};
  EXPECT_EQ(row_keys(overview_page(status, {}, past, {kPageNow, "1.0"})),
            row_keys(overview_page(status, {}, {"", "", 3}, {kPageNow, "1.0"})));
  const std::string amp = overview_page(status, {}, {"", "A&B C", 2}, {kPageNow, "1.0"});
  EXPECT_EQ(row_keys(amp).size(), 1000u) << "every name holds \"a&b c\"";
  EXPECT_NE(amp.find("href=\"/?state=&amp;q=A%26B%20C&amp;page=3\" data-page=\"3\">next</a>"), std::string::npos);
  const std::string ok = overview_page(status, {}, {"ok", "job-", 2}, {kPageNow, "1.0"});
  EXPECT_EQ(row_keys(ok).size(), 1000u) << "2,475 ok jobs: page 2 of 3";
  EXPECT_NE(ok.find("href=\"/?state=ok&amp;q=job-&amp;page=3\" data-page=\"3\">next</a>"), std::string::npos);
  EXPECT_NE(ok.find("href=\"/?state=ok&amp;q=job-&amp;page=1\" data-page=\"1\">first</a>"), std::string::npos);
  const std::string odd = overview_page(status, {}, {"", "a b&c", 1}, {kPageNow, "1.0"});
  EXPECT_EQ(odd.find("class=\"pager\""), std::string::npos) << "one page (none matches): no links";
  // Under a page's worth: no pager at all.
  EXPECT_EQ(overview_page(many_monitors(1000, 7), {}, {}, {kPageNow, "1.0"}).find("class=\"pager\""),
            std::string::npos);
  EXPECT_NE(overview_page(many_monitors(1001, 7), {}, {}, {kPageNow, "1.0"}).find("Page 1 of 2: jobs 1-1000 of 1001"),
            std::string::npos);
}

TEST(DashboardPage, OverviewPageNumberIsDigitsOrPageOne) {
  EXPECT_EQ(overview_page_number(""), 1u);
  EXPECT_EQ(overview_page_number("0"), 1u);
  EXPECT_EQ(overview_page_number("2"), 2u);
  EXPECT_EQ(overview_page_number("0003"), 3u);
  EXPECT_EQ(overview_page_number("999999999"), 999999999u);
  EXPECT_EQ(overview_page_number("9999999999"), 1u) << "more than 9 digits";
  for (const char* bad : {"-1", "+2", "1e3", "2 ", " 2", "abc", "2x", "%32"})
    EXPECT_EQ(overview_page_number(bad), 1u) << bad;
}

TEST(DashboardPage, OverviewShowsHostFactsAndNoExternalAsset) {
  json st = {{"host", "db1"},
             {"daemon", "running"},
             {"monitors", json::array()},
             {"cron_incident", {{"opened", "2026-12-06T03:00:00Z"}, {"reason", "cron is not running"}}},
             {"snooze", {{"until", "2026-12-06T05:00:00Z"}, {"reason", "upgrade"}}},
             {"systemd", {{"live", true}, {"timers", 4}}}};
  const std::string html = overview_page(st, {}, {}, {kPageNow, "9.9.9"});
  EXPECT_NE(html.find("Cron daemon down since 2026-12-06T03:00:00Z"), std::string::npos);
  EXPECT_NE(html.find("until 2026-12-06T05:00:00Z (upgrade)"), std::string::npos);
  EXPECT_NE(html.find("observed live (4 loaded)"), std::string::npos);
  EXPECT_NE(html.find("9.9.9"), std::string::npos);
  for (std::string_view asset : {"<script", "<link", "src=", "http://", "https://", "@import"})
    EXPECT_EQ(html.find(asset), std::string::npos) << asset;
}

// Issue 22's host facts: since when the cron daemon is up, and each upstream with its backlog.
TEST(DashboardPage, OverviewShowsCronUpSinceAndUpstreamBacklogs) {
  json st = {
      {"host", "db1"},
      {"daemon", "running"},
      {"monitors", json::array()},
      {"cron", {{"pid", 812}, {"since", "2026-12-01T06:00:00+00:00"}}},
      {"uplink",
       json::array(
           {{{"upstream", "cronitor"}, {"delivered", 120}, {"backlog", 7}, {"stopped", false}},
            {{"upstream", "<hc>"}, {"delivered", 0}, {"backlog", 3}, {"stopped", true}, {"stop_status", 401}}})}};
  const std::string html = overview_page(st, {}, {}, {kPageNow, "9.9.9"});
  EXPECT_NE(html.find("<b>Cron daemon:</b> up since 2026-12-01T06:00:00+00:00 (pid 812)"), std::string::npos) << html;
  EXPECT_NE(
      html.find("cronitor: 120 delivered, 7 queued; &lt;hc&gt;: 0 delivered, 3 queued, <b>stopped</b> (HTTP 401)"),
      std::string::npos)
      << html;
  st["cron"] = nullptr;
  EXPECT_NE(overview_page(st, {}, {}, {kPageNow, "9.9.9"}).find("<b>Cron daemon:</b> not seen running"),
            std::string::npos);
}

}  // namespace
}  // namespace cronitor::agent::dashboard
