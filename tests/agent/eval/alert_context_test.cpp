// What alerts tell the on-call reader beyond "it failed" (issue 13, items 17-19): who runs what,
// the last success, OOM figures, where the incident stands, when it goes quiet, and reminders
// with the count of what was not sent.
#include <gtest/gtest.h>

#include "tests/agent/eval_helpers.h"

namespace cronitor::agent {
namespace {

using testing::at;
using testing::event;
using testing::monitor;
using testing::Sim;
using K = Alert::Kind;
using T = Action::Type;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

MonitorConfig every_minute() {
  auto c = monitor("sync", "* * * * *");  // the shipped defaults: 3 alerts, then a reminder an hour
  c.user = "backup";
  c.command = "/usr/local/bin/sync --all";
  return c;
}

TEST(AlertContext, DefaultsKeepAnEveryMinuteFailureAudibleWithoutFlooding) {
  Sim s(every_minute(), at("2026-01-01T00:00:30Z"));
  ASSERT_EQ(s.config.consecutive_alert_threshold, 3);
  ASSERT_EQ(s.config.realert_interval, hours(1));
  s.job(at("2026-01-01T00:00:00Z") + minutes(1));  // one good run first
  std::vector<Action> sent;
  int suppressed = 0;
  // Fails every minute for 8 hours; the clock ticks at each run too.
  for (int m = 2; m <= 8 * 60 + 1; ++m) {
    const Instant t = at("2026-01-01T00:00:00Z") + minutes(m);
    for (auto& a : s.tick(t)) (a.type == T::kSuppressed ? ++suppressed : (sent.push_back(a), 0));
    for (auto& a : s.job(t, 1, 2)) (a.type == T::kSuppressed ? ++suppressed : (sent.push_back(a), 0));
  }
  // 3 at once (the third says it goes quiet), then one reminder an hour with the count.
  ASSERT_GE(sent.size(), 3u + 7u);
  EXPECT_LE(sent.size(), 3u + 8u);
  EXPECT_EQ(sent[0].type, T::kOpen);
  EXPECT_EQ(sent[0].alert.alert_number, 1);
  EXPECT_FALSE(sent[0].alert.going_quiet);
  // Updates do not read like the first alert again.
  EXPECT_NE(sent[1].alert.summary, sent[0].alert.summary);
  EXPECT_TRUE(has(sent[1].alert.summary, "(2nd alert since 2026-01-01T00:02:01+00:00)")) << sent[1].alert.summary;
  EXPECT_TRUE(sent[2].alert.going_quiet);
  EXPECT_TRUE(has(sent[2].alert.detail,
                  "3rd alert: quiet now until it recovers; one reminder with the count of new "
                  "faults every 1h"))
      << sent[2].alert.detail;
  const Alert& reminder = sent[3].alert;
  EXPECT_EQ(reminder.kind, K::kRealert);
  EXPECT_GE(reminder.folded_faults, 55);
  EXPECT_TRUE(has(reminder.summary, "sync is still failing (since 2026-01-01T00:02:01+00:00): ")) << reminder.summary;
  EXPECT_TRUE(has(reminder.summary, " more faults since the last alert")) << reminder.summary;
  EXPECT_LE(reminder.at - sent[2].alert.at, hours(1) + minutes(1));
  int folded = 0;
  for (size_t i = 3; i < sent.size(); ++i) folded += sent[i].alert.folded_faults;
  ASSERT_TRUE(s.state.incident);
  EXPECT_EQ(folded + s.state.incident->folded, suppressed);  // every fault not sent is counted once
}

TEST(AlertContext, FailureNamesUserCommandLastSuccessAndFailuresSince) {
  auto c = every_minute();
  c.failure_tolerance = 2;
  Sim s(c, at("2026-01-01T00:00:30Z"));
  s.job(at("2026-01-01T00:01:00Z"));
  s.job(at("2026-01-01T00:02:00Z"), 1, 1);
  s.job(at("2026-01-01T00:03:00Z"), 1, 1);
  auto a = s.job(at("2026-01-01T00:04:00Z"), 1, 1);
  ASSERT_EQ(a.size(), 1u);
  const Alert& f = a[0].alert;
  EXPECT_EQ(f.user, "backup");
  EXPECT_EQ(f.command, "/usr/local/bin/sync --all");
  EXPECT_EQ(f.last_success, at("2026-01-01T00:01:01Z"));
  EXPECT_EQ(f.failed_since_success, 3);
  // The recovery gives the good run's exit code and duration, that run as the last success
  // (issue 17: not "never seen (3 runs failed since)"), and in words what failed before it.
  auto r = s.job(at("2026-01-01T00:05:00Z"), 2, 0);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].alert.kind, K::kRecovered);
  EXPECT_EQ(r[0].alert.exit_code, 0);
  EXPECT_EQ(r[0].alert.duration_ms, 2000);
  EXPECT_EQ(r[0].alert.last_success, at("2026-01-01T00:05:02Z"));
  EXPECT_EQ(r[0].alert.failed_since_success.value_or(0), 0);
  EXPECT_TRUE(has(r[0].alert.detail, "; 3 runs failed before this one, after the success of 2026-01-01T00:01:01+00:00"))
      << r[0].alert.detail;
  EXPECT_EQ(s.state.failed_since_success, 0);
  EXPECT_EQ(s.state.last_success, at("2026-01-01T00:05:02Z"));
}

