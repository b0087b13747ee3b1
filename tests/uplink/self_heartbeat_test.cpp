// The agent's own heartbeat (issue 17 item 7, uplink.heartbeat) in each upstream's format: a
// monitor named after the host with a schedule the upstream judges silence by, and the liveness
// series for Prometheus. Time is an input: the beat's time is given.
#include "uplink/self_heartbeat.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "tests/support/sentry_rules.h"
#include "uplink/prometheus.h"
#include "uplink/upstream.h"

namespace cronitor::uplink {
namespace {

using nlohmann::json;

constexpr int64_t kNowMs = 1764460800123;  // 2025-11-30T00:00:00.123Z

TEST(SelfHeartbeat, TheKeyIsTheHostsUnlessOneIsConfigured) {
  HeartbeatSettings s;
  EXPECT_EQ(heartbeat_key(s, "db1"), "cronitor-agent-db1");
  EXPECT_EQ(heartbeat_key(s, "DB1.example.com"), "cronitor-agent-db1-example-com") << "a slug every upstream takes";
  const std::string long_key = heartbeat_key(s, std::string(60, 'a') + ".b");
  EXPECT_EQ(long_key.size(), 50u) << "Sentry's slug limit";
  EXPECT_TRUE(valid_slug(long_key));
  EXPECT_TRUE(valid_slug(heartbeat_key(s, "host-" + std::string(30, 'x') + ".-.-.-.-.-.-")));
  s.key = "edge-7";
  EXPECT_EQ(heartbeat_key(s, "db1"), "edge-7");
}

TEST(SelfHeartbeat, TheMonitorIsAHeartbeatWithItsIntervalAndGrace) {
  HeartbeatSettings s;
  MonitorInfo m = heartbeat_monitor(s, "db1");
  EXPECT_EQ(m.key, "cronitor-agent-db1");
  EXPECT_EQ(m.type, "heartbeat");
  EXPECT_EQ(m.schedule, "every 1 minute");
  EXPECT_EQ(m.grace_seconds, 120);
  EXPECT_TRUE(m.timezone.empty());
  s.interval = std::chrono::minutes(5);
  s.grace = std::chrono::minutes(10);
  m = heartbeat_monitor(s, "db1");
  EXPECT_EQ(m.schedule, "every 5 minutes");
  EXPECT_EQ(m.grace_seconds, 600);
  const Telemetry t = heartbeat_beat(s, "db1", kNowMs);
  EXPECT_EQ(t.key, m.key);
  EXPECT_EQ(t.state, Telemetry::State::kComplete);
  EXPECT_TRUE(t.run_id.empty()) << "one check-in, not a run's start and end";
  EXPECT_EQ(t.ts_ms, kNowMs);
}

TEST(SelfHeartbeat, CronitorGetsACompletePingAndAHeartbeatMonitor) {
  CronitorSettings cs;
  cs.api_key = "KEY";
  auto up = make_cronitor(cs);
  const HeartbeatSettings s;
  const MonitorInfo m = heartbeat_monitor(s, "db1");
  const HttpRequest r = up->telemetry(heartbeat_beat(s, "db1", kNowMs), &m);
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.url, "https://cronitor.link/p/KEY/cronitor-agent-db1?state=complete&host=db1&stamp=1764460800.123");
  auto put = up->sync({m});
  ASSERT_TRUE(put);
  const json list = json::parse(put->body);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["key"], "cronitor-agent-db1");
  EXPECT_EQ(list[0]["type"], "heartbeat");
  EXPECT_EQ(list[0]["schedule"], "every 1 minute");
  EXPECT_EQ(list[0]["grace_seconds"], 120);
  EXPECT_EQ(list[0]["notify"], json::array({"default"})) << "Cronitor's default list, never none";
  EXPECT_FALSE(list[0].contains("timezone"));
}

TEST(SelfHeartbeat, HealthchecksGetsAPlainSuccessPingOfTheSlug) {
  HealthchecksSettings hs;
  hs.ping_key = "PKEY";
  const HeartbeatSettings s;
  const MonitorInfo m = heartbeat_monitor(s, "db1");
  HttpRequest r = make_healthchecks(hs)->telemetry(heartbeat_beat(s, "db1", kNowMs), &m);
  // Not /0 with a body nor /fail (a complete without an exit code): the success signal itself.
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.url, "https://hc-ping.com/PKEY/cronitor-agent-db1");
  EXPECT_TRUE(r.body.empty());
  hs.create = true;  // the jobs' rule: provisioned by the ping only when asked for
  r = make_healthchecks(hs)->telemetry(heartbeat_beat(s, "db1", kNowMs), &m);
  EXPECT_EQ(r.url, "https://hc-ping.com/PKEY/cronitor-agent-db1?create=1");
}

TEST(SelfHeartbeat, SentryGetsOneOkCheckInWithAnIntervalConfigItTakes) {
  SentrySettings ss;
  ss.dsn = "https://pub@o1.ingest.sentry.io/77";
  auto up = make_sentry(ss);
  ASSERT_TRUE(up);
  HeartbeatSettings s;
  s.grace = std::chrono::seconds(150);
  const MonitorInfo m = heartbeat_monitor(s, "db1");
  const HttpRequest r = (*up)->telemetry(heartbeat_beat(s, "db1", kNowMs), &m);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "https://o1.ingest.sentry.io/api/77/cron/cronitor-agent-db1/pub/");
  const json body = json::parse(r.body);
  EXPECT_EQ(body["status"], "ok");
  EXPECT_FALSE(body.contains("check_in_id")) << "a heartbeat: no in_progress to close";
  ASSERT_TRUE(body.contains("monitor_config")) << body.dump();
  EXPECT_EQ(body["monitor_config"]["schedule"], json({{"type", "interval"}, {"value", 1}, {"unit", "minute"}}));
  EXPECT_EQ(body["monitor_config"]["checkin_margin"], 3) << "150 s of grace: 3 whole minutes";
  EXPECT_FALSE(body["monitor_config"].contains("max_runtime"));
  for (const auto& why : cronitor::testing::sentry_refuses(body)) ADD_FAILURE() << "Sentry refuses: " << why;
}

TEST(SelfHeartbeat, PrometheusShowsTheStartTimeAndTheLoopsLastStamp) {
  AgentMetrics a;
  a.written_s = 1764460900;
  a.start_s = 1764460000.25;
  a.last_loop_s = 1764460860;
  const std::string text = render_metrics({}, a);
  EXPECT_NE(text.find("# TYPE cronitor_agent_start_time_seconds gauge\ncronitor_agent_start_time_seconds "
                      "1764460000.25\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE cronitor_agent_last_loop_timestamp_seconds gauge\n"
                      "cronitor_agent_last_loop_timestamp_seconds 1764460860\n"),
            std::string::npos)
      << text;
  const char* promtool = "/usr/bin/promtool";
  if (::access(promtool, X_OK) != 0) GTEST_SKIP() << promtool << " is not installed (Debian: prometheus)";
  char path[] = "/tmp/promtool_livenessXXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fd);
  const std::string cmd = std::string(promtool) + " check metrics < " + path + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[512];
  while (p && std::fgets(buf, sizeof buf, p)) out += buf;
  const int status = p ? ::pclose(p) : -1;
  ::unlink(path);
  EXPECT_EQ(status, 0) << out;
}

}  // namespace
}  // namespace cronitor::uplink
