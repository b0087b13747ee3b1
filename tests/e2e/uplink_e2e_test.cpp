// The real daemon forwarding to a real HTTP receiver on 127.0.0.1: a job's monitor upsert and an
// OOM failure in Cronitor's format, and a drain interrupted by kill -9 that loses nothing.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "common/event.h"
#include "tests/support/agent_process.h"
#include "tests/support/daemon_test.h"
#include "tests/support/http_recorder.h"
#include "tests/support/sentry_rules.h"
#include "wrapper/agent_client.h"

namespace {

using namespace cronitor::testing;

class UplinkE2E : public ::testing::Test {
 protected:
  void TearDown() override { agent_.stop(SIGTERM); }
  void write_config(const HttpRecorder& rec, const std::string& extra = "") {
    std::ofstream(dir_ / "agent.yaml") << "state_dir: " << (dir_ / "state").string() << "\nsocket: " << socket_
                                       << "\nspool_dir: " << (dir_ / "spool").string()
                                       << "\nhostname: e2e-host\nmode: upstream\n"
                                          "discovery: {crontabs: false, systemd: false}\n"
                                          "uplink:\n  retry_min: 1\n  retry_max: 2\n  cronitor:\n"
                                          "    api_key: SECRETKEY42\n    telemetry_url: "
                                       << rec.url("") << "\n    api_url: " << rec.url("/api") << "\n"
                                       << extra;
    fs::permissions(dir_ / "agent.yaml", fs::perms::owner_read | fs::perms::owner_write);
  }
  void start() { ASSERT_TRUE(agent_.start((dir_ / "agent.yaml").string(), socket_)) << agent_.log(); }
  static std::string event(const std::string& key, const std::string& run, cronitor::RunState st, int64_t ms,
                           const std::string& host = "e2e-host") {
    cronitor::RunEvent e;
    e.key = key;
    e.run_id = run;
    e.state = st;
    e.ts = cronitor::format_timestamp_ms(ms);
    e.host = host;
    e.pid = 11;
    e.uid = 0;
    e.duration_ms = 1200;
    if (st == cronitor::RunState::kFail) {
      e.exit_code = 137;
      e.signal = "SIGKILL";
      e.oom = true;
      e.output_tail = "Killed\n";
    }
    return cronitor::encode(e);
  }
  static int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  static std::string run_id(int i) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%08x-0000-4000-8000-%012x", i, i);
    return buf;
  }

  AgentSandbox box_{test_dir("uplink-e2e")};
  const fs::path dir_ = box_.dir();
  const std::string socket_ = box_.socket();
  AgentProcess agent_{kAgent, (dir_ / "daemon.log").string()};  // in the sandbox: removed with it
};

TEST_F(UplinkE2E, AJobIsUpsertedThenItsOomFailureArrivesInCronitorsFormat) {
  HttpRecorder rec(kRecorder, dir_.string());
  const std::string prom = (dir_ / "cronitor.prom").string();
  write_config(rec,
               "monitors:\n  - key: nightly\n    name: Nightly report\n    schedule: \"30 2 * * *\"\n"
               "prometheus: {textfile: " +
                   prom + "}\n");
  // The OOM failure below is made up (no process was killed): the kernel's log would say so.
  ::setenv("CRONITOR_KMSG", "off", 1);
  start();
  ::unsetenv("CRONITOR_KMSG");
  auto read = [&] {
    std::ifstream in(prom);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  };
  // The job's series exist from discovery on, before its first run.
  ASSERT_TRUE(
      wait_until([&] { return read().find(R"(cronitor_job_last_exit_code{key="nightly")") != std::string::npos; },
                 std::chrono::seconds(5)))
      << read() << agent_.log();
  // Upserted at start, before it ever ran.
  auto put = rec.wait_for([](const json& r) { return r["method"] == "PUT"; }, std::chrono::seconds(10));
  ASSERT_FALSE(put.is_null()) << agent_.log();
  EXPECT_EQ(put["path"], "/api/monitors");
  auto monitors = json::parse(put["body"].get<std::string>());
  ASSERT_EQ(monitors.size(), 2u) << "the job and the agent's own heartbeat";
  EXPECT_EQ(monitors[0]["key"], "nightly");
  EXPECT_EQ(monitors[0]["schedule"], "30 2 * * *");
  EXPECT_EQ(monitors[1]["key"], "cronitor-agent-e2e-host");
  const std::string run = run_id(1);
  const int64_t t = now_ms();
  ASSERT_TRUE(cronitor::wrapper::send_to_agent(socket_, event("nightly", run, cronitor::RunState::kRun, t), 2000000));
  ASSERT_TRUE(
      cronitor::wrapper::send_to_agent(socket_, event("nightly", run, cronitor::RunState::kFail, t + 1200), 2000000));
  auto fail =
      rec.wait_for([](const json& r) { return r["path"].get<std::string>().find("state=fail") != std::string::npos; },
                   std::chrono::seconds(10));
  ASSERT_FALSE(fail.is_null()) << agent_.log();
  const std::string p = fail["path"];
  EXPECT_TRUE(p.starts_with("/p/SECRETKEY42/nightly?state=fail&series=" + run)) << p;
  for (const char* part : {"&host=e2e-host", "&status_code=137", "&duration=1.200", "OOM", "&stamp="})
    EXPECT_NE(p.find(part), std::string::npos) << part << " in " << p;
  EXPECT_EQ(agent_.log().find("SECRETKEY42"), std::string::npos) << "the key never reaches the log";
  ASSERT_TRUE(
      wait_until([&] { return read().find(R"(,outcome="failure"} 1)") != std::string::npos; }, std::chrono::seconds(5)))
      << read();
  EXPECT_NE(read().find("} 137\n"), std::string::npos) << read();
}

