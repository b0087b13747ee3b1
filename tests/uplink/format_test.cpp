// The upstream formats as each service documents them: Cronitor telemetry and monitor PUT,
// Healthchecks slug pings, Sentry check-ins from the DSN, Alertmanager alerts.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <vector>

#include "uplink/alertmanager.h"
#include "uplink/prometheus.h"
#include "uplink/upstream.h"

namespace cronitor::uplink {
namespace {

using nlohmann::json;

Telemetry oom_failure() {
  Telemetry t;
  t.key = "nightly backup";
  t.run_id = "0c5a1b8e-2f7d-4b1e-9a51-7d6c1f0e9a42";
  t.state = Telemetry::State::kFail;
  t.ts_ms = 1764460800123;  // 2025-11-30T00:00:00.123Z
  t.host = "db1";
  t.exit_code = 137;
  t.signal = "SIGKILL";
  t.oom = true;
  t.duration_ms = 61500;
  t.output_tail = "copying...\n";
  t.metrics = {{"count", 12}, {"error_count", 1}};
  return t;
}

MonitorInfo backup_monitor() {
  MonitorInfo m;
  m.key = "nightly backup";
  m.name = "Nightly backup";
  m.schedule = "30 2 * * *";
  m.timezone = "Europe/Berlin";
  m.grace_seconds = 90;
  m.failure_tolerance = 2;
  m.recovery_threshold = 3;
  m.max_runtime_seconds = 3600;
  m.assertions = {"metric.duration < 1h"};
  m.notify = {"oncall"};
  m.note = "cronitor-agent on db1, defined in /etc/cron.d/backup:3";
  return m;
}

TEST(CronitorFormat, TelemetryGetCarriesEveryDocumentedParameter) {
  CronitorSettings s;
  s.api_key = "KEY123456";
  s.telemetry_url = "http://127.0.0.1:1/";
  s.environment = "production";
  auto up = make_cronitor(s);
  auto r = up->telemetry(oom_failure(), nullptr);
  EXPECT_EQ(r.method, "GET");
  EXPECT_TRUE(r.url.starts_with("http://127.0.0.1:1/p/KEY123456/nightly%20backup?state=fail&")) << r.url;
  for (const char* part :
       {"&series=0c5a1b8e-2f7d-4b1e-9a51-7d6c1f0e9a42", "&host=db1", "&env=production", "&status_code=137",
        "&duration=61.500", "&metric=count%3A12", "&metric=error_count%3A1", "&stamp=1764460800.123", "OOM"})
    EXPECT_NE(r.url.find(part), std::string::npos) << part << " in " << r.url;
  // The message is bounded: a huge output keeps its end only.
  Telemetry big = oom_failure();
  big.output_tail = std::string(5000, 'x') + "END";
  auto r2 = up->telemetry(big, nullptr);
  const auto msg = r2.url.substr(r2.url.find("&message=") + 9);
  EXPECT_LE(msg.size(), 1000u * 3);
  EXPECT_NE(msg.find("END"), std::string::npos);
}

TEST(CronitorFormat, RunStartHasNoExitCodeAndTheSameSeries) {
  CronitorSettings s;
  s.api_key = "KEY123456";
  auto up = make_cronitor(s);
  Telemetry t = oom_failure();
  t.state = Telemetry::State::kRun;
  t.exit_code.reset();
  t.duration_ms.reset();
  t.signal.clear();
  t.oom = false;
  t.metrics.clear();
  auto r = up->telemetry(t, nullptr);
  EXPECT_TRUE(r.url.starts_with("https://cronitor.link/p/KEY123456/nightly%20backup?state=run&series=0c5a1b8e"));
  EXPECT_EQ(r.url.find("status_code"), std::string::npos);
}

TEST(CronitorFormat, MonitorSyncIsAPutOfAJobArrayWithBasicAuth) {
  CronitorSettings s;
  s.api_key = "KEY123456";
  s.api_url = "http://127.0.0.1:1/api";
  auto r = make_cronitor(s)->sync({backup_monitor()});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->method, "PUT");
  EXPECT_EQ(r->url, "http://127.0.0.1:1/api/monitors");
  EXPECT_EQ(r->userpwd, "KEY123456:");
  auto j = json::parse(r->body);
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["key"], "nightly backup");
  EXPECT_EQ(j[0]["type"], "job");
  EXPECT_EQ(j[0]["schedule"], "30 2 * * *");
  EXPECT_EQ(j[0]["timezone"], "Europe/Berlin");
  EXPECT_EQ(j[0]["grace_seconds"], 90);
  EXPECT_EQ(j[0]["failure_tolerance"], 2);
  EXPECT_EQ(j[0]["assertions"][0], "metric.duration < 1h");
  EXPECT_EQ(j[0]["notify"][0], "oncall");
  EXPECT_NE(j[0]["note"].get<std::string>().find("/etc/cron.d/backup:3"), std::string::npos);
}

