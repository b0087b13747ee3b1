// Alertmanager as the server reads it (api/v2 postAlertsHandler, Alertmanager 0.25): an alert
// without endsAt ends after resolve_timeout, one with endsAt at that time. An open incident's
// alert therefore carries endsAt a few re-post intervals ahead and is posted again every interval
// (the schedule: AlertmanagerResend, time as an argument); labels follow Prometheus' conventions.
#include "uplink/alertmanager.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "schedule/iso8601.h"
#include "uplink/alert_format.h"
#include "uplink/alertmanager_resend.h"

namespace cronitor::uplink {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

Instant at(const char* iso) { return *schedule::parse_iso8601(iso, schedule::Zone::utc()); }

Alert failed() {
  Alert a;
  a.kind = Alert::Kind::kFailed;
  a.key = "backup";
  a.name = "Nightly backup";
  a.summary = "Nightly backup failed: exit code 3";
  a.at = at("2026-01-01T03:00:00Z");
  a.incident_opened = a.at;
  return a;
}

json posted(const Alert& a, Instant sent, std::chrono::seconds resend = 60s) {
  auto m = format_alert(a, *NotifyTarget::parse("alertmanager:http://127.0.0.1:9093"), "db1", {sent, resend});
  EXPECT_EQ(m.url, "http://127.0.0.1:9093/api/v2/alerts");
  auto j = json::parse(m.body);
  EXPECT_TRUE(j.is_array() && j.size() == 1) << m.body;
  return j[0];
}

TEST(AlertmanagerAlert, LabelsFollowPrometheusConventions) {
  const json a = posted(failed(), at("2026-01-01T03:00:00Z"));
  // `job` is the scrape job in Prometheus: the cron job is `cron_job`, and no `job` label is sent.
  EXPECT_EQ(a["labels"], json({{"alertname", "CronitorJobProblem"},
                               {"key", "backup"},
                               {"cron_job", "Nightly backup"},
                               {"host", "db1"},
                               {"severity", "critical"}}));
  EXPECT_EQ(a["annotations"]["summary"], "Nightly backup failed: exit code 3");
  EXPECT_EQ(a["annotations"]["description"], "failed");
  EXPECT_EQ(a["startsAt"], "2026-01-01T03:00:00.000Z");
}

TEST(AlertmanagerAlert, AnOpenIncidentFiresFourIntervalsAheadOfEachPost) {
  Alert a = failed();
  // Without endsAt Alertmanager would end it after resolve_timeout (5 minutes by default).
  EXPECT_EQ(posted(a, a.at)["endsAt"], "2026-01-01T03:04:00.000Z");
  // A re-post an hour later: still the same alert (labels, startsAt), firing 4 intervals on.
  const json later = posted(a, at("2026-01-01T04:00:00Z"));
  EXPECT_EQ(later["startsAt"], "2026-01-01T03:00:00.000Z");
  EXPECT_EQ(later["endsAt"], "2026-01-01T04:04:00.000Z");
  EXPECT_EQ(later["labels"], posted(a, a.at)["labels"]);
  // The interval is configurable; endsAt follows it.
  EXPECT_EQ(posted(a, at("2026-01-01T04:00:00Z"), 5s)["endsAt"], "2026-01-01T04:00:20.000Z");
  // An update of the incident (a later fault) keeps the incident's start.
  Alert u = a;
  u.kind = Alert::Kind::kMissed;
  u.update = true;
  u.at = at("2026-01-01T03:30:00Z");
  EXPECT_EQ(posted(u, u.at)["startsAt"], "2026-01-01T03:00:00.000Z");
  EXPECT_EQ(posted(u, u.at)["endsAt"], "2026-01-01T03:34:00.000Z");
  EXPECT_TRUE(alertmanager_keeps_firing(a));
  EXPECT_TRUE(alertmanager_keeps_firing(u));
}

TEST(AlertmanagerAlert, TheRecoveryEndsTheAlertAtTheTimeItResolved) {
  Alert r = failed();
  r.kind = Alert::Kind::kRecovered;
  r.at = at("2026-01-01T05:00:00Z");
  // Sent late (Alertmanager was down): still ends when the incident resolved.
  const json j = posted(r, at("2026-01-01T05:30:00Z"));
  EXPECT_EQ(j["startsAt"], "2026-01-01T03:00:00.000Z");
  EXPECT_EQ(j["endsAt"], "2026-01-01T05:00:00.000Z");
  EXPECT_EQ(j["labels"], posted(failed(), failed().at)["labels"]);
  EXPECT_FALSE(alertmanager_keeps_firing(r));
}

TEST(AlertmanagerAlert, AlertsNothingResolvesExpireFiveMinutesAfterTheyArePosted) {
  Alert removed = failed();
  removed.kind = Alert::Kind::kRemoved;
  removed.incident_opened = {};
  EXPECT_EQ(posted(removed, at("2026-01-01T03:10:00Z"))["endsAt"], "2026-01-01T03:15:00.000Z");
  EXPECT_EQ(posted(removed, removed.at)["labels"]["severity"], "info");
  Alert refused;  // the uplink's own notice: no incident, nothing resolves it
  refused.kind = Alert::Kind::kFailed;
  refused.key = "uplink:healthchecks:backup";
  refused.at = at("2026-01-01T03:00:00Z");
  EXPECT_FALSE(alertmanager_keeps_firing(refused));
  EXPECT_EQ(posted(refused, refused.at)["endsAt"], "2026-01-01T03:05:00.000Z");
  EXPECT_EQ(posted(refused, refused.at)["labels"]["alertname"], "CronitorHostProblem");
  Alert downtime = refused;
  downtime.kind = Alert::Kind::kDowntime;
  downtime.key = "host:downtime";
  EXPECT_EQ(posted(downtime, downtime.at)["labels"]["severity"], "warning");
  EXPECT_FALSE(alertmanager_keeps_firing(downtime));
}

TEST(AlertmanagerResend, AnOpenIncidentIsPostedEveryIntervalUntilItResolves) {
  AlertmanagerResend r;
  const std::string am = "alertmanager:http://127.0.0.1:9093";
  const Instant t0 = at("2026-01-01T03:00:00Z");
  EXPECT_FALSE(r.next_due());
  r.posted(am, "backup", true, t0);
  EXPECT_EQ(r.next_due(), t0 + 60s);
  EXPECT_TRUE(r.take_due(t0 + 59s).empty());
  using Due = AlertmanagerResend::Due;
  EXPECT_EQ(r.take_due(t0 + 60s), std::vector<Due>({{am, "backup"}}));
  EXPECT_EQ(r.next_due(), t0 + 120s);
  // A loop that wakes late posts once, not once per missed interval.
  EXPECT_EQ(r.take_due(t0 + 10min).size(), 1u);
  EXPECT_EQ(r.next_due(), t0 + 11min);
  // An update of the incident was posted: the next re-post counts from it.
  r.posted(am, "backup", true, t0 + 10min + 30s);
  EXPECT_EQ(r.next_due(), t0 + 11min + 30s);
  // Every post comes well before the endsAt of the one before (4 intervals): Alertmanager never
  // ends the alert while the incident is open, whatever its resolve_timeout.
  Instant last = t0 + 10min + 30s;
  for (int i = 0; i < 100; ++i) {
    const Instant next = *r.next_due();
    EXPECT_LT(next, last + kAlertmanagerHorizon * r.interval());
    EXPECT_EQ(r.take_due(next).size(), 1u);
    last = next;
  }
  // The recovery was posted: no more re-posts.
  r.posted(am, "backup", false, last + 1s);
  EXPECT_FALSE(r.next_due());
  EXPECT_TRUE(r.take_due(last + 1h).empty());
}

TEST(AlertmanagerResend, TargetsKeysResumeAndInterval) {
  AlertmanagerResend r;
  r.configure(5s);
  const std::string a = "alertmanager:http://a:9093", b = "alertmanager:http://b:9093";
  const Instant t0 = at("2026-01-01T03:00:00Z");
  r.posted(a, "backup", true, t0);
  r.posted(b, "backup", true, t0 + 1s);
  r.posted(a, "sync", true, t0 + 2s);
  EXPECT_EQ(r.open(), 3u);
  using Due = AlertmanagerResend::Due;
  // Oldest first.
  EXPECT_EQ(r.take_due(t0 + 7s), std::vector<Due>({{a, "backup"}, {b, "backup"}, {a, "sync"}}));
  // A resolution not sent to b (its rate limit) still ends b's re-posts: forget() takes every target.
  r.forget("backup");
  EXPECT_EQ(r.open(), 1u);
  EXPECT_EQ(r.take_due(t0 + 12s), std::vector<Due>({{a, "sync"}}));
  // At start, an incident still open is posted at once.
  r.resume(b, "backup", t0 + 13s);
  EXPECT_EQ(r.take_due(t0 + 13s), std::vector<Due>({{b, "backup"}}));
  // A notice to a target ends nothing else.
  r.posted(a, "host:downtime", false, t0 + 14s);
  EXPECT_EQ(r.open(), 2u);
  // Never more often than once a second.
  r.configure(0s);
  EXPECT_EQ(r.interval(), 1s);
}

}  // namespace
}  // namespace cronitor::uplink