TEST(AlertContext, OomAlertCarriesPeakLimitAndVictim) {
  Sim s(every_minute(), at("2026-01-01T00:00:30Z"));
  auto run = event("sync", "r1", RunEvent::State::kRun, at("2026-01-01T00:01:00Z"));
  s.send(run);
  auto end = event("sync", "r1", RunEvent::State::kFail, at("2026-01-01T00:01:09Z"), 137, 9000);
  end.signal = "SIGKILL";
  end.oom = end.oom_hint = true;
  end.peak_memory_bytes = 66 * 1024 * 1024;
  end.memory_limit_bytes = 64 * 1024 * 1024;
  end.oom_victim = "python3 (pid 6217)";
  auto a = s.send(end);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].alert.summary, "sync failed: killed by the OOM killer (exit code 137)");
  EXPECT_EQ(a[0].alert.peak_memory_bytes, 66 * 1024 * 1024);
  EXPECT_EQ(a[0].alert.memory_limit_bytes, 64 * 1024 * 1024);
  EXPECT_EQ(a[0].alert.oom_victim, "python3 (pid 6217)");
}

TEST(AlertContext, CgroupCounterAloneIsOnlyAHint) {
  Sim s(every_minute(), at("2026-01-01T00:00:30Z"));
  auto end = event("sync", "r1", RunEvent::State::kFail, at("2026-01-01T00:01:09Z"), 137, 9000);
  end.signal = "SIGKILL";
  end.oom_hint = true;  // its cgroup counted a kill, the kernel named another process
  end.oom_other = "java (pid 4242)";
  auto a = s.send(end);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_FALSE(a[0].alert.oom);
  EXPECT_EQ(a[0].alert.summary,
            "sync failed: killed by signal SIGKILL (exit code 137), not by the OOM killer (it killed java (pid 4242), "
            "not a process of this job, during the run)");
  EXPECT_FALSE(a[0].alert.memory_limit_bytes);
}

TEST(AlertContext, QuietIncidentRemindsOnceADayWhenNothingNewHappened) {
  auto c = monitor("daily", "0 2 * * *");
  Sim s(c, at("2026-01-01T00:00:00Z"));
  ASSERT_EQ(s.job(at("2026-01-01T02:00:00Z"), 1, 1).size(), 1u);
  // No new fault: no hourly reminder...
  for (int h = 3; h < 26; ++h) EXPECT_TRUE(s.tick(at("2026-01-01T00:00:00Z") + hours(h) + seconds(30)).empty()) << h;
  // ...but one after a day, saying it is still failing.
  auto r = s.tick(at("2026-01-02T02:00:02Z"));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].alert.kind, K::kRealert);
  EXPECT_EQ(r[0].alert.summary, "daily is still failing (since 2026-01-01T02:00:01+00:00)");
  EXPECT_EQ(r[0].alert.exit_code, 1);
}

TEST(AlertContext, FlappingIncidentSendsNoReminders) {
  auto c = monitor("flap", "* * * * *");
  Sim s(c, at("2026-01-01T00:00:30Z"));
  int flapping = 0, reminders = 0;
  for (int m = 1; m <= 180; ++m) {  // three hours of fail, ok, fail, ok...
    const Instant t = at("2026-01-01T00:00:00Z") + minutes(m);
    for (auto& a : s.tick(t)) reminders += a.alert.kind == K::kRealert && a.type != T::kSuppressed;
    for (auto& a : s.job(t, 1, m % 2)) {
      flapping += a.alert.kind == K::kFlapping;
      reminders += a.alert.kind == K::kRealert && a.type != T::kSuppressed;
    }
  }
  EXPECT_EQ(flapping, 1);
  EXPECT_EQ(reminders, 0);
}

TEST(AlertContext, CronDownSaysSinceWhenAndHowManyJobs) {
  HostState host;
  host.cron_seen_running = true;
  CronObservation obs{at("2026-01-01T00:11:00Z"), false, "no live process behind /run/crond.pid", "vm"};
  obs.cron_jobs = 12;
  obs.gone_since = at("2026-01-01T00:10:50Z");
  auto down = evaluate_cron(host, obs);
  ASSERT_EQ(down.size(), 1u);
  EXPECT_EQ(down[0].alert.summary,
            "The cron daemon on vm is not running (since 2026-01-01T00:10:50+00:00): the 12 cron jobs it runs will be "
            "missed");
  EXPECT_EQ(down[0].alert.affected_jobs, 12);
  EXPECT_EQ(down[0].alert.incident_opened, at("2026-01-01T00:10:50Z"));
}

TEST(AlertContext, StableAgainSaysWhatItWas) {
  auto c = monitor("flap", "* * * * *");
  Sim s(c, at("2026-01-01T00:00:30Z"));
  for (int m = 1; m <= 10; ++m) s.job(at("2026-01-01T00:00:00Z") + minutes(m), 1, m % 2);
  Actions last;
  for (int m = 11; m <= 80; ++m)
    for (auto& a : s.job(at("2026-01-01T00:00:00Z") + minutes(m))) last.push_back(a);
  ASSERT_FALSE(last.empty());
  EXPECT_EQ(last.back().alert.kind, K::kRecovered);
  EXPECT_FALSE(has(last.back().alert.detail, "It was failed")) << last.back().alert.detail;
  EXPECT_TRUE(has(last.back().alert.detail, "It was flapping since")) << last.back().alert.detail;
  EXPECT_EQ(last.back().alert.exit_code, 0);
}

}  // namespace
}  // namespace cronitor::agent