TEST(HealthchecksFormat, SlugPingsWithRunIdExitCodeAndBody) {
  HealthchecksSettings s;
  s.ping_key = "pk_abc";
  s.ping_url = "http://127.0.0.1:1";
  s.body_limit = 20;
  s.create = true;
  auto up = make_healthchecks(s);
  Telemetry start = oom_failure();
  start.state = Telemetry::State::kRun;
  auto r = up->telemetry(start, nullptr);
  EXPECT_EQ(r.url, "http://127.0.0.1:1/pk_abc/nightly-backup/start?rid=0c5a1b8e-2f7d-4b1e-9a51-7d6c1f0e9a42&create=1");
  auto f = up->telemetry(oom_failure(), nullptr);
  EXPECT_EQ(f.method, "POST");
  EXPECT_EQ(f.url, "http://127.0.0.1:1/pk_abc/nightly-backup/137?rid=0c5a1b8e-2f7d-4b1e-9a51-7d6c1f0e9a42&create=1");
  EXPECT_EQ(f.body.size(), 20u);  // the tail, bounded like runitor's
  EXPECT_TRUE(f.body.ends_with("copying...\n"));
  Telemetry ok = oom_failure();
  ok.state = Telemetry::State::kComplete;
  ok.exit_code = 0;
  EXPECT_NE(up->telemetry(ok, nullptr).url.find("/nightly-backup/0?"), std::string::npos);
  Telemetry fault;  // a host-side fault: no exit code, no run
  fault.key = "nightly backup";
  fault.state = Telemetry::State::kFail;
  fault.message = "cron daemon is down";
  auto ff = up->telemetry(fault, nullptr);
  EXPECT_EQ(ff.url, "http://127.0.0.1:1/pk_abc/nightly-backup/fail?create=1");
  MonitorInfo m = backup_monitor();
  m.slug = "backup-db1";
  EXPECT_NE(up->telemetry(ok, &m).url.find("/pk_abc/backup-db1/0?"), std::string::npos);
  // Contract (issue 19, item 3): a check created by a ping gets the server's default schedule
  // (period 1 day, grace 1 hour), so the agent does not ask for one unless told to.
  HealthchecksSettings plain;
  plain.ping_key = "pk_abc";
  EXPECT_EQ(make_healthchecks(plain)->telemetry(start, nullptr).url,
            "https://hc-ping.com/pk_abc/nightly-backup/start?rid=0c5a1b8e-2f7d-4b1e-9a51-7d6c1f0e9a42");
}

TEST(SentryFormat, DsnGivesTheCronEndpoint) {
  auto d = parse_sentry_dsn("https://abc123@o1.ingest.sentry.io/4505");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->public_key, "abc123");
  EXPECT_EQ(d->host, "o1.ingest.sentry.io");
  EXPECT_EQ(d->project_id, "4505");
  EXPECT_FALSE(parse_sentry_dsn("https://o1.ingest.sentry.io/4505"));
  EXPECT_FALSE(parse_sentry_dsn("abc@host/1"));
  EXPECT_FALSE(parse_sentry_dsn("https://k@host/notanumber"));
}

