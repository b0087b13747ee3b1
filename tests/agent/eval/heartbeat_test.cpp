// Heartbeat deadlines: anacron jobs and systemd monotonic timers, from discovery to alerts,
// driven by a simulated clock.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "agent/config/discovery_adapter.h"
#include "agent/eval/systemd_timespan.h"
#include "discovery/fs_root.h"
#include "discovery/scanner.h"
#include "tests/agent/eval_helpers.h"

namespace cronitor::agent {
namespace {

namespace fs = std::filesystem;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using testing::at;
using testing::event;

TEST(SystemdTimespan, ParsesWhatUnitFilesWrite) {
  const std::pair<const char*, int64_t> ok[] = {
      {"15min", 900},       {"1h 30min", 5400}, {"2d", 172800},           {"90", 90},       {"1.5h", 5400},
      {"1h30min", 5400},    {"5m", 300},        {"1M", 2629800},          {"1y", 31557600}, {"500ms", 1},
      {"2 weeks", 1209600}, {" 10 s ", 10},     {"1hour 2minutes", 3720}, {"0", 0},         {"3us", 1},
  };
  for (auto [text, secs] : ok) {
    auto v = parse_systemd_timespan(text);
    ASSERT_TRUE(v) << text << ": " << v.error().message;
    EXPECT_EQ(v->count(), secs) << text;
  }
  for (const char* bad : {"", "   ", "min", "5 parsecs", "1..5h", "-5min", "11y", "1h,"}) {
    auto v = parse_systemd_timespan(bad);
    EXPECT_FALSE(v) << bad << " parsed as " << (v ? v->count() : 0);
  }
  EXPECT_FALSE(parse_systemd_timespan(std::string(300, '1')));
  EXPECT_NE(parse_systemd_timespan("5 parsecs").error().message.find("parsecs"), std::string::npos);
}

/// The monitor the daemon would build for `job` with `yaml` as agent.yaml.
MonitorConfig monitor_for(const discovery::Job& job, const std::string& yaml = "defaults: {grace_seconds: 60}\n") {
  auto cfg = parse_config(yaml, "agent.yaml");
  EXPECT_TRUE(cfg) << (cfg ? "" : format_errors(cfg.error()));
  ZoneCache zones;
  std::vector<std::string> warnings;
  auto monitors = build_monitors(*cfg, {to_discovered(job, &warnings)}, zones, warnings);
  EXPECT_TRUE(warnings.empty()) << warnings.front();
  EXPECT_EQ(monitors.size(), 1u);
  return monitors.empty() ? MonitorConfig{} : monitors.front();
}

discovery::Job anacron_job(int days, int delay, std::string period = "") {
  discovery::Job j;
  j.key = "anacron-daily";
  j.name = "cron-daily";
  j.origin = discovery::JobOrigin::kAnacron;
  j.file = "/etc/anacrontab";
  j.line = 11;
  j.user = "root";
  j.timezone = "Europe/Berlin";
  j.anacron = discovery::AnacronInfo{period.empty() ? std::to_string(days) : period, days, delay, "cron.daily"};
  j.schedule = j.anacron->period;
  return j;
}

discovery::Job timer_job(std::vector<std::string> monotonic, std::string randomized = "", std::string accuracy = "") {
  discovery::Job j;
  j.key = "timer-sync";
  j.name = "sync";
  j.source = discovery::SourceKind::kSystemd;
  j.origin = discovery::JobOrigin::kTimer;
  j.unit = "sync.timer";
  j.file = "/etc/systemd/system/sync.timer";
  j.user = "root";
  j.timezone = "UTC";
  discovery::TimerInfo t;
  t.monotonic = std::move(monotonic);
  t.randomized_delay = std::move(randomized);
  t.accuracy = std::move(accuracy);
  t.enabled = true;
  t.fragment = j.file;
  j.timer = std::move(t);
  return j;
}

/// A simulated daemon: wakes at every deadline the evaluator asks for, records when each action came.
struct SimulatedDaemon {
  testing::Sim sim;
  std::vector<std::pair<Instant, Action>> log;
  int seq = 0;

