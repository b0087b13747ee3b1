// The `mode:`, `uplink:` and `prometheus:` keys of agent.yaml: parsed, checked, errors at file:line.
#include <gtest/gtest.h>

#include "agent/config/config.h"

namespace cronitor::agent {
namespace {

TEST(UplinkConfig, TheIssuesExampleParses) {
  auto c = parse_config(R"(mode: both
uplink:
  cronitor:    {api_key: KEY, telemetry_url: "http://127.0.0.1:9/", api_url: "http://127.0.0.1:9/api",
                sync_monitors: true, environment: production}
  healthchecks: {ping_key: PKEY, ping_url: "https://hc-ping.com"}
  sentry:      {dsn: "https://PUBLIC_KEY@o1.ingest.sentry.io/123", environment: production}
  timeout: 5
  max_events: 1000
prometheus: {textfile: /var/lib/prometheus/node-exporter/cronitor.prom}
notify:
  am: [alertmanager:http://127.0.0.1:9093]
)",
                        "agent.yaml");
  ASSERT_TRUE(c) << format_errors(c.error());
  EXPECT_EQ(c->mode, "both");
  ASSERT_TRUE(c->uplink.cronitor);
  EXPECT_EQ(c->uplink.cronitor->api_key, "KEY");
  EXPECT_EQ(c->uplink.cronitor->telemetry_url, "http://127.0.0.1:9/");
  EXPECT_EQ(c->uplink.cronitor->environment, "production");
  ASSERT_TRUE(c->uplink.healthchecks);
  EXPECT_EQ(c->uplink.healthchecks->ping_key, "PKEY");
  ASSERT_TRUE(c->uplink.sentry);
  EXPECT_EQ(c->uplink.delivery.timeout, std::chrono::seconds(5));
  EXPECT_EQ(c->uplink.delivery.max_events, 1000);
  EXPECT_EQ(c->prometheus.textfile, "/var/lib/prometheus/node-exporter/cronitor.prom");
  EXPECT_EQ(c->notify["am"][0].kind, NotifyTarget::Kind::kAlertmanager);
  EXPECT_TRUE(c->holds_secrets());
}

TEST(UplinkConfig, MistakesAreNamedWithFileAndLine) {
  auto c = parse_config(R"(mode: sideways
uplink:
  cronitor: {telemetry_url: ftp://x}
  sentry: {dsn: "https://o1.ingest.sentry.io/123"}
  datadog: {}
prometheus: {listen: "127.0.0.1", textfile: relative.prom}
)",
                        "agent.yaml");
  ASSERT_FALSE(c);
  const std::string text = format_errors(c.error());
  for (const char* e :
       {"agent.yaml:1: mode: must be standalone, upstream or both",
        "agent.yaml:3: uplink.cronitor.telemetry_url: needs an http:// or https:// URL",
        "uplink.cronitor.api_key: missing",
        "agent.yaml:4: uplink.sentry.dsn:", "agent.yaml:5: uplink.datadog: unknown key",
        "agent.yaml:6: prometheus.listen: expected HOST:PORT", "prometheus.textfile: must be an absolute path"})
    EXPECT_NE(text.find(e), std::string::npos) << e << "\n" << text;
  EXPECT_EQ(text.find("o1.ingest"), std::string::npos) << "no DSN in errors? (it holds the key)";
}

TEST(UplinkConfig, ASlugOverridesTheOneMadeFromTheKey) {
  auto c = parse_config("monitors:\n  - key: nightly-db-backup\n    slug: db-backup\n", "agent.yaml");
  ASSERT_TRUE(c) << format_errors(c.error());
  ASSERT_EQ(c->monitors.size(), 1u);
  EXPECT_EQ(c->monitors[0].settings.slug, "db-backup");
  auto bad = parse_config("monitors:\n  - key: a\n    slug: \"DB Backup\"\n  - key: b\n    slug: \"\"\n", "agent.yaml");
  ASSERT_FALSE(bad);
  const std::string e = format_errors(bad.error());
  EXPECT_NE(e.find("agent.yaml:3: monitors"), std::string::npos) << e;
  EXPECT_NE(e.find("agent.yaml:5: monitors"), std::string::npos) << e;
  EXPECT_NE(e.find("slug: must be 1 to 50 characters of a-z, 0-9, '-' and '_'"), std::string::npos) << e;
  // In a crontab comment.
  auto o = parse_job_comment("# cronitor: slug=db_backup-2 name=\"DB backup\"");
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->slug, "db_backup-2");
  EXPECT_EQ(o->name, "DB backup");
  auto too_long = parse_job_comment("# cronitor: slug=" + std::string(51, 'a'));
  ASSERT_FALSE(too_long);
  EXPECT_NE(too_long.error().message.find("slug: must be 1 to 50"), std::string::npos);
  EXPECT_FALSE(parse_job_comment("# cronitor: slug=Caps"));
}

TEST(UplinkConfig, ListenAddressMustBeALiteralAddressAndPort) {
  for (const char* ok : {"127.0.0.1:9321", "localhost:9321", "0.0.0.0:1", "[::1]:9321", "[::]:65535"}) {
    auto c = parse_config(std::string("prometheus: {listen: \"") + ok + "\"}\n", "agent.yaml");
    ASSERT_TRUE(c) << ok << ": " << format_errors(c.error());
    EXPECT_EQ(c->prometheus.listen, ok);
  }
  const std::pair<const char*, const char*> bad[] = {
      {"prometheus.example.com:9321", "is not an IP address"},
      {"127.0.0.1:0", "port must be a number from 1 to 65535"},
      {"127.0.0.1:70000", "port must be a number from 1 to 65535"},
      {"127.0.0.1:93x", "port must be a number"},
      {"::1:9321", "an IPv6 address goes in brackets"},
      {"[::1]9321", "expected [IPV6]:PORT"},
  };
  for (const auto& [text, why] : bad) {
    auto c = parse_config(std::string("mode: standalone\nprometheus:\n  listen: \"") + text + "\"\n", "agent.yaml");
    ASSERT_FALSE(c) << text;
    const std::string e = format_errors(c.error());
    EXPECT_NE(e.find("agent.yaml:3: prometheus.listen: "), std::string::npos) << e;
    EXPECT_NE(e.find(why), std::string::npos) << text << ": " << e;
  }
}

// Issue 17 item 7: the agent's own heartbeat is on whenever an upstream is set; it can be named,
// timed or turned off, and a value no upstream could judge is refused at agent.yaml:line.
TEST(UplinkConfig, TheHeartbeatIsOnByDefaultAndCanBeNamedTimedOrTurnedOff) {
  auto d = parse_config("uplink:\n  cronitor: {api_key: K}\n", "agent.yaml");
  ASSERT_TRUE(d) << format_errors(d.error());
  EXPECT_TRUE(d->uplink.heartbeat.enabled);
  EXPECT_TRUE(d->uplink.heartbeat.key.empty()) << "from the host name";
  EXPECT_EQ(d->uplink.heartbeat.interval, std::chrono::seconds(60));
  EXPECT_EQ(d->uplink.heartbeat.grace, std::chrono::seconds(120));
  auto off = parse_config("uplink:\n  cronitor: {api_key: K}\n  heartbeat: false\n", "agent.yaml");
  ASSERT_TRUE(off) << format_errors(off.error());
  EXPECT_FALSE(off->uplink.heartbeat.enabled);
  auto set = parse_config("uplink:\n  heartbeat: {key: edge-7, interval: 5m, grace: 10 minutes}\n", "agent.yaml");
  ASSERT_TRUE(set) << format_errors(set.error());
  EXPECT_TRUE(set->uplink.heartbeat.enabled);
  EXPECT_EQ(set->uplink.heartbeat.key, "edge-7");
  EXPECT_EQ(set->uplink.heartbeat.interval, std::chrono::minutes(5));
  EXPECT_EQ(set->uplink.heartbeat.grace, std::chrono::minutes(10));
  auto bad = parse_config(R"(uplink:
  heartbeat:
    key: "Edge 7"
    interval: 90s
    grace: 10s
    every: 1m
)",
                          "agent.yaml");
  ASSERT_FALSE(bad);
  const std::string e = format_errors(bad.error());
  for (const char* why : {"agent.yaml:3: uplink.heartbeat.key: must be 1 to 50 of a-z, 0-9",
                          "agent.yaml:4: uplink.heartbeat.interval: must be whole minutes",
                          "agent.yaml:5: uplink.heartbeat.grace:", "agent.yaml:6: uplink.heartbeat.every: unknown key"})
    EXPECT_NE(e.find(why), std::string::npos) << why << "\n" << e;
}

}  // namespace
}  // namespace cronitor::agent