TEST(SentryFormat, CheckInsInProgressThenErrorWithOneIdAndMonitorConfigFirst) {
  SentrySettings s;
  s.dsn = "http://pubkey@127.0.0.1:1/42";
  auto up = make_sentry(s);
  ASSERT_TRUE(up);
  EXPECT_EQ((*up)->per_job_per_minute(), 6);
  Telemetry start = oom_failure();
  start.state = Telemetry::State::kRun;
  MonitorInfo m = backup_monitor();
  auto a = (*up)->telemetry(start, &m);
  EXPECT_EQ(a.method, "POST");
  EXPECT_EQ(a.url, "http://127.0.0.1:1/api/42/cron/nightly-backup/pubkey/");
  auto ja = json::parse(a.body);
  EXPECT_EQ(ja["status"], "in_progress");
  EXPECT_EQ(ja["check_in_id"], "0c5a1b8e2f7d4b1e9a517d6c1f0e9a42");
  EXPECT_EQ(ja["environment"], "production");
  EXPECT_EQ(ja["monitor_config"]["schedule"]["type"], "crontab");
  EXPECT_EQ(ja["monitor_config"]["schedule"]["value"], "30 2 * * *");
  EXPECT_EQ(ja["monitor_config"]["checkin_margin"], 2);  // 90 s, rounded up to minutes
  EXPECT_EQ(ja["monitor_config"]["max_runtime"], 60);
  EXPECT_EQ(ja["monitor_config"]["timezone"], "Europe/Berlin");
  EXPECT_EQ(ja["monitor_config"]["failure_issue_threshold"], 3);
  EXPECT_EQ(ja["monitor_config"]["recovery_threshold"], 3);
  auto jb = json::parse((*up)->telemetry(oom_failure(), &m).body);
  EXPECT_EQ(jb["status"], "error");
  EXPECT_EQ(jb["check_in_id"], ja["check_in_id"]);
  EXPECT_DOUBLE_EQ(jb["duration"].get<double>(), 61.5);
  EXPECT_FALSE(jb.contains("monitor_config"));
  m.schedule = "every 300 seconds";
  auto jc = json::parse((*up)->telemetry(start, &m).body);
  EXPECT_EQ(jc["monitor_config"]["schedule"], json({{"type", "interval"}, {"value", 5}, {"unit", "minute"}}));
}

