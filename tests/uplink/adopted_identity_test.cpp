// A job adopted from an upstream's own tool (`wrap --adopt`, issue 19) reports to the same check
// it did before: Cronitor's monitor key, a Healthchecks check by UUID or by its slug, Sentry's
// monitor slug; each only for its own upstream. Also what the `# cronitor:` comment accepts.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "agent/config/config.h"
#include "uplink/upstream.h"

namespace cronitor::uplink {
namespace {

constexpr const char* kUuid = "5f0c7e2a-8d3b-4c1e-9a4f-0b6d2e8c1a37";

Telemetry run(Telemetry::State s) {
  Telemetry t;
  t.key = "1a2b3c4d5e6f";  // the agent's own key for the job
  t.run_id = "0c5a1b8e-2f7d-4b1e-9a51-7d6c1f0e9a42";
  t.state = s;
  t.host = "db1";
  if (s != Telemetry::State::kRun) t.exit_code = 0;
  return t;
}

MonitorInfo adopted() {
  MonitorInfo m;
  m.key = "1a2b3c4d5e6f";
  m.name = "backup";
  m.schedule = "30 2 * * *";
  return m;
}

TEST(AdoptedIdentity, HealthchecksPingsTheSameCheck) {
  HealthchecksSettings s;
  s.ping_key = "pk_abc";
  s.ping_url = "http://127.0.0.1:1/";
  s.create = true;
  auto up = make_healthchecks(s);
  MonitorInfo m = adopted();
  m.healthchecks_uuid = kUuid;
  m.slug = "ignored-for-a-uuid";
  EXPECT_EQ(up->telemetry(run(Telemetry::State::kRun), &m).url,
            std::string("http://127.0.0.1:1/") + kUuid + "/start?rid=0c5a1b8e-2f7d-4b1e-9a51-7d6c1f0e9a42");
  EXPECT_EQ(up->telemetry(run(Telemetry::State::kComplete), &m).url,
            std::string("http://127.0.0.1:1/") + kUuid + "/0?rid=0c5a1b8e-2f7d-4b1e-9a51-7d6c1f0e9a42");
  MonitorInfo bys = adopted();
  bys.healthchecks_slug = "db-dump";
  bys.sentry_slug = "not-for-healthchecks";
  EXPECT_EQ(up->telemetry(run(Telemetry::State::kRun), &bys).url,
            "http://127.0.0.1:1/pk_abc/db-dump/start?rid=0c5a1b8e-2f7d-4b1e-9a51-7d6c1f0e9a42&create=1");
  // Queued rows keep it (the outbox stores the monitor as JSON).
  auto back = monitor_from_json(to_json(m));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->healthchecks_uuid, kUuid);
}

TEST(AdoptedIdentity, CronitorTelemetryGoesToTheMonitorKeyAndItsSettingsStayTheOwners) {
  CronitorSettings s;
  s.api_key = "APIKEY";
  s.telemetry_url = "http://127.0.0.1:1";
  s.api_url = "http://127.0.0.1:1/api";
  auto up = make_cronitor(s);
  MonitorInfo m = adopted();
  m.cronitor_key = "d3x0c1";
  EXPECT_TRUE(up->telemetry(run(Telemetry::State::kRun), &m).url.starts_with("http://127.0.0.1:1/p/APIKEY/d3x0c1?"));
  EXPECT_TRUE(up->telemetry(run(Telemetry::State::kRun), nullptr).url.starts_with("http://127.0.0.1:1/p/APIKEY/1a2b"));
  MonitorInfo other = adopted();
  other.key = "other";
  auto sync = up->sync({m, other});
  ASSERT_TRUE(sync);
  const auto body = nlohmann::json::parse(sync->body);
  ASSERT_EQ(body.size(), 1u);
  EXPECT_EQ(body[0]["key"], "other");
}

TEST(AdoptedIdentity, SentryChecksInToTheSameMonitor) {
  SentrySettings s;
  s.dsn = "http://PUB@127.0.0.1:1/42";
  auto up = make_sentry(s);
  ASSERT_TRUE(up);
  MonitorInfo m = adopted();
  m.sentry_slug = "weekly-report";
  m.slug = "for-healthchecks";
  EXPECT_EQ((*up)->telemetry(run(Telemetry::State::kRun), &m).url, "http://127.0.0.1:1/api/42/cron/weekly-report/PUB/");
}

TEST(AdoptedIdentity, TheCommentCarriesIt) {
  auto o = agent::parse_job_comment(std::string("# cronitor: grace=10m adopted=runitor healthchecks_uuid=") + kUuid +
                                    " original=\"runitor -uuid " + kUuid + " -- backup.sh\"");
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->healthchecks_uuid, kUuid);
  EXPECT_EQ(o->grace, std::chrono::seconds(600));
  o = agent::parse_job_comment(
      "# cronitor: adopted=sentry-cli sentry_slug=weekly-report environment=staging original=\"x\"");
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->sentry_slug, "weekly-report");
  EXPECT_EQ(o->environment, "staging");
  o = agent::parse_job_comment("# cronitor: cronitor_key=d3x0c1 healthchecks_slug=db-dump");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->cronitor_key, "d3x0c1");
  EXPECT_EQ(o->healthchecks_slug, "db-dump");
  EXPECT_FALSE(agent::parse_job_comment("# cronitor: healthchecks_uuid=not-a-uuid"));
  EXPECT_FALSE(agent::parse_job_comment("# cronitor: cronitor_key=a/b"));
  EXPECT_FALSE(agent::parse_job_comment("# cronitor: sentry_slug=UPPER"));
}

}  // namespace
}  // namespace cronitor::uplink
