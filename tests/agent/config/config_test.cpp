#include "agent/config/config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <map>

#include "agent/config/yaml_errors.h"

namespace cronitor::agent {
namespace {

constexpr const char* kIssueExample = R"(mode: standalone
state_dir: /var/lib/cronitor-agent
socket: /run/cronitor-agent/agent.sock
spool_dir: /var/spool/cronitor-agent
discovery: {root: /, crontabs: true, systemd: true, auto_wrap: true}
defaults:
  grace_seconds: 60
  failure_tolerance: 0
  schedule_tolerance: 0
  consecutive_alert_threshold: 10
  realert_interval: 8 hours
  notify: [default]
notify:
  default: ["slack:https://hooks.slack.com/services/T/B/X", "webhook:https://example.com/hook"]
  oncall: ["pagerduty:abc123", "email:ops@example.com", "discord:https://discord.com/api/webhooks/1/x", "teams:https://example.webhook.office.com/x"]
monitors:
  - key: nightly-billing
    schedule: "0 2 * * *"
    timezone: Europe/Berlin
    grace_seconds: 300
    assertions: ["metric.duration < 30 minutes", "metric.duration > 5 seconds", "metric.count > 0"]
    notify: [default]
    environment: production
)";

TEST(Config, ParsesTheIssueExample) {
  auto c = parse_config(kIssueExample, "agent.yaml");
  ASSERT_TRUE(c.has_value()) << format_errors(c.error());
  EXPECT_EQ(c->mode, "standalone");
  EXPECT_EQ(c->defaults.realert_interval, std::chrono::hours(8));
  EXPECT_EQ(c->notify.at("default").size(), 2u);
  EXPECT_EQ(c->notify.at("default")[0].kind, NotifyTarget::Kind::kSlack);
  EXPECT_EQ(c->notify.at("oncall")[0].kind, NotifyTarget::Kind::kPagerDuty);
  ASSERT_EQ(c->monitors.size(), 1u);
  const auto& m = c->monitors[0];
  EXPECT_EQ(m.key, "nightly-billing");
  EXPECT_EQ(m.line, 17);
  EXPECT_EQ(m.settings.grace, std::chrono::seconds(300));
  EXPECT_EQ(m.settings.assertions->size(), 3u);
  EXPECT_EQ(m.settings.environment, "production");
}

TEST(Config, ErrorsNameFileLineAndKey) {
  const char* text = R"(mode: standalone
defaults:
  grace_secs: 60
  failure_tolerance: lots
monitors:
  - key: a
    schedule: "61 * * * *"
    timezone: Mars/Olympus
    notify: [nowhere]
  - name: no-key
color: blue
)";
  auto c = parse_config(text, "/etc/cronitor/agent.yaml");
  ASSERT_FALSE(c.has_value());
  std::string all = format_errors(c.error());
  EXPECT_NE(all.find("/etc/cronitor/agent.yaml:3: defaults.grace_secs: unknown key"), std::string::npos) << all;
  EXPECT_NE(all.find("/etc/cronitor/agent.yaml:4: defaults.failure_tolerance: \"lots\": expected a number of "
                     "consecutive failures, or \"K of N\""),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("/etc/cronitor/agent.yaml:7: monitors[0].schedule: bad schedule"), std::string::npos) << all;
  EXPECT_NE(all.find("/etc/cronitor/agent.yaml:8: monitors[0].timezone: unknown time zone"), std::string::npos) << all;
  EXPECT_NE(all.find("monitors[0].notify: no notify list named \"nowhere\""), std::string::npos) << all;
  EXPECT_NE(all.find("monitors[1].key: missing"), std::string::npos) << all;
  EXPECT_NE(all.find("/etc/cronitor/agent.yaml:11: color: unknown key"), std::string::npos) << all;
}

TEST(Config, SyntaxErrorHasLine) {
  auto c = parse_config("mode: standalone\nnotify: [unclosed\n", "x.yaml");
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error()[0].file, "x.yaml");
  EXPECT_GT(c.error()[0].line, 0);
}

TEST(Config, BadNotifyTargets) {
  auto c = parse_config("notify:\n  default: [\"slack:ftp://x\", \"sms:123\", \"email:not-an-address\"]\n", "n.yaml");
  ASSERT_FALSE(c.has_value());
  ASSERT_EQ(c.error().size(), 3u);
  EXPECT_EQ(c.error()[0].line, 2);
}

TEST(Config, ErrorsNeverShowAWebhookPathOrKey) {
  // A Slack URL is its own token, a PagerDuty routing key is one: errors end up in the journal.
  auto c = parse_config(
      "notify:\n  default: [\"slack:hooks.slack.com/services/T0/B0/SECRETTOKEN\", "
      "\"https://hooks.slack.com/services/T1/B1/SECRETTOKEN\", \"pager:SECRETKEY\", \"SECRETALONE\"]\n",
      "n.yaml");
  ASSERT_FALSE(c.has_value());
  ASSERT_EQ(c.error().size(), 4u);
  const std::string text = format_errors(c.error());
  EXPECT_EQ(text.find("SECRET"), std::string::npos) << text;
  EXPECT_NE(text.find("\"https://hooks.slack.com/...\""), std::string::npos) << text;  // enough to find it
  EXPECT_NE(text.find("n.yaml:2"), std::string::npos) << text;
}