  SimulatedDaemon(MonitorConfig c, Instant start) : sim(std::move(c), start) {}

  void advance_to(Instant t) {
    while (auto d = next_deadline(sim.config, sim.state)) {
      if (*d > t) break;
      for (auto& a : sim.tick(*d)) log.emplace_back(*d, a);
    }
    for (auto& a : sim.tick(t)) log.emplace_back(t, a);
  }
  void send(const RunEvent& e) {
    advance_to(e.ts);
    for (auto& a : sim.send(e)) log.emplace_back(e.ts, a);
  }
  /// One run from `start` lasting `length`; returns its end.
  Instant run(Instant start, seconds length) {
    const std::string id = "r" + std::to_string(++seq);
    send(event(sim.config.key, id, RunEvent::State::kRun, start));
    send(event(sim.config.key, id, RunEvent::State::kComplete, start + length, 0, length.count() * 1000));
    return start + length;
  }
  int count(Alert::Kind kind) const {
    int n = 0;
    for (const auto& [when, a] : log)
      if (a.alert.kind == kind && a.type != Action::Type::kSuppressed) ++n;
    return n;
  }
  const std::pair<Instant, Action>* first(Alert::Kind kind) const {
    for (const auto& e : log)
      if (e.second.alert.kind == kind) return &e;
    return nullptr;
  }
  std::string dump() const {
    std::string out;
    for (const auto& [when, a] : log)
      out += schedule::format_iso8601(std::chrono::floor<seconds>(when), schedule::Zone::utc()) + " " +
             a.alert.summary + "\n";
    return out;
  }
};

TEST(Heartbeat, AnacronJobBecomesADailyHeartbeatWithAnacronsSlack) {
  auto m = monitor_for(anacron_job(1, 5));
  ASSERT_TRUE(m.schedule);
  ASSERT_TRUE(m.heartbeat);
  EXPECT_EQ(m.schedule->interval(), seconds(86400));
  EXPECT_EQ(m.schedule->text(), "every 1 day");
  EXPECT_EQ(m.heartbeat->anchor, Heartbeat::Anchor::kStart);
  EXPECT_EQ(m.heartbeat->what, "anacron period 1 day");
  EXPECT_EQ(m.grace, minutes(70));  // max(60 s, 5 min delay + 65 min)
  // @monthly waits 31 days; an explicit grace wins over anacron's slack.
  auto monthly =
      monitor_for(anacron_job(30, 15, "@monthly"),
                  "defaults: {grace_seconds: 60}\nmonitors:\n  - key: anacron-daily\n    grace_seconds: 600\n");
  EXPECT_EQ(monthly.schedule->interval(), seconds(31 * 86400));
  EXPECT_EQ(monthly.heartbeat->what, "anacron period @monthly, 31 days");
  EXPECT_EQ(monthly.grace, seconds(600));
  // A larger default grace is kept.
  EXPECT_EQ(monitor_for(anacron_job(7, 10), "defaults: {grace_seconds: 7200}\n").grace, seconds(7200));
}

TEST(Heartbeat, CalendarTimersGetAccuracyAndRandomizedDelayAsSlack) {
  auto j = timer_job({}, "30min", "5min");
  j.timer->on_calendar = {"*-*-* 03:00:00"};
  auto m = monitor_for(j);
  EXPECT_FALSE(m.heartbeat);
  ASSERT_TRUE(m.schedule);
  EXPECT_EQ(m.grace, seconds(60 + 1800 + 300));  // grace + RandomizedDelaySec + AccuracySec
  j.timer->randomized_delay.clear();
  j.timer->accuracy.clear();
  EXPECT_EQ(monitor_for(j).grace, seconds(60 + 60));  // systemd's default AccuracySec=1min
}

TEST(Heartbeat, MonotonicTimersMapToTheirSmallestRecurringValue) {
  auto active = monitor_for(timer_job({"OnBootSec=15min", "OnUnitActiveSec=2h", "OnUnitActiveSec=1h"}, "5m"));
  ASSERT_TRUE(active.heartbeat);
  EXPECT_EQ(active.heartbeat->period, hours(1));
  EXPECT_EQ(active.heartbeat->anchor, Heartbeat::Anchor::kStart);
  EXPECT_EQ(active.heartbeat->what, "OnUnitActiveSec=1h");
  EXPECT_EQ(active.grace, seconds(60 + 300 + 60));  // grace + RandomizedDelaySec + default AccuracySec
  auto inactive = monitor_for(timer_job({"OnActiveSec=1min", "OnUnitInactiveSec=30min"}, "", "1s"));
  ASSERT_TRUE(inactive.heartbeat);
  EXPECT_EQ(inactive.heartbeat->anchor, Heartbeat::Anchor::kEnd);
  EXPECT_EQ(inactive.schedule->interval(), seconds(1800));
  EXPECT_EQ(inactive.schedule->text(), "every 30 minutes");
  EXPECT_EQ(active.schedule->text(), "every 1 hour");
  EXPECT_EQ(inactive.grace, seconds(61));
  // An empty value resets the values of that setting before it.
  auto reset = monitor_for(timer_job({"OnUnitActiveSec=5min", "OnUnitActiveSec=", "OnUnitActiveSec=2h"}));
  ASSERT_TRUE(reset.heartbeat);
  EXPECT_EQ(reset.heartbeat->period, hours(2));
  // Once per boot: no deadline.
  auto boot = monitor_for(timer_job({"OnBootSec=15min", "OnStartupSec=1h"}));
  EXPECT_FALSE(boot.schedule);
  EXPECT_FALSE(boot.heartbeat);
  // OnCalendar wins over monotonic settings.
  auto both = timer_job({"OnUnitActiveSec=1h"});
  both.timer->on_calendar = {"daily"};
  auto cal = monitor_for(both);
  EXPECT_FALSE(cal.heartbeat);
  ASSERT_TRUE(cal.schedule);
  EXPECT_EQ(cal.schedule->text(), "daily");
  // A value that is no time span is skipped with a warning naming the file.
  std::vector<std::string> warnings;
  auto d = to_discovered(timer_job({"OnUnitActiveSec=soon", "OnUnitInactiveSec=10min"}), &warnings);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("/etc/systemd/system/sync.timer: OnUnitActiveSec=soon"), std::string::npos) << warnings[0];
  ASSERT_TRUE(d.heartbeat);
  EXPECT_EQ(d.heartbeat->period, minutes(10));
}

TEST(Heartbeat, AnacronDailySixtyDaysThenStopsThenRecovers) {
  const auto m = monitor_for(anacron_job(1, 5));
  const auto berlin = *schedule::Zone::load("Europe/Berlin");
  SimulatedDaemon c(m, at("2026-01-01T06:00:00", "Europe/Berlin"));
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> jitter(0, 600), length(1, 1800);
  const Instant day0 = at("2026-01-01T07:30:00", "Europe/Berlin");
  for (int d = 0; d < 60; ++d)
    c.run(day0 + hours(24 * d) + seconds(jitter(rng)), seconds(length(rng)));  // DST-free: January, February
  EXPECT_EQ(c.log.size(), 0u) << c.dump();
  // Day 60 it does not run: one miss, at the deadline + grace.
  const Instant last = *c.sim.state.last_start;
  c.advance_to(day0 + hours(24 * 61) - hours(1));
  ASSERT_EQ(c.count(Alert::Kind::kMissed), 1) << c.dump();
  const auto* miss = c.first(Alert::Kind::kMissed);
  const Instant deadline = last + hours(24);
  EXPECT_GE(miss->first, deadline + m.grace);
  EXPECT_LE(miss->first, deadline + m.grace + seconds(1));
  EXPECT_EQ(miss->second.type, Action::Type::kOpen);
  EXPECT_EQ(miss->second.alert.summary, "cron-daily missed its run: no run within 1d of the previous one at " +
                                            schedule::format_iso8601(std::chrono::floor<seconds>(last), berlin) +
                                            " (anacron period 1 day)");
  EXPECT_EQ(miss->second.alert.schedule, "anacron period 1 day");
  // Day 61 it runs again: recovered, no further miss.
  c.run(day0 + hours(24 * 61) + seconds(300), seconds(60));
  c.advance_to(day0 + hours(24 * 62));
  c.run(day0 + hours(24 * 62) + seconds(100), seconds(60));
  c.advance_to(day0 + hours(24 * 63));
  EXPECT_EQ(c.count(Alert::Kind::kMissed), 1) << c.dump();
  EXPECT_EQ(c.count(Alert::Kind::kRecovered), 1) << c.dump();
  EXPECT_FALSE(c.sim.state.incident);
}

TEST(Heartbeat, UnreportedJobHasNoDeadlineUntilItsFirstRun) {
  // Nothing wraps anacron lines, and no live systemd watch reports timers yet: until a first
  // run arrives, a discovered job of this kind must not cry wolf.
  const auto m = monitor_for(anacron_job(1, 5));
  ASSERT_TRUE(m.awaits_first_run);
  const Instant seen = at("2026-03-02T12:00:00");
  SimulatedDaemon c(m, seen);
  EXPECT_FALSE(next_deadline(m, c.sim.state));
  c.advance_to(seen + hours(24 * 30));
  EXPECT_EQ(c.count(Alert::Kind::kMissed), 0) << c.dump();
  // Its first run (reported by hand, or a wrapper added later) makes the monitor live.
  c.run(seen + hours(24 * 30) + seconds(60), seconds(30));
  ASSERT_TRUE(next_deadline(m, c.sim.state));
  c.advance_to(seen + hours(24 * 31 + 12));  // one period + grace after that run, and some
  EXPECT_EQ(c.count(Alert::Kind::kMissed), 1) << c.dump();
}

TEST(Heartbeat, AnacronFirstDeadlineCountsFromWhenTheAgentSawTheJob) {
  // Named in the config, the job is live at once.
  const auto m = monitor_for(anacron_job(7, 10), "monitors:\n  - key: anacron-daily\n    grace_seconds: 4200\n");
  ASSERT_FALSE(m.awaits_first_run);
  const Instant seen = at("2026-03-02T12:00:00");
  SimulatedDaemon c(m, seen);
  EXPECT_EQ(c.sim.state.expected, seen + hours(24 * 7));
  c.advance_to(seen + hours(24 * 8));
  ASSERT_EQ(c.count(Alert::Kind::kMissed), 1);
  EXPECT_EQ(c.first(Alert::Kind::kMissed)->first, seen + hours(24 * 7) + m.grace);
  EXPECT_NE(c.first(Alert::Kind::kMissed)->second.alert.summary.find("no run seen since the agent began watching"),
            std::string::npos);
}

TEST(Heartbeat, OnUnitActiveSecEveryHour) {
  const auto m = monitor_for(timer_job({"OnBootSec=5min", "OnUnitActiveSec=1h"}));
  const Instant t0 = at("2026-05-01T00:00:00");
  SimulatedDaemon c(m, t0);
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> accuracy(0, 59), length(1, 1200);
  Instant start = t0 + minutes(5);
  for (int i = 0; i < 200; ++i) {
    // One run of 1.5 h: systemd lets the elapse at +1h pass while the unit is active; next at +2h.
    const seconds len = i == 50 ? seconds(5400) : seconds(length(rng));
    c.run(start, len);
    start += i == 50 ? hours(2) : hours(1);
    start += seconds(accuracy(rng));
  }
  EXPECT_EQ(c.log.size(), 0u) << c.dump();
  const Instant last = *c.sim.state.last_start;
  c.advance_to(last + hours(2) - seconds(1));  // one slot missed
  ASSERT_EQ(c.count(Alert::Kind::kMissed), 1) << c.dump();
  const auto* miss = c.first(Alert::Kind::kMissed);
  EXPECT_EQ(miss->first, last + hours(1) + m.grace);
  EXPECT_NE(miss->second.alert.summary.find("no run within 1h of the previous one at"), std::string::npos);
  EXPECT_NE(miss->second.alert.summary.find("(OnUnitActiveSec=1h)"), std::string::npos);
  c.run(last + hours(2), seconds(30));
  c.advance_to(last + hours(3) - seconds(1));
  c.run(last + hours(3), seconds(30));
  c.advance_to(last + hours(4));
  EXPECT_EQ(c.count(Alert::Kind::kMissed), 1) << c.dump();
  EXPECT_EQ(c.count(Alert::Kind::kRecovered), 1) << c.dump();
}

TEST(Heartbeat, OnUnitInactiveSecCountsFromTheEndOfTheRun) {
  const auto m = monitor_for(timer_job({"OnUnitInactiveSec=30min"}));
  const Instant t0 = at("2026-05-01T00:00:00");
  SimulatedDaemon c(m, t0);
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> accuracy(0, 59), length(1, 1500);
  Instant start = t0 + minutes(1);
  for (int i = 0; i < 300; ++i) {
    // Runs of varying length, some longer than the period (45 min, 2 h): never late while running.
    const seconds len = i % 40 == 7 ? seconds(2700) : i == 100 ? seconds(7200) : seconds(length(rng));
    const Instant end = c.run(start, len);
    start = end + minutes(30) + seconds(accuracy(rng));
  }
  EXPECT_EQ(c.log.size(), 0u) << c.dump();
  // The timer stops.
  const Instant end = *c.sim.state.last_end;
  c.advance_to(end + hours(1));
  ASSERT_EQ(c.count(Alert::Kind::kMissed), 1) << c.dump();
  const auto* miss = c.first(Alert::Kind::kMissed);
  EXPECT_EQ(miss->first, end + minutes(30) + m.grace);
  EXPECT_NE(miss->second.alert.summary.find("no run within 30m of the end of the previous one at"), std::string::npos)
      << miss->second.alert.summary;
  // It runs again: recovery, and the run's length does not matter.
  Instant e2 = c.run(end + hours(1), minutes(50));
  c.advance_to(e2 + minutes(30) + seconds(10));
  c.run(e2 + minutes(30) + seconds(10), seconds(5));
  c.advance_to(e2 + minutes(80));
  EXPECT_EQ(c.count(Alert::Kind::kRecovered), 1) << c.dump();
  // The last run ended at e2 + 30m 15s: due at e2 + 1h 0m 15s, missed at that + grace.
  ASSERT_EQ(c.count(Alert::Kind::kMissed), 2) << c.dump();
  EXPECT_EQ(c.log.back().first, e2 + minutes(60) + seconds(15) + m.grace);
}

TEST(Heartbeat, AnOpenRunHoldsTheDeadlineUntilItIsForgotten) {
  const auto m = monitor_for(timer_job({"OnUnitInactiveSec=30min"}));
  const Instant t0 = at("2026-05-01T00:00:00");
  SimulatedDaemon c(m, t0);
  c.send(event(m.key, "stuck", RunEvent::State::kRun, t0 + minutes(1)));
  // The deadline waits for the run; a run whose end never comes is forgotten after a day.
  ASSERT_TRUE(next_deadline(c.sim.config, c.sim.state));
  EXPECT_GT(*next_deadline(c.sim.config, c.sim.state), t0 + hours(24));
  c.advance_to(t0 + hours(23));
  EXPECT_EQ(c.count(Alert::Kind::kMissed), 0) << c.dump();
  c.advance_to(t0 + hours(26));
  ASSERT_GE(c.count(Alert::Kind::kMissed), 1) << c.dump();
  EXPECT_LE(c.first(Alert::Kind::kMissed)->first, t0 + minutes(1) + hours(24) + seconds(1));
}

TEST(Heartbeat, RootFixtureAnacrontabAndTimerGetDeadlines) {
  const fs::path root = fs::temp_directory_path() / ("agent-hb-" + std::to_string(::getpid()));
  fs::remove_all(root);
  auto write = [&](const std::string& rel, const std::string& text, fs::perms mode = fs::perms(0644)) {
    fs::create_directories((root / rel).parent_path());
    std::ofstream(root / rel) << text;
    fs::permissions(root / rel, mode);
  };
  write("etc/anacrontab",
        "SHELL=/bin/sh\n"
        "1\t5\tcron.daily\trun-parts --report /etc/cron.daily\n"
        "# cronitor: grace=10m\n"
        "7\t10\tbackup.weekly\t/usr/local/bin/backup\n"
        "@monthly\t15\tcron.monthly\trun-parts --report /etc/cron.monthly\n");
  write("etc/cron.daily/logrotate", "#!/bin/sh\n", fs::perms(0755));
  write("usr/sbin/anacron", "#!/bin/sh\n", fs::perms(0755));
  write("etc/systemd/system/sync.timer", "[Timer]\nOnBootSec=5min\nOnUnitActiveSec=1h\nRandomizedDelaySec=2m\n");
  write("etc/systemd/system/sync.service", "[Service]\nExecStart=/usr/local/bin/sync\n");
  write("etc/systemd/system/boot.timer", "[Timer]\nOnBootSec=15min\n");
  write("etc/systemd/system/boot.service", "[Service]\nExecStart=/usr/local/bin/boot-once\n");
  fs::create_directories(root / "etc/systemd/system/timers.target.wants");
  for (const char* t : {"sync.timer", "boot.timer"})
    fs::create_symlink(std::string("/etc/systemd/system/") + t, root / "etc/systemd/system/timers.target.wants" / t);
  fs::create_directories(root / "run/systemd/system");

  discovery::DiskRoot disk(root.string());
  discovery::Scanner scanner(disk);
  scanner.scan();
  std::vector<std::string> warnings;
  auto jobs = discovered_jobs(scanner.jobs(), disk, warnings);
  auto cfg = parse_config("defaults: {grace_seconds: 60}\n", "agent.yaml");
  ASSERT_TRUE(cfg);
  ZoneCache zones;
  auto monitors = build_monitors(*cfg, jobs, zones, warnings);
  EXPECT_TRUE(warnings.empty()) << warnings.front();
  std::map<std::string, const MonitorConfig*> by_source;
  for (const auto& m : monitors) by_source[m.source()] = &m;
  auto get = [&](const std::string& src) -> const MonitorConfig& {
    EXPECT_TRUE(by_source.count(src)) << src;
    static const MonitorConfig none;
    return by_source.count(src) ? *by_source[src] : none;
  };
  const auto& backup = get("/etc/anacrontab:4");
  ASSERT_TRUE(backup.heartbeat);
  EXPECT_EQ(backup.schedule->interval(), hours(24 * 7));
  EXPECT_EQ(backup.grace, minutes(10));  // from the comment: explicit
  const auto& monthly = get("/etc/anacrontab:5");
  ASSERT_TRUE(monthly.heartbeat);
  EXPECT_EQ(monthly.schedule->interval(), hours(24 * 31));
  EXPECT_EQ(monthly.grace, minutes(80));
  const auto& logrotate = get("/etc/cron.daily/logrotate");
  ASSERT_TRUE(logrotate.heartbeat);
  EXPECT_EQ(logrotate.schedule->interval(), hours(24));
  EXPECT_EQ(logrotate.grace, minutes(70));
  const auto& sync = get("/etc/systemd/system/sync.timer");
  ASSERT_TRUE(sync.heartbeat);
  EXPECT_EQ(sync.schedule->interval(), hours(1));
  EXPECT_EQ(sync.grace, seconds(60 + 120 + 60));
  const auto& boot = get("/etc/systemd/system/boot.timer");
  EXPECT_FALSE(boot.schedule);
  // Nothing reports their runs yet: no deadline until a first run; then one period after it.
  const Instant now = at("2026-11-21T12:00:00");
  for (const auto* m : {&backup, &monthly, &logrotate, &sync}) {
    EXPECT_TRUE(m->awaits_first_run) << m->key;
    auto s = initial_state(*m, now);
    EXPECT_FALSE(next_deadline(*m, s)) << m->key;
    s.last_start = now;
    ASSERT_TRUE(next_deadline(*m, s)) << m->key;
    EXPECT_EQ(*next_deadline(*m, s), now + *m->schedule->interval() + m->grace) << m->key;
  }
  fs::remove_all(root);
}

}  // namespace
}  // namespace cronitor::agent