TEST_F(UplinkE2E, AMonitorsSlugNamesItAtHealthchecksAndSentry) {
  HttpRecorder rec(kRecorder, dir_.string());
  write_config(rec, "  healthchecks: {ping_key: PKEY, ping_url: \"" + rec.url("/hc") +
                        "\"}\n"
                        "  sentry: {dsn: \"" +
                        rec.url("").replace(0, 7, "http://PUB@") +
                        "/42\"}\n"
                        "monitors:\n"
                        "  - key: nightly-db-backup\n    slug: db-backup\n    schedule: \"0 3 * * *\"\n"
                        "  - key: weekly_report\n    schedule: \"0 4 * * 1\"\n");
  start();
  const int64_t t = now_ms();
  for (const char* key : {"nightly-db-backup", "weekly_report"}) {
    const std::string run = run_id(key[0]);
    ASSERT_TRUE(cronitor::wrapper::send_to_agent(socket_, event(key, run, cronitor::RunState::kRun, t), 2000000));
    ASSERT_TRUE(
        cronitor::wrapper::send_to_agent(socket_, event(key, run, cronitor::RunState::kComplete, t + 1200), 2000000));
  }
  auto has = [&](const std::string& prefix) {
    for (auto& r : rec.requests())
      if (r["path"].get<std::string>().starts_with(prefix)) return true;
    return false;
  };
  // The slug where one is set, else the one made from the key.
  for (const char* p : {"/hc/PKEY/db-backup/start?rid=", "/hc/PKEY/db-backup/0?rid=", "/hc/PKEY/weekly_report/start?",
                        "/api/42/cron/db-backup/PUB/", "/api/42/cron/weekly_report/PUB/"})
    EXPECT_TRUE(wait_until([&] { return has(p); }, std::chrono::seconds(10))) << p << "\n" << agent_.log();
  EXPECT_FALSE(has("/hc/PKEY/nightly-db-backup/"));
  EXPECT_FALSE(has("/api/42/cron/nightly-db-backup/"));
}