TEST(Config, ReadableConfigWithSecretsIsWarnedAbout) {
  const std::string path = ::testing::TempDir() + "/secret-agent.yaml";
  auto write = [&](const std::string& text, mode_t mode) {
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
  };
  write("notify:\n  default: [\"slack:https://hooks.slack.com/services/T/B/X\"]\n", 0644);
  auto loose = load_config(path);
  ASSERT_TRUE(loose) << format_errors(loose.error());
  ASSERT_EQ(loose->warnings.size(), 1u);
  EXPECT_NE(loose->warnings[0].find("mode 0644): chmod 600 " + path), std::string::npos) << loose->warnings[0];
  ::chmod(path.c_str(), 0600);
  EXPECT_TRUE(load_config(path)->warnings.empty());
  // Inline targets in a monitor count too; email addresses alone are no secret.
  write("monitors:\n  - key: a\n    notify: [\"pagerduty:k\"]\n", 0640);
  EXPECT_EQ(load_config(path)->warnings.size(), 1u);
  write("notify:\n  default: [\"email:ops@example.com\"]\n", 0644);
  EXPECT_TRUE(load_config(path)->warnings.empty());
  std::remove(path.c_str());
}

TEST(Config, EmbeddedDefaultIsValid) {
  auto c = parse_config(embedded_default_config(), "<built-in>");
  ASSERT_TRUE(c.has_value()) << format_errors(c.error());
  EXPECT_EQ(c->state_dir, "/var/lib/cronitor-agent");
  EXPECT_EQ(c->retention.runs, 1000);
  EXPECT_EQ(c->retention.days, 90);
}

TEST(Config, ShippedFileMatchesEmbedded) {
  std::ifstream in(CRONITOR_SOURCE_DIR "/etc/agent.yaml");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, embedded_default_config());
}

TEST(Config, MissingFileIsAnError) {
  auto c = load_config("/nonexistent/agent.yaml");
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error()[0].text().find("/nonexistent/agent.yaml"), std::string::npos);
}

TEST(JobComment, ParsesSettings) {
  auto o = parse_job_comment("# cronitor: grace=10m failure_tolerance=2 notify=oncall,default");
  ASSERT_TRUE(o.has_value()) << o.error().message;
  EXPECT_EQ(o->grace, std::chrono::seconds(600));
  EXPECT_EQ(o->failure_tolerance, 2);
  EXPECT_EQ(o->notify, (std::vector<std::string>{"oncall", "default"}));
  auto q = parse_job_comment("#cronitor: assertion=\"metric.duration < 5 minutes\" schedule_tolerance=1");
  ASSERT_TRUE(q.has_value()) << q.error().message;
  EXPECT_EQ(q->assertions->size(), 1u);
  EXPECT_EQ(q->schedule_tolerance, 1);
}

TEST(JobComment, OtherCommentsAreNotSettings) {
  auto o = parse_job_comment("# nightly backup of the billing db");
  ASSERT_TRUE(o.has_value());
  EXPECT_FALSE(o->grace);
}

TEST(JobComment, ErrorsSayWhat) {
  auto o = parse_job_comment("# cronitor: grace=soon");
  ASSERT_FALSE(o.has_value());
  EXPECT_NE(o.error().message.find("grace"), std::string::npos);
  EXPECT_FALSE(parse_job_comment("# cronitor: colour=blue"));
  EXPECT_FALSE(parse_job_comment("# cronitor: failure_tolerance=x"));
}

TEST(MonitorOverrides, MergeLaterWins) {
  MonitorOverrides a, b;
  a.grace = std::chrono::seconds(5);
  a.failure_tolerance = 1;
  b.grace = std::chrono::seconds(9);
  a.merge(b);
  EXPECT_EQ(a.grace, std::chrono::seconds(9));
  EXPECT_EQ(a.failure_tolerance, 1);
}

TEST(Config, AlertOnDowntimeIsADefaultsSwitch) {
  auto on = parse_config("defaults:\n  grace_seconds: 60\n", "a.yaml");
  ASSERT_TRUE(on.has_value());
  EXPECT_TRUE(on->defaults.alert_on_downtime);
  auto off = parse_config("defaults:\n  alert_on_downtime: false\n", "a.yaml");
  ASSERT_TRUE(off.has_value());
  EXPECT_FALSE(off->defaults.alert_on_downtime);
  auto bad = parse_config("defaults:\n  alert_on_downtime: sometimes\n", "a.yaml");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error()[0].file, "a.yaml");
  EXPECT_EQ(bad.error()[0].line, 2);
  EXPECT_EQ(bad.error()[0].key, "defaults.alert_on_downtime");
}