// Contract (issue 19, item 8): Cronitor keeps 1000 bytes of `message`; what matters comes first
// (the exit code or signal, OOM), then as much of the output's end as fits.
TEST(CronitorFormat, TheMessageKeepsTheOutcomeFirstWhateverTheOutputsLength) {
  CronitorSettings s;
  s.api_key = "KEY123456";
  auto up = make_cronitor(s);
  Telemetry t = oom_failure();
  t.output_tail = "START" + std::string(5000, 'x') + "ÄEND";
  const std::string url = up->telemetry(t, nullptr).url;
  const auto at = url.find("&message=");
  ASSERT_NE(at, std::string::npos);
  std::string msg;  // percent-decoded
  for (size_t i = at + 9; i < url.size() && url[i] != '&'; ++i) {
    if (url[i] == '%') {
      msg += static_cast<char>(std::stoi(url.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      msg += url[i];
    }
  }
  EXPECT_TRUE(msg.starts_with("exit 137 (SIGKILL, killed by the OOM killer)\n")) << msg.substr(0, 80);
  EXPECT_TRUE(msg.ends_with("ÄEND")) << "the output's end follows";
  EXPECT_EQ(msg.find("START"), std::string::npos);
  EXPECT_LE(msg.size(), 1000u);
  EXPECT_GE(msg.size(), 998u) << "as much output as fits";
}

// Contract (issue 19, item 1): Sentry's validator takes only an IANA zone, a 5-field crontab or an
// interval in its units, and margins up to 40320 minutes; a config it refuses drops the check-in,
// so rows queued with such a config go without one.
TEST(SentryFormat, AMonitorConfigSentryWouldRefuseIsLeftOut) {
  SentrySettings s;
  s.dsn = "http://pubkey@127.0.0.1:1/42";
  auto up = make_sentry(s);
  ASSERT_TRUE(up);
  Telemetry start = oom_failure();
  start.state = Telemetry::State::kRun;
  for (const auto& [schedule, zone] : std::vector<std::pair<std::string, std::string>>{{"30 2 * * *", "/etc/localtime"},
                                                                                       {"30 2 * * *", "localtime"},
                                                                                       {"30 2 * * *", "+05:30"},
                                                                                       {"at 13:37", "UTC"},
                                                                                       {"30 */5 * * * *", "UTC"},
                                                                                       {"every 30 seconds", "UTC"},
                                                                                       {"0 12 L * *", "UTC"}}) {
    MonitorInfo m = backup_monitor();
    m.schedule = schedule;
    m.timezone = zone;
    auto j = json::parse((*up)->telemetry(start, &m).body);
    EXPECT_FALSE(j.contains("monitor_config")) << schedule << " in " << zone << ": " << j.dump();
  }
  MonitorInfo m = backup_monitor();
  m.grace_seconds = 60 * 86400;
  m.max_runtime_seconds = 40 * 86400;
  auto j = json::parse((*up)->telemetry(start, &m).body);
  EXPECT_EQ(j["monitor_config"]["checkin_margin"], 40320);
  EXPECT_EQ(j["monitor_config"]["max_runtime"], 40320);
}

TEST(AlertmanagerFormat, FiringAndResolvedAlerts) {
  EXPECT_EQ(alertmanager_url("http://127.0.0.1:9093/"), "http://127.0.0.1:9093/api/v2/alerts");
  AlertmanagerAlert a;
  a.alertname = "CronitorJobProblem";
  a.key = "backup";
  a.cron_job = "Nightly backup";
  a.host = "db1";
  a.summary = "Nightly backup failed";
  a.starts_ms = 1764460800123;
  auto j = json::parse(alertmanager_body(a));
  ASSERT_TRUE(j.is_array());
  EXPECT_EQ(j[0]["labels"], json({{"alertname", "CronitorJobProblem"},
                                  {"key", "backup"},
                                  {"cron_job", "Nightly backup"},
                                  {"host", "db1"},
                                  {"severity", "critical"}}));
  EXPECT_EQ(j[0]["startsAt"], "2025-11-30T00:00:00.123Z");
  EXPECT_FALSE(j[0].contains("endsAt"));
  a.ends_ms = a.starts_ms + 60000;
  EXPECT_EQ(json::parse(alertmanager_body(a))[0]["endsAt"], "2025-11-30T00:01:00.123Z");
}

TEST(UplinkCommon, ClassifyMaskAndSlug) {
  EXPECT_EQ(classify(200), Verdict::kDone);
  EXPECT_EQ(classify(202), Verdict::kDone);
  EXPECT_EQ(classify(0), Verdict::kRetry);
  EXPECT_EQ(classify(500), Verdict::kRetry);
  EXPECT_EQ(classify(429), Verdict::kRetry);
  EXPECT_EQ(classify(401), Verdict::kPermanent);
  EXPECT_EQ(classify(403), Verdict::kPermanent);
  EXPECT_EQ(classify(404), Verdict::kHold);  // one unknown check: that job waits, the others flow
  EXPECT_EQ(classify(409), Verdict::kHold);
  EXPECT_EQ(classify(400), Verdict::kReject);
  EXPECT_EQ(classify(413), Verdict::kReject);
  EXPECT_EQ(mask("GET https://cronitor.link/p/SECRETKEY/x", {"SECRETKEY"}), "GET https://cronitor.link/p/SECR…/x");
  EXPECT_EQ(slugify("Nightly Backup: /usr/bin/x"), "nightly-backup-usr-bin-x");
  EXPECT_EQ(slugify("***"), "job");
  EXPECT_EQ(utf8_tail("aé", 1), "");  // never half a character
}

TEST(PrometheusFormat, EveryJobHasEverySeriesBeforeItsFirstRun) {
  JobMetrics fresh;
  fresh.key = "new";
  fresh.name = "A \"quoted\" name";
  fresh.source = "/etc/cron.d/x:2";
  fresh.user = "root";
  fresh.next_deadline_s = 1764460800;
  JobMetrics ran = fresh;
  ran.key = "old";
  ran.last_start_s = 1764460000.5;
  ran.last_exit_code = 137;
  ran.last_duration_s = 2.5;
  ran.runs.failure = 3;
  ran.incident_open = true;
  ran.consecutive_misses = 2;
  AgentMetrics a;
  a.events_received = 9;
  a.upstreams.push_back({"cronitor", 4, 10, 2, 0, 1, false});
  const std::string text = render_metrics({fresh, ran}, a);
  const std::string l = R"(key="new",name="A \"quoted\" name",source="/etc/cron.d/x:2",user="root")";
  for (const std::string& line :
       {"cronitor_job_last_start_timestamp_seconds{" + l + "} NaN", "cronitor_job_last_exit_code{" + l + "} NaN",
        "cronitor_job_runs_total{" + l + ",outcome=\"success\"} 0",
        "cronitor_job_next_deadline_timestamp_seconds{" + l + "} 1764460800", "cronitor_job_incident_open{" + l + "} 0",
        "cronitor_job_consecutive_misses{" + l + "} 0"})
    EXPECT_NE(text.find(line + "\n"), std::string::npos) << line << "\n" << text;
  EXPECT_NE(text.find(R"(cronitor_job_last_exit_code{key="old")"), std::string::npos);
  EXPECT_NE(text.find("} 137\n"), std::string::npos);
  EXPECT_NE(text.find(R"(outcome="failure"} 3)"), std::string::npos);
  EXPECT_NE(text.find(R"(cronitor_job_consecutive_misses{key="old",name="A \"quoted\" name",source="/etc/cron.d/x:2",)"
                      R"(user="root"} 2)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("cronitor_agent_events_received_total 9\n"), std::string::npos);
  EXPECT_NE(text.find(R"(cronitor_agent_outbox_depth{upstream="cronitor"} 4)"), std::string::npos);
  EXPECT_NE(text.find(R"(cronitor_agent_delivery_failures_total{upstream="cronitor"} 2)"), std::string::npos);
  EXPECT_NE(text.find("# TYPE cronitor_job_runs_total counter\n"), std::string::npos);
}

// Issue 17 item 5: a run whose outcome nobody saw (cron's log at -L 1) is counted under its own
// label, never as a success, and its job's last exit code and duration stay unknown (NaN).
TEST(PrometheusFormat, UnknownOutcomesAreCountedApartFromSuccesses) {
  JobMetrics j;
  j.key = "cron-daily";
  j.last_start_s = 1764460000;
  j.runs.success = 1;
  j.runs.unknown = 5;
  const std::string text = render_metrics({j}, AgentMetrics{});
  const std::string l = R"(key="cron-daily",name="",source="",user="")";
  EXPECT_NE(text.find("cronitor_job_runs_total{" + l + ",outcome=\"success\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("cronitor_job_runs_total{" + l + ",outcome=\"failure\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("cronitor_job_runs_total{" + l + ",outcome=\"unknown\"} 5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("cronitor_job_last_exit_code{" + l + "} NaN\n"), std::string::npos) << text;
  EXPECT_NE(text.find("cronitor_job_last_duration_seconds{" + l + "} NaN\n"), std::string::npos) << text;
}

// Jobs held back from an upstream (its server refused their check) are a gauge per upstream: a
// fleet sees a host whose Healthchecks slugs are unknown without reading its log.
TEST(PrometheusFormat, HeldJobsArePerUpstream) {
  AgentMetrics a;
  UpstreamMetrics hc{"healthchecks", 8, 10, 0, 0, 0, false};
  hc.held_jobs = 2;
  a.upstreams.push_back(hc);
  a.upstreams.push_back({"sentry", 0, 3, 0, 0, 0, false});
  const std::string text = render_metrics({}, a);
  EXPECT_NE(text.find("# TYPE cronitor_agent_upstream_held_jobs gauge\n"), std::string::npos) << text;
  EXPECT_NE(text.find("cronitor_agent_upstream_held_jobs{upstream=\"healthchecks\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("cronitor_agent_upstream_held_jobs{upstream=\"sentry\"} 0\n"), std::string::npos) << text;
}

// Issue 19 item 9: one hostile job name must not break the whole scrape. The real promtool (Debian's
// prometheus package) checks the exposition made from names of 10 KiB (cut inside a 2-byte
// character at 1024 bytes before the fix), invalid UTF-8, quotes, backslashes and newlines.
TEST(PrometheusFormat, PromtoolAcceptsAnExpositionWithHostileNames) {
  const char* promtool = "/usr/bin/promtool";
  if (::access(promtool, X_OK) != 0) GTEST_SKIP() << promtool << " is not installed (Debian: prometheus)";
  std::vector<JobMetrics> jobs;
  auto job = [&](std::string key, std::string name) {
    JobMetrics j;
    j.key = std::move(key);
    j.name = std::move(name);
    j.source = "/etc/cron.d/x:1";
    j.user = "root";
    jobs.push_back(j);
  };
  std::string long_name = "x";
  while (long_name.size() < 10 * 1024) long_name += "\xc3\xa9";  // é: 1024 falls inside one
  job("long", long_name);
  job("long-ascii", std::string(10 * 1024, 'a') + "\xe2\x82\xac");
  job("invalid", "bad \xff\xfe utf-8 \xc3 cut \xe2\x82 and \xed\xa0\x80 surrogate");
  job("quotes", R"(say "hi" \ back\slash \n literal)");
  job("newlines", "line1\nline2\r\n\tend\x1b[2J\x07");
  job("mixed", std::string(1023, 'q') + "\"\\\n\xff");
  jobs.back().source = std::string(2000, '\\');
  jobs.back().user = "\xf0\x9f\x98\x80" + std::string(1022, 'u');  // a 4-byte character across the cut
  AgentMetrics a;
  a.upstreams.push_back({"up\"\n\xff", 0, 0, 0, 0, 0, false});
  const std::string text = render_metrics(jobs, a);
  char path[] = "/tmp/promtool_hostileXXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fd);
  const std::string cmd = std::string(promtool) + " check metrics < " + path + " 2>&1";
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int status = ::pclose(p);
  ::unlink(path);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out.substr(0, 2000);
  // Every label value is cut at 1024 bytes or less (escapes aside) and is valid UTF-8.
  EXPECT_EQ(text.find('\xff'), std::string::npos);
  EXPECT_NE(text.find("name=\"bad \xef\xbf\xbd\xef\xbf\xbd utf-8"), std::string::npos);
  EXPECT_NE(text.find(R"(name="say \"hi\" \\ back\\slash \\n literal")"), std::string::npos) << text.substr(0, 300);
  EXPECT_NE(text.find(R"(name="line1\nline2)"), std::string::npos);
}

}  // namespace
}  // namespace cronitor::uplink
