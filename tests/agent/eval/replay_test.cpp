// A simulated year on a realistic host: 31 jobs (minutely to monthly, cron and OnCalendar, several
// zones, both DST nights) with injected faults. Every fault must be alerted exactly once, within
// grace + 1 s of simulated time; healthy runs must never alert.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <queue>
#include <random>

#include "agent/eval/cron_zone.h"
#include "agent/eval/downtime.h"
#include "agent/eval/evaluator.h"
#include "tests/agent/eval_helpers.h"

namespace cronitor::agent {
namespace {

using namespace std::chrono_literals;
using std::chrono::seconds;
using K = Alert::Kind;

enum class Fault { kNone, kMissed, kFailed, kOom, kHung, kOverlap, kNothing };

struct JobSpec {
  const char* key;
  const char* schedule;
  const char* zone;
  int grace_s;
  bool cron;              // run by the cron daemon
  const char* assertion;  // or nullptr
};

constexpr JobSpec kJobs[] = {
    {"every-minute", "* * * * *", "UTC", 60, true, nullptr},
    {"every-minute-berlin", "* * * * *", "Europe/Berlin", 30, true, nullptr},
    {"five-min-a", "*/5 * * * *", "UTC", 60, true, nullptr},
    {"five-min-b", "2-59/5 * * * *", "America/New_York", 60, true, "metric.count > 0"},
    {"five-min-c", "*/5 * * * *", "Asia/Kolkata", 90, true, nullptr},
    {"quarter-hour", "*/15 * * * *", "Europe/London", 60, true, nullptr},
    {"ten-min-interval", "every 10 minutes", "UTC", 60, false, nullptr},
    {"hourly", "0 * * * *", "UTC", 120, true, nullptr},
    {"hourly-ny", "30 * * * *", "America/New_York", 120, true, "metric.duration < 20 minutes"},
    {"hourly-syd", "45 * * * *", "Australia/Sydney", 120, true, nullptr},
    {"every-2h", "0 */2 * * *", "Europe/Berlin", 300, true, nullptr},
    {"six-hourly", "0 0,6,12,18 * * *", "UTC", 300, true, nullptr},
    {"nightly-berlin-0230", "30 2 * * *", "Europe/Berlin", 300, true, "metric.duration < 10 minutes"},
    {"nightly-berlin-0200", "0 2 * * *", "Europe/Berlin", 300, true, nullptr},
    {"nightly-ny-0130", "30 1 * * *", "America/New_York", 300, true, "metric.duration < 10 minutes"},
    {"nightly-syd", "15 2 * * *", "Australia/Sydney", 300, true, nullptr},
    {"nightly-kolkata", "0 0 * * *", "Asia/Kolkata", 300, true, nullptr},
    {"daily-utc", "5 4 * * *", "UTC", 600, true, "metric.duration > 1 second"},
    {"weekdays", "0 9 * * 1-5", "America/Los_Angeles", 600, true, nullptr},
    {"weekly-sunday", "0 4 * * 0", "UTC", 900, true, nullptr},
    {"weekly-monday", "30 3 * * mon", "Europe/Berlin", 900, true, nullptr},
    {"monthly-first", "0 5 1 * *", "UTC", 1800, true, nullptr},
    {"monthly-15", "0 6 15 * *", "Europe/Paris", 1800, true, nullptr},
    {"monthly-last", "0 23 L * *", "UTC", 1800, true, nullptr},
    {"timer-daily", "*-*-* 04:00:00", "Europe/Berlin", 300, false, nullptr},
    {"timer-hourly", "*-*-* *:20:00", "UTC", 120, false, nullptr},
    {"timer-weekly", "Mon *-*-* 06:00:00", "America/Chicago", 600, false, nullptr},
    {"timer-twice", "*-*-* 00/12:00:00", "Asia/Tokyo", 300, false, nullptr},
    {"logrotate", "25 6 * * *", "UTC", 300, true, nullptr},
    {"cleanup", "17 */3 * * *", "Europe/Berlin", 300, true, nullptr},
    {"flappy", "*/10 * * * *", "UTC", 60, true, nullptr},
};
static_assert(std::size(kJobs) == 31);
/// The flapping job fails on every other run inside these episodes, and never otherwise.
constexpr int kFlappy = 30;
constexpr std::pair<const char*, const char*> kFlapEpisodes[] = {{"2026-03-03T08:00:00Z", "2026-03-03T12:00:00Z"},
                                                                 {"2026-10-14T20:00:00Z", "2026-10-15T01:30:00Z"}};

/// Doubled jobs: a second cron daemon runs "hourly" again in each slot of one window, and
/// "every-minute" is installed twice for 45 minutes; one "ran too often" alert for each.
struct Doubled {
  int job;
  const char* from;
  const char* to;
};
constexpr Doubled kDoubled[] = {{7, "2026-04-20T10:00:00Z", "2026-04-20T13:30:00Z"},
                                {0, "2026-09-22T07:00:00Z", "2026-09-22T07:45:00Z"}};
/// A zone change under a running cron: the host moves from Berlin to Lisbon, cron keeps running
/// "nightly-berlin-0230" at Berlin times until it is restarted; one warning, no false miss.
constexpr int kZoned = 12;
constexpr std::pair<const char*, const char*> kZoneChange = {"2026-08-05T10:00:00Z", "2026-08-07T09:00:00Z"};

struct Item {
  Instant t;
  uint64_t seq;
  int job;
  enum Type { kFire, kEnd, kRemove, kCronStop, kCronStart, kZoneFiles, kCronRestart } type;
  RunEvent ev;
  bool operator>(const Item& o) const { return t != o.t ? t > o.t : seq > o.seq; }
};

struct Expected {
  int job;  // -1: host
  K kind;
  Instant fault_at;  // the alert must come in [fault_at, fault_at + grace + 1 s]
  int grace_s;
  int matched = 0;
};

TEST(Replay, SimulatedYearEveryFaultAlertedOnceNoFalseAlarms) {
  const Instant start = testing::at("2026-01-01T00:00:00Z");
  const Instant end = testing::at("2027-01-01T00:00:00Z");
  const Instant cron_stop = testing::at("2026-06-10T13:07:00Z");
  const Instant cron_start = testing::at("2026-06-10T16:40:00Z");
  // Downtime (issue 13 item 5): the host off for 5 hours, then the agent stopped for 3 (cron jobs'
  // runs wait in the wrapper's spool until it starts; nothing reports the timers' runs meanwhile).
  // Each is one notice, and no slot in them is a missed run.
  struct Down {
    Instant from, to;
    bool host;
  };
  const Down downs[] = {{testing::at("2026-04-20T01:07:00Z"), testing::at("2026-04-20T06:07:00Z"), true},
                        {testing::at("2026-08-05T09:00:30Z"), testing::at("2026-08-05T12:00:30Z"), false}};
  int down_now = -1, downtime_notices = 0;
  size_t next_down = 0;
  std::vector<std::pair<int, RunEvent>> spooled;
  auto near_downtime = [&](Instant t) {
    for (const auto& d : downs)
      if (t > d.from - 24h && t < d.to + 24h) return true;
    return false;
  };
  std::mt19937_64 rng(20261121);

  std::vector<MonitorConfig> cfg;
  std::vector<MonitorState> st;
  std::vector<std::optional<Instant>> deadline;
  std::vector<bool> removed(std::size(kJobs), false);
  std::vector<Instant> busy_until(std::size(kJobs), start);  // no new fault before this
  std::vector<Instant> next_fire(std::size(kJobs));
  std::vector<Instant> last_start(std::size(kJobs), start);
  HostState host;
  std::priority_queue<Item, std::vector<Item>, std::greater<>> q;
  uint64_t seq = 0;
  for (size_t i = 0; i < std::size(kJobs); ++i) {
    auto c = testing::monitor(kJobs[i].key, kJobs[i].schedule, kJobs[i].zone, kJobs[i].grace_s);
    c.from_cron = kJobs[i].cron;
    if (kJobs[i].assertion) c.assertions.push_back(*Assertion::parse(kJobs[i].assertion));
    cfg.push_back(c);
    st.push_back(initial_state(c, start));
    deadline.push_back(next_deadline(c, st.back()));
    next_fire[i] = *c.schedule->next(start, c.zone);
    q.push(Item{next_fire[i], seq++, static_cast<int>(i), Item::kFire, {}});
  }
  q.push(Item{cron_stop, seq++, -1, Item::kCronStop, {}});
  q.push(Item{cron_start, seq++, -1, Item::kCronStart, {}});
  const int removed_jobs[] = {29, 10};
  q.push(Item{testing::at("2026-09-03T10:11:12Z"), seq++, removed_jobs[0], Item::kRemove, {}});
  q.push(Item{testing::at("2026-11-20T08:00:00Z"), seq++, removed_jobs[1], Item::kRemove, {}});

  std::vector<Expected> expected;
  expected.push_back({-1, K::kCronDown, cron_stop, 60});
  const Instant zone_files = testing::at(kZoneChange.first), cron_restart = testing::at(kZoneChange.second);
  std::vector<int> doubled_seen(std::size(kDoubled), 0);
  auto doubled = [&](int i, Instant slot, std::chrono::hours margin) -> const Doubled* {
    for (const auto& d : kDoubled)
      if (d.job == i && slot >= testing::at(d.from) - margin && slot < testing::at(d.to) + margin) return &d;
    return nullptr;
  };
  CronZoneState zone_state;  // -2 in `expected`: the host's "host:timezone" warning
  schedule::Zone cron_runs_in = *schedule::Zone::load("Europe/Berlin");  // the simulated cron's zone
  auto look_zone = [&](Instant now, int64_t pid, Instant started, const char* zone, Instant changed) {
    return observe_cron_zone(zone_state,
                             CronZoneObservation{now, pid, static_cast<uint64_t>(pid), started, zone, changed, "sim"});
  };
  look_zone(start, 100, start - 1h, "Europe/Berlin", start - 30 * 24h);
  q.push(Item{zone_files, seq++, kZoned, Item::kZoneFiles, {}});
  q.push(Item{cron_restart, seq++, kZoned, Item::kCronRestart, {}});
  // No random fault of these jobs near their scenario.
  auto quiet = [&](int i, Instant slot) {
    return doubled(i, slot, 12h) != nullptr || (i == kZoned && slot > zone_files - 48h && slot < cron_restart + 48h);
  };
  std::vector<std::pair<Instant, Instant>> flap_episodes;
  for (auto [from, to] : kFlapEpisodes) flap_episodes.emplace_back(testing::at(from), testing::at(to));
  std::vector<int> flap_runs(flap_episodes.size(), 0);
  int flap_failures = 0;
  std::map<K, int> faults_by_kind, alerts_by_kind;
  int healthy_runs = 0, false_alarms = 0, late_alarms = 0, recoveries = 0, realerts = 0, runs = 0;
  bool cron_up = true;
  Instant first_cron_deadline_after_stop = Instant::max();

  auto on_actions = [&](const Actions& actions, Instant now) {
    for (const auto& a : actions) {
      if (a.type == Action::Type::kSuppressed) continue;
      const K k = a.alert.kind;
      ++alerts_by_kind[k];
      if (k == K::kRecovered || k == K::kCronUp) {
        ++recoveries;
        continue;
      }
      if (k == K::kRealert) {
        ++realerts;
        continue;
      }
      bool ok = false;
      for (auto& e : expected) {
        const bool same = e.job == -1   ? a.alert.key == "host:cron"
                          : e.job == -2 ? a.alert.key == "host:timezone"
                                        : a.alert.key == kJobs[e.job].key;
        if (!same || e.kind != k || e.matched) continue;
        if (a.alert.at < e.fault_at || a.alert.at > e.fault_at + seconds(e.grace_s) + 1s) {
          ++late_alarms;
          ADD_FAILURE() << "late: " << a.alert.summary;
        }
        e.matched = 1;
        ok = true;
        break;
      }
      if (!ok) {
        ++false_alarms;
        ADD_FAILURE() << "unexpected alert at " << schedule::format_iso8601(now, schedule::Zone::utc()) << ": "
                      << a.alert.summary;
      }
    }
  };
  auto refresh = [&](int i) { deadline[i] = next_deadline(cfg[i], st[i]); };
  auto feed = [&](int i, const RunEvent& ev) {
    if (down_now >= 0) {  // the spool keeps wrapped runs while the agent is stopped
      if (!downs[down_now].host && cfg[i].from_cron) spooled.emplace_back(i, ev);
      return;
    }
    on_actions(evaluate(cfg[i], st[i], &ev, host), ev.ts);
    refresh(i);
  };

  while (true) {
    Instant t_event = q.empty() ? end : q.top().t;
    Instant t_dead = Instant::max();
    for (size_t i = 0; i < cfg.size(); ++i)
      if (deadline[i] && *deadline[i] < t_dead) t_dead = *deadline[i];
    if (down_now >= 0) {  // nobody evaluates; the agent starts (after the boot) at `to`
      t_dead = Instant::max();
      if (const Down& d = downs[down_now]; d.to <= t_event) {
        down_now = -1;
        for (const auto& [j, ev] : spooled) feed(j, ev);  // the spool first, at the runs' own times
        spooled.clear();
        for (const auto& w : downtime_windows(host, d.host ? d.to : start, d.to)) {
          for (const auto& a : evaluate_downtime(cfg, st, w, "sim", true)) {
            ++downtime_notices;
            EXPECT_NE(a.alert.summary.find(d.host ? "while the host was down" : "while the agent was stopped"),
                      std::string::npos)
                << a.alert.summary;
            std::printf("  downtime: %s\n", a.alert.summary.c_str());
          }
        }
        for (size_t j = 0; j < cfg.size(); ++j) refresh(static_cast<int>(j));
        continue;
      }
    } else if (next_down < std::size(downs) && downs[next_down].from <= std::min(t_event, t_dead)) {
      down_now = static_cast<int>(next_down++);
      host.last_seen = downs[down_now].from;
      continue;
    }
    Instant now = std::min(t_event, t_dead);
    if (now >= end) break;
    if (t_dead <= t_event) {
      bool cron_due = false;
      for (size_t i = 0; i < cfg.size(); ++i)
        if (deadline[i] && *deadline[i] <= now && cfg[i].from_cron) cron_due = true;
      if (cron_due) {
        if (!cron_up && now < first_cron_deadline_after_stop) first_cron_deadline_after_stop = now;
        on_actions(evaluate_cron(host, CronObservation{now, cron_up, "no live process behind /run/crond.pid", "sim"}),
                   now);
      }
      for (size_t i = 0; i < cfg.size(); ++i) {
        if (!deadline[i] || *deadline[i] > now) continue;
        on_actions(evaluate(cfg[i], st[i], TimeInput{now}, host), now);
        refresh(static_cast<int>(i));
      }
      continue;
    }
    Item it = q.top();
    q.pop();
    const int i = it.job;
    switch (it.type) {
      case Item::kCronStop:
        cron_up = false;
        break;
      case Item::kCronStart:
        cron_up = true;
        // The daemon sees cron's return from cron's own process (its pidfile and a pidfd), not
        // from a run event (anyone can send one): within seconds of the start.
        on_actions(evaluate_cron(host, CronObservation{it.t, true, "", "sim"}), it.t);
        break;
      case Item::kRemove: {
        removed[i] = true;
        expected.push_back({i, K::kRemoved, it.t, 0});
        ++faults_by_kind[K::kRemoved];
        on_actions(evaluate(cfg[i], st[i], RemovedInput{it.t, "/etc/cron.d/sim", i + 1}, host), it.t);
        refresh(i);
        break;
      }
      case Item::kEnd:
        feed(i, it.ev);
        break;
      case Item::kZoneFiles:  // `timedatectl set-timezone Europe/Lisbon`; cron keeps running
        expected.push_back({-2, K::kZoneChanged, it.t, 0});
        ++faults_by_kind[K::kZoneChanged];
        on_actions(look_zone(it.t, 100, start - 1h, "Europe/Lisbon", it.t), it.t);
        cfg[i].zone = *schedule::Zone::load(cron_jobs_zone(zone_state));  // as the daemon does
        EXPECT_EQ(cfg[i].zone.name(), "Europe/Berlin");
        break;
      case Item::kCronRestart: {  // cron restarted: it runs jobs in Lisbon now, and so does the monitor
        on_actions(look_zone(it.t, 200, it.t, "Europe/Lisbon", zone_files), it.t);
        cron_runs_in = *schedule::Zone::load("Europe/Lisbon");
        cfg[i].zone = *schedule::Zone::load(cron_jobs_zone(zone_state));
        if (st[i].expected && *st[i].expected > it.t) st[i].expected = cfg[i].next_slot(it.t);  // as the daemon does
        refresh(i);
        next_fire[i] = *cfg[i].schedule->next(it.t, cron_runs_in);  // the queued Berlin slot goes stale
        q.push(Item{next_fire[i], seq++, i, Item::kFire, {}});
        break;
      }
      case Item::kFire: {
        if (removed[i] || it.t != next_fire[i]) break;  // a slot of the zone cron no longer runs in
        const Instant slot = it.t;
        next_fire[i] = *cfg[i].schedule->next(slot, i == kZoned ? cron_runs_in : cfg[i].zone);
        if (cfg[i].schedule->interval()) next_fire[i] = slot + *cfg[i].schedule->interval();
        q.push(Item{next_fire[i], seq++, i, Item::kFire, {}});
        const auto period = std::chrono::duration_cast<seconds>(next_fire[i] - slot);
        const bool in_outage_zone = slot > cron_stop - 24h && slot < cron_start + 24h;
        if (cfg[i].from_cron && !cron_up) break;           // cron is down: nothing runs
        if (down_now >= 0 && downs[down_now].host) break;  // the host is off
        // Pick a fault now and then, far from other faults of this job.
        Fault f = Fault::kNone;
        int episode = -1;
        for (size_t e = 0; e < flap_episodes.size(); ++e)
          if (i == kFlappy && slot >= flap_episodes[e].first && slot < flap_episodes[e].second) episode = int(e);
        if (episode >= 0 && flap_runs[episode]++ % 2 == 0) {
          // Flapping: fail, ok, fail, ok, fail is five changes within flapping_window (1 h): the first
          // two failures are alerted as such, the third opens the one flapping incident, and every
          // later failure of the episode is recorded without an alert.
          const int nth = flap_runs[episode] / 2;
          if (nth < 3) {
            expected.push_back({i, nth < 2 ? K::kFailed : K::kFlapping, slot, 60});
            ++faults_by_kind[nth < 2 ? K::kFailed : K::kFlapping];
          }
          ++flap_failures;
          f = Fault::kFailed;
        } else if (i != kFlappy && slot >= busy_until[i] && !(cfg[i].from_cron && in_outage_zone) && !quiet(i, slot) &&
                   slot > start + 24h && !near_downtime(slot) &&
                   std::uniform_real_distribution<>(0, 1)(rng) <
                       std::min(0.3, 8.0 * static_cast<double>(period.count()) / 31536000)) {
          std::vector<Fault> options = {Fault::kMissed, Fault::kFailed, Fault::kOom};
          if (cfg[i].max_runtime())
            options.push_back(Fault::kHung);
          else if (cfg[i].from_cron && period <= 6h)
            options.push_back(Fault::kOverlap);
          if (kJobs[i].assertion && std::string_view(kJobs[i].assertion) == "metric.count > 0")
            options.push_back(Fault::kNothing);
          f = options[std::uniform_int_distribution<size_t>(0, options.size() - 1)(rng)];
          busy_until[i] = slot + std::max<seconds>(period * 4, 2h);
        }
        const Instant t0 = slot + seconds(std::uniform_int_distribution<int>(0, 3)(rng));
        const std::string id = std::string(kJobs[i].key) + "-" + std::to_string(++runs);
        const Instant prev_start = last_start[i];
        last_start[i] = t0;
        if (f == Fault::kMissed) {
          // Interval schedules count from the last start; calendar ones from the slot.
          const Instant due = cfg[i].schedule->interval() ? prev_start + period : slot;
          expected.push_back({i, K::kMissed, due + cfg[i].grace, 1});
          ++faults_by_kind[K::kMissed];
          break;
        }
        feed(i, testing::event(kJobs[i].key, id, RunEvent::State::kRun, t0));
        if (const Doubled* d = doubled(i, slot, 0h)) {  // the second cron daemon's run
          if (doubled_seen[d - kDoubled]++ == 0) {
            expected.push_back({i, K::kTooOften, t0, 2});
            ++faults_by_kind[K::kTooOften];
          }
          feed(i, testing::event(kJobs[i].key, id + "-dup", RunEvent::State::kRun, t0 + 1s));
          q.push(Item{t0 + 3s, seq++, i, Item::kEnd,
                      testing::event(kJobs[i].key, id + "-dup", RunEvent::State::kComplete, t0 + 3s, 0, 2000)});
        }
        int dur = std::uniform_int_distribution<int>(
            2, static_cast<int>(std::clamp<int64_t>(period.count() / 4, 2, 40)))(rng);
        RunEvent done = testing::event(kJobs[i].key, id, RunEvent::State::kComplete, t0 + seconds(dur), 0, dur * 1000);
        done.metrics["count"] = 5;
        switch (f) {
          case Fault::kFailed:
            done.state = RunEvent::State::kFail;
            done.exit_code = 2;
            if (i == kFlappy) break;  // expected above
            expected.push_back({i, K::kFailed, done.ts, 0});
            ++faults_by_kind[K::kFailed];
            break;
          case Fault::kOom:
            done.state = RunEvent::State::kFail;
            done.exit_code = 137;
            done.signal = "SIGKILL";
            done.oom = true;
            expected.push_back({i, K::kFailed, done.ts, 0});
            ++faults_by_kind[K::kFailed];
            break;
          case Fault::kNothing:
            done.metrics["count"] = 0;
            expected.push_back({i, K::kAssertion, done.ts, 0});
            ++faults_by_kind[K::kAssertion];
            break;
          case Fault::kHung: {
            auto max = std::chrono::duration_cast<seconds>(*cfg[i].max_runtime());
            dur = static_cast<int>(max.count() + 300);
            done.ts = t0 + seconds(dur);
            done.duration_ms = dur * 1000;
            expected.push_back({i, K::kHung, t0 + max, 0});
            ++faults_by_kind[K::kHung];
            break;
          }
          case Fault::kOverlap: {
            dur = static_cast<int>(period.count() + period.count() / 2);
            done.ts = t0 + seconds(dur);
            done.duration_ms = dur * 1000;
            expected.push_back({i, K::kOverlap, next_fire[i], 4});
            ++faults_by_kind[K::kOverlap];
            break;
          }
          default:
            ++healthy_runs;
            break;
        }
        q.push(Item{done.ts, seq++, i, Item::kEnd, done});
        break;
      }
    }
  }
  // The cron outage: one host alert, at the first cron-job deadline after the stop.
  int cron_alerts = alerts_by_kind[K::kCronDown];
  EXPECT_EQ(cron_alerts, 1);
  EXPECT_EQ(alerts_by_kind[K::kCronUp], 1);
  EXPECT_LT(first_cron_deadline_after_stop, cron_start);
  int unmatched = 0;
  for (const auto& e : expected)
    if (!e.matched) {
      ++unmatched;
      ADD_FAILURE() << "fault not alerted: " << (e.job < 0 ? "host" : kJobs[e.job].key) << " " << kind_name(e.kind)
                    << " at " << schedule::format_iso8601(e.fault_at, schedule::Zone::utc());
    }
  int total_faults = 0;
  for (auto& [k, n] : faults_by_kind) total_faults += n;
  std::printf("replay: 31 jobs, 1 simulated year, %d runs (%d healthy), %zu faults injected + 1 cron outage\n", runs,
              healthy_runs, expected.size());
  for (auto& [k, n] : faults_by_kind)
    std::printf("  %-17s injected %4d  alerted %4d\n", kind_name(k), n, alerts_by_kind[k] - (k == K::kFailed ? 0 : 0));
  std::printf("  %-17s injected %4d  alerted %4d\n", "cron-down", 1, cron_alerts);
  std::printf("  flapping job: %zu episodes, %d failures, %d alerts sent for them (flapping %d)\n",
              flap_episodes.size(), flap_failures, alerts_by_kind[K::kFlapping] + 2 * int(flap_episodes.size()),
              alerts_by_kind[K::kFlapping]);
  EXPECT_EQ(alerts_by_kind[K::kFlapping], static_cast<int>(flap_episodes.size()));
  EXPECT_GT(flap_failures, 25);
  std::printf("  recoveries %d, re-alerts of long incidents %d, unmatched faults %d, false alarms %d, late %d\n",
              recoveries, realerts, unmatched, false_alarms, late_alarms);
  EXPECT_EQ(unmatched, 0);
  EXPECT_EQ(false_alarms, 0);
  EXPECT_EQ(late_alarms, 0);
  EXPECT_GT(total_faults, 100);
  EXPECT_EQ(downtime_notices, static_cast<int>(std::size(downs)));
  EXPECT_EQ(doubled_seen[0], 4) << "hourly, 10:00 to 13:00";
  EXPECT_EQ(doubled_seen[1], 45) << "every minute, 07:00 to 07:44";
  EXPECT_EQ(alerts_by_kind[K::kTooOften], static_cast<int>(std::size(kDoubled)));
  EXPECT_EQ(alerts_by_kind[K::kZoneChanged], 1);
}

}  // namespace
}  // namespace cronitor::agent