// The dashboard shows every user's commands and output: another host reaching it is a choice.
TEST(Config, DashboardOnANonLoopbackAddressNeedsAllowRemote) {
  auto local = parse_config("dashboard: {listen: \"127.0.0.1:9322\"}\n", "d.yaml");
  ASSERT_TRUE(local) << format_errors(local.error());
  EXPECT_EQ(local->dashboard.listen, "127.0.0.1:9322");
  EXPECT_TRUE(parse_config("dashboard: {listen: \"[::1]:9322\"}\n", "d.yaml"));
  for (const char* addr : {"0.0.0.0:9322", "[::]:9322", "192.0.2.7:9322"}) {
    auto refused = parse_config(std::string("dashboard:\n  listen: \"") + addr + "\"\n", "d.yaml");
    ASSERT_FALSE(refused) << addr;
    EXPECT_EQ(refused.error()[0].key, "dashboard.listen");
    EXPECT_EQ(refused.error()[0].line, 2);
    EXPECT_NE(refused.error()[0].message.find("dashboard.allow_remote: true"), std::string::npos);
  }
  auto remote = parse_config("dashboard: {listen: \"0.0.0.0:9322\", allow_remote: true}\n", "d.yaml");
  ASSERT_TRUE(remote) << format_errors(remote.error());
  EXPECT_EQ(remote->dashboard.listen, "0.0.0.0:9322");
  EXPECT_TRUE(remote->dashboard.allow_remote);
  EXPECT_FALSE(parse_config("dashboard: {listen: \"127.0.0.1:9322\", allow_remote: maybe}\n", "d.yaml"));
}

// One collector for the whole document (agent/config/yaml_errors.h): the top level's sections
// (config.cpp), uplink, prometheus and dashboard (config_uplink.cpp, which had a collector of its
// own) and yaml-cpp's syntax errors all report the file, line and column of the value at fault.
TEST(Config, EverySectionReportsFileLineAndColumnThroughTheOneCollector) {
  const char* text = R"(mode: standalone
discovery:
  crontabs: maybe
defaults:
  recovery_threshold: 0
retention: {runs: 0}
notify:
  default: ["sms:1"]
monitors:
  - key: a
    paused: perhaps
uplink:
  timeout: never
prometheus:
  user_jobs: some
dashboard:
  allow_remote: often
)";
  auto c = parse_config(text, "/etc/cronitor/agent.yaml");
  ASSERT_FALSE(c.has_value());
  std::map<std::string, std::pair<int, int>> where;  // key -> (line, column)
  for (const auto& e : c.error()) {
    EXPECT_EQ(e.file, "/etc/cronitor/agent.yaml") << e.text();
    where[e.key] = {e.line, e.column};
  }
  const std::map<std::string, std::pair<int, int>> want = {
      {"discovery.crontabs", {3, 13}},    {"defaults.recovery_threshold", {5, 23}}, {"retention.runs", {6, 19}},
      {"notify.default", {8, 13}},        {"monitors[0].paused", {11, 13}},         {"uplink.timeout", {13, 12}},
      {"prometheus.user_jobs", {15, 14}}, {"dashboard.allow_remote", {17, 17}},
  };
  EXPECT_EQ(where, want) << format_errors(c.error());
  // The text names the file and line, as before.
  EXPECT_NE(format_errors(c.error()).find("/etc/cronitor/agent.yaml:13: uplink.timeout: "), std::string::npos);

  auto syntax = parse_config("mode: standalone\nnotify: [unclosed\n", "x.yaml");
  ASSERT_FALSE(syntax.has_value());
  ASSERT_EQ(syntax.error().size(), 1u);
  EXPECT_EQ(syntax.error()[0].file, "x.yaml");
  EXPECT_EQ(syntax.error()[0].line, 3);
  EXPECT_GT(syntax.error()[0].column, 0);
}

TEST(YamlErrors, AnUndefinedNodeGivesTheFileAlone) {
  YamlErrors errors("a.yaml");
  const YAML::Node doc = YAML::Load("a:\n  b: 1\n");
  errors.add(doc["a"]["b"], "a.b", "too small");
  errors.add(doc["a"]["missing"], "a.missing", "missing");
  ASSERT_EQ(errors.list().size(), 2u);
  EXPECT_EQ(errors.list()[0].text(), "a.yaml:2: a.b: too small");
  EXPECT_EQ(errors.list()[0].column, 6);
  EXPECT_EQ(errors.list()[1].text(), "a.yaml: a.missing: missing");
  EXPECT_EQ(errors.take().size(), 2u);
  EXPECT_TRUE(errors.empty());
}

}  // namespace
}  // namespace cronitor::agent