// Contract (issue 19, items 1, 2 and 7): every schedule form and zone form reaches Sentry in a
// monitor_config its validator takes (tests/support/sentry_rules.h), or without one and with one
// warning naming the job; Cronitor's monitor PUT carries the same forms; every event carries the
// agent's `hostname:` whatever the wrapper's uname said.
TEST_F(UplinkE2E, EveryScheduleAndZoneFormReachesSentryInAFormItTakes) {
  HttpRecorder rec(kRecorder, dir_.string());
  struct Job {
    std::string key, yaml, schedule;  // schedule: what Sentry gets; empty: no monitor_config
  };
  const std::vector<Job> jobs = {
      {"host-zone", "schedule: \"30 2 * * *\"", "30 2 * * *"},
      {"berlin", "schedule: \"30 2 * * *\"\n    timezone: Europe/Berlin", "30 2 * * *"},
      {"india", "schedule: \"0 2 * * *\"\n    timezone: \"+05:30\"", "30 20 * * *"},
      {"plus-two", "schedule: \"0 2 * * *\"\n    timezone: \"+02:00\"", "0 2 * * *"},
      {"at-time", "schedule: \"at 13:37\"", "37 13 * * *"},
      {"six-zero", "schedule: \"0 */5 * * * *\"", "*/5 * * * *"},
      {"six-thirty", "schedule: \"30 */5 * * * *\"", ""},
      {"every-five", "schedule: \"every 5 minutes\"", "interval"},
      {"every-half-minute", "schedule: \"every 30 seconds\"", ""},
  };
  std::string monitors = "monitors:\n";
  for (const auto& j : jobs) monitors += "  - key: " + j.key + "\n    " + j.yaml + "\n";
  write_config(rec, "  sentry: {dsn: \"" + rec.url("").replace(0, 7, "http://PUB@") + "/42\"}\n" + monitors);
  start();
  const int64_t t = now_ms();
  for (size_t i = 0; i < jobs.size(); ++i)  // reported by a wrapper whose uname is "vm"
    ASSERT_TRUE(cronitor::wrapper::send_to_agent(
        socket_, event(jobs[i].key, run_id(static_cast<int>(100 + i)), cronitor::RunState::kRun, t, "vm"), 2000000));
  for (const auto& j : jobs) {
    SCOPED_TRACE(j.key);
    auto r = rec.wait_for([&](const json& x) { return x["path"] == "/api/42/cron/" + j.key + "/PUB/"; },
                          std::chrono::seconds(10));
    ASSERT_FALSE(r.is_null()) << agent_.log();
    const json body = json::parse(r["body"].get<std::string>());
    for (const auto& why : sentry_refuses(body)) ADD_FAILURE() << "Sentry refuses " << body.dump() << ": " << why;
    if (j.schedule.empty()) {
      EXPECT_FALSE(body.contains("monitor_config")) << body.dump();
      EXPECT_NE(agent_.log().find(j.key + " goes up without a schedule"), std::string::npos) << agent_.log();
    } else if (j.schedule == "interval") {
      EXPECT_EQ(body["monitor_config"]["schedule"], json({{"type", "interval"}, {"value", 5}, {"unit", "minute"}}));
    } else {
      EXPECT_EQ(body["monitor_config"]["schedule"]["value"], j.schedule) << body.dump();
    }
    auto c = rec.wait_for(
        [&](const json& x) { return x["path"].get<std::string>().starts_with("/p/SECRETKEY42/" + j.key + "?"); },
        std::chrono::seconds(10));
    ASSERT_FALSE(c.is_null());
    EXPECT_NE(c["path"].get<std::string>().find("&host=e2e-host"), std::string::npos) << c["path"];
  }
  // Cronitor's monitor PUT: IANA zones and schedules in the same forms.
  auto put = rec.wait_for([](const json& r) { return r["method"] == "PUT"; }, std::chrono::seconds(10));
  ASSERT_FALSE(put.is_null());
  for (const auto& m : json::parse(put["body"].get<std::string>())) {
    if (m.contains("timezone")) {
      EXPECT_TRUE(zoneinfo_names().contains(m["timezone"].get<std::string>())) << m.dump();
    }
    if (m["key"] == "india") {
      EXPECT_EQ(m["schedule"], "30 20 * * *") << m.dump();
    }
    if (m["key"] == "six-thirty") {
      EXPECT_FALSE(m.contains("schedule")) << m.dump();
    }
  }
  const std::string log = agent_.log();
  size_t warnings = 0;
  for (size_t at = log.find("six-thirty goes up without"); at != std::string::npos;
       at = log.find("six-thirty goes up without", at + 1))
    ++warnings;
  EXPECT_EQ(warnings, 1u) << "one warning per job";
}