namespace cronitor::agent {
namespace {

// Issue 19: the Healthchecks Management API key is the project's read-write key of 32
// characters (the server answers 401 to any other length): said at load, without the key.
TEST(UplinkConfig, AHealthchecksApiKeyIsTheProjects32CharacterReadWriteKey) {
  auto ok = parse_config(R"(uplink:
  healthchecks: {ping_key: pk1, api_key: hcw_0123456789abcdefghijklmnopqr, api_url: "https://hc.example.org"}
)",
                         "agent.yaml");
  ASSERT_TRUE(ok) << format_errors(ok.error());
  EXPECT_EQ(ok->uplink.healthchecks->api_key, "hcw_0123456789abcdefghijklmnopqr");
  EXPECT_EQ(ok->uplink.healthchecks->api_url, "https://hc.example.org");
  for (const char* bad : {"short-secret-key", "hcr_0123456789abcdefghijklmnopqr"}) {
    auto c =
        parse_config(std::string("uplink:\n  healthchecks: {ping_key: pk1, api_key: ") + bad + "}\n", "agent.yaml");
    ASSERT_FALSE(c) << bad;
    const std::string text = format_errors(c.error());
    EXPECT_NE(text.find("agent.yaml:2: uplink.healthchecks.api_key: expected the project's read-write API key"),
              std::string::npos)
        << text;
    EXPECT_EQ(text.find(bad), std::string::npos) << "the key is not in the error: " << text;
  }
}

}  // namespace
}  // namespace cronitor::agent