// Contract (issue 19, item 6): a hung run's fault is part of that run at every upstream
// (Cronitor's series, Healthchecks' rid, Sentry's check_in_id), so Sentry does not close another
// check-in and Healthchecks ties the failure to the run's start.
TEST_F(UplinkE2E, AHungRunsFaultIsSentAsPartOfThatRun) {
  HttpRecorder rec(kRecorder, dir_.string());
  write_config(rec, "  healthchecks: {ping_key: PKEY, ping_url: \"" + rec.url("/hc") + "\"}\n  sentry: {dsn: \"" +
                        rec.url("").replace(0, 7, "http://PUB@") +
                        "/42\"}\n"
                        "monitors:\n  - key: stuck\n    schedule: \"0 3 * * *\"\n"
                        "    assertions: [\"metric.duration < 1 second\"]\n");
  start();
  const std::string run = run_id(7);
  std::string hex;  // Sentry's check_in_id: the run id without dashes
  for (char c : run)
    if (c != '-') hex += c;
  ASSERT_TRUE(
      cronitor::wrapper::send_to_agent(socket_, event("stuck", run, cronitor::RunState::kRun, now_ms()), 2000000))
      << agent_.log();
  auto cronitor_fail = rec.wait_for(
      [](const json& r) { return r["path"].get<std::string>().starts_with("/p/SECRETKEY42/stuck?state=fail"); },
      std::chrono::seconds(15));
  ASSERT_FALSE(cronitor_fail.is_null()) << agent_.log() << [&] {
    std::string all;
    for (auto& r : rec.requests()) all += r["method"].get<std::string>() + " " + r["path"].get<std::string>() + "\n";
    return all;
  }();
  EXPECT_NE(cronitor_fail["path"].get<std::string>().find("&series=" + run), std::string::npos)
      << cronitor_fail["path"];
  auto hc_fail =
      rec.wait_for([](const json& r) { return r["path"].get<std::string>().starts_with("/hc/PKEY/stuck/fail"); },
                   std::chrono::seconds(10));
  ASSERT_FALSE(hc_fail.is_null()) << agent_.log();
  EXPECT_NE(hc_fail["path"].get<std::string>().find("rid=" + run), std::string::npos) << hc_fail["path"];
  auto sentry_error = rec.wait_for(
      [](const json& r) {
        return r["path"] == "/api/42/cron/stuck/PUB/" &&
               r["body"].get<std::string>().find("\"error\"") != std::string::npos;
      },
      std::chrono::seconds(10));
  ASSERT_FALSE(sentry_error.is_null()) << agent_.log();
  const json body = json::parse(sentry_error["body"].get<std::string>());
  EXPECT_EQ(body["check_in_id"], hex) << body.dump();
  for (const auto& why : sentry_refuses(body)) ADD_FAILURE() << "Sentry refuses " << body.dump() << ": " << why;
}

// Issue 17 item 7: with an upstream set, the agent's own heartbeat reaches each upstream at start
// (Cronitor: a heartbeat monitor every minute and a complete ping; Healthchecks: a success ping of
// its slug; Sentry: an ok check-in with an interval config it takes), and the Prometheus textfile
// carries the process's start time and the loop's last stamp (a dead agent leaves them stale).
TEST_F(UplinkE2E, TheAgentsOwnHeartbeatReachesEachUpstreamAndTheTextfile) {
  HttpRecorder rec(kRecorder, dir_.string());
  const std::string prom = (dir_ / "cronitor.prom").string();
  write_config(rec, "  healthchecks: {ping_key: PKEY, ping_url: \"" + rec.url("/hc") + "\"}\n  sentry: {dsn: \"" +
                        rec.url("").replace(0, 7, "http://PUB@") + "/42\"}\nprometheus: {textfile: " + prom + "}\n");
  const double before = static_cast<double>(now_ms()) / 1000;
  start();
  auto path_is = [&](const std::string& prefix) {
    return rec.wait_for([&](const json& r) { return r["path"].get<std::string>().starts_with(prefix); },
                        std::chrono::seconds(10));
  };
  auto cronitor = path_is("/p/SECRETKEY42/cronitor-agent-e2e-host?state=complete&host=e2e-host&stamp=");
  ASSERT_FALSE(cronitor.is_null()) << agent_.log();
  auto hc = path_is("/hc/PKEY/cronitor-agent-e2e-host");
  ASSERT_FALSE(hc.is_null()) << agent_.log();
  EXPECT_EQ(hc["path"], "/hc/PKEY/cronitor-agent-e2e-host");
  auto sentry = path_is("/api/42/cron/cronitor-agent-e2e-host/PUB/");
  ASSERT_FALSE(sentry.is_null()) << agent_.log();
  const json body = json::parse(sentry["body"].get<std::string>());
  EXPECT_EQ(body["status"], "ok");
  ASSERT_TRUE(body.contains("monitor_config")) << body.dump();
  EXPECT_EQ(body["monitor_config"]["schedule"], json({{"type", "interval"}, {"value", 1}, {"unit", "minute"}}));
  for (const auto& why : sentry_refuses(body)) ADD_FAILURE() << "Sentry refuses " << body.dump() << ": " << why;
  auto put = rec.wait_for([](const json& r) { return r["method"] == "PUT"; }, std::chrono::seconds(10));
  ASSERT_FALSE(put.is_null()) << agent_.log();
  const json monitors = json::parse(put["body"].get<std::string>());
  ASSERT_EQ(monitors.size(), 1u) << monitors.dump();
  EXPECT_EQ(monitors[0]["key"], "cronitor-agent-e2e-host");
  EXPECT_EQ(monitors[0]["type"], "heartbeat");
  EXPECT_EQ(monitors[0]["schedule"], "every 1 minute");
  EXPECT_EQ(monitors[0]["grace_seconds"], 120);
  const double after = static_cast<double>(now_ms()) / 1000;
  auto series = [&](const std::string& name) -> double {
    std::ifstream in(prom);
    std::string line;
    while (std::getline(in, line))
      if (line.starts_with(name + " ")) return std::stod(line.substr(name.size() + 1));
    return 0;
  };
  ASSERT_TRUE(
      wait_until([&] { return series("cronitor_agent_last_loop_timestamp_seconds") > 0; }, std::chrono::seconds(5)))
      << agent_.log();
  const double started = series("cronitor_agent_start_time_seconds");
  EXPECT_GE(started, before - 1) << "the process's start, to a clock tick";
  EXPECT_LE(started, after + 1);
  EXPECT_GE(series("cronitor_agent_last_loop_timestamp_seconds"), started - 1);
}

TEST_F(UplinkE2E, KillNineDuringTheDrainLosesNothingAndKeepsEachRunInOrder) {
  HttpRecorder rec(kRecorder, dir_.string());
  write_config(rec, "  heartbeat: false\n");  // only the runs' requests are counted
  rec.set_mode("500");                        // the upstream is down while the runs happen: a backlog builds
  start();
  constexpr int kRuns = 600;
  const int64_t t = now_ms();
  for (int i = 0; i < kRuns; ++i) {
    const std::string key = "job" + std::to_string(i % 50);
    ASSERT_TRUE(
        cronitor::wrapper::send_to_agent(socket_, event(key, run_id(i), cronitor::RunState::kRun, t + i), 2000000));
    ASSERT_TRUE(cronitor::wrapper::send_to_agent(
        socket_, event(key, run_id(i), cronitor::RunState::kComplete, t + i + 1), 2000000));
  }
  auto ok_count = [&] {
    size_t n = 0;
    for (auto& r : rec.requests()) n += r["status"] == 200 && r["method"] == "GET";
    return n;
  };
  rec.set_mode("ok");
  ASSERT_TRUE(wait_until([&] { return ok_count() >= kRuns / 2; }, std::chrono::seconds(30))) << agent_.log();
  agent_.stop(SIGKILL);  // mid-drain
  const size_t before = ok_count();
  start();
  ASSERT_TRUE(wait_until(
      [&] {
        std::set<std::string> seen;
        for (auto& r : rec.requests())
          if (r["status"] == 200 && r["method"] == "GET") seen.insert(r["path"].get<std::string>());
        return seen.size() >= 2 * kRuns;
      },
      std::chrono::seconds(60)))
      << agent_.log();
  // Count per (run, state); check that no run's end arrived before its start.
  std::map<std::string, int> copies;
  std::map<std::string, double> first_end, last_start;
  for (auto& r : rec.requests()) {
    if (r["status"] != 200 || r["method"] != "GET") continue;
    const std::string p = r["path"];
    const auto s = p.find("series=");
    ASSERT_NE(s, std::string::npos) << p;
    const std::string run = p.substr(s + 7, 36);
    const bool start_event = p.find("state=run") != std::string::npos;
    ++copies[run + (start_event ? "/run" : "/end")];
    const double at = r["t"];
    if (start_event)
      last_start[run] = std::max(last_start[run], at);
    else if (!first_end.count(run) || at < first_end[run])
      first_end[run] = at;
  }
  int duplicated = 0;
  for (auto& [k, n] : copies) duplicated += n - 1;
  const int received = static_cast<int>(copies.size());
  const int lost = 2 * kRuns - received;
  std::printf("uplink kill -9 drain: sent %d received %d duplicated %d lost %d (%zu delivered before the kill)\n",
              2 * kRuns, received, duplicated, lost, before);
  EXPECT_EQ(lost, 0);
  EXPECT_LE(duplicated, 64) << "at most the requests in flight at the kill";
  for (auto& [run, end_at] : first_end) {
    ASSERT_TRUE(last_start.count(run)) << run;
    EXPECT_LE(last_start[run], end_at) << "run " << run << ": its end arrived before its start";
  }
}

}  // namespace
