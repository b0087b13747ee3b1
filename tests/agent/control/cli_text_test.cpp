// What `status` shows and what alerts say, as pure functions of state (issue 10 item 12, issue 13
// items 14, 16 and 18): the open run apart from the last finished one, times in ISO 8601, a NAME
// column, durations under a second in ms, the cron daemon that never ran, the host named once.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "agent/config/config.h"
#include "agent/control/status_view.h"
#include "agent/state/state_json.h"
#include "common/text.h"
#include "schedule/iso8601.h"
#include "tests/agent/eval_helpers.h"
#include "uplink/alert_format.h"

namespace cronitor::agent {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using testing::at;
using testing::event;
using testing::monitor;
using testing::Sim;

Instant parse(const json& iso) {
  auto t = schedule::parse_iso8601(iso.get<std::string>(), schedule::Zone::utc());
  EXPECT_TRUE(t.has_value()) << iso;
  return t ? *t : Instant{};
}

TEST(StatusView, AnOpenRunIsShownApartFromTheLastFinishedRun) {
  Sim sim(monitor("billing", "*/10 * * * *"), at("2026-05-01T10:00:00Z"));
  sim.job(at("2026-05-01T10:10:00Z"), 221, 3);  // finished: exit 3 after 221 s
  sim.send(event("billing", "open-1", RunEvent::State::kRun, at("2026-05-01T10:20:00Z")));
  const json st = status_json("billing", "Nightly billing", "*/10 * * * *", "UTC", "/etc/cron.d/b:2", sim.state);
  EXPECT_EQ(st["state"], "failing");  // the open incident outranks "running"; open_run shows the run
  ASSERT_TRUE(st["open_run"].is_object()) << st.dump();
  EXPECT_EQ(st["open_run"]["run_id"], "open-1");
  EXPECT_EQ(st["open_run"]["started"], "2026-05-01T10:20:00+00:00");
  const json& last = st["last_run"];
  ASSERT_TRUE(last.is_object());
  EXPECT_EQ(last["started"], "2026-05-01T10:10:00+00:00");
  EXPECT_EQ(last["ended"], "2026-05-01T10:13:41+00:00");
  EXPECT_LE(parse(last["started"]), parse(last["ended"]));
  EXPECT_EQ(last["exit_code"], 3);
  EXPECT_EQ(last["status"], "failed");
  // Once it ends, the open run is the last run.
  sim.send(event("billing", "open-1", RunEvent::State::kComplete, at("2026-05-01T10:20:01Z"), 0, 1000));
  const json done = status_json("billing", "Nightly billing", "*/10 * * * *", "UTC", "", sim.state);
  EXPECT_TRUE(done["open_run"].is_null());
  EXPECT_EQ(done["last_run"]["started"], "2026-05-01T10:20:00+00:00");
  EXPECT_EQ(done["last_run"]["status"], "ok");
}

// Issue 17: a timer the manager masked is "masked" in status (not "removed"), with how to bring
// it back; unmasked but not started it is "stopped"; the state keeps it across a restart.
TEST(StatusView, AMaskedTimerIsMaskedWithItsHint) {
  Sim sim(monitor("t", "*/10 * * * *"), at("2026-05-01T10:00:00Z"));
  sim.job(at("2026-05-01T10:10:00Z"));
  const std::string unmask = "systemctl unmask t.timer, systemctl daemon-reload, then systemctl start t.timer";
  RemovedInput masked{at("2026-05-01T10:12:00Z"), "t.timer", 0, false, "masked: t.timer is masked"};
  masked.as = "masked";
  masked.hint = unmask;
  auto a = evaluate(sim.config, sim.state, masked, sim.host);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].alert.kind, Alert::Kind::kRemoved);
  json st = status_json("t", "t", "*/10 * * * *", "UTC", "", sim.state);
  EXPECT_EQ(st["state"], "masked");
  EXPECT_EQ(st["hint"], unmask);
  EXPECT_TRUE(st["next_expected"].is_null());
  EXPECT_NE(status_table(json::array({st})).find("masked"), std::string::npos);
  auto back = monitor_state_from_json(nlohmann::json::parse(state_text(sim.state)));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->removed_as, "masked");
  EXPECT_EQ(back->removed_hint, unmask);
  EXPECT_EQ(nlohmann::json::parse(state_text(sim.state)), to_json(sim.state));
  // Unmasked, not started: stopped, told without a second alert.
  RemovedInput stopped{at("2026-05-01T10:13:00Z"), "t.timer", 0, false, "stopped: t.timer is no longer active"};
  stopped.as = "stopped";
  stopped.hint = "systemctl start t.timer";
  EXPECT_TRUE(evaluate(sim.config, sim.state, stopped, sim.host).empty());
  st = status_json("t", "t", "*/10 * * * *", "UTC", "", sim.state);
  EXPECT_EQ(st["state"], "stopped");
  EXPECT_EQ(st["hint"], "systemctl start t.timer");
  // A crontab line removed: "removed", no hint.
  Sim gone(monitor("c", "*/10 * * * *"), at("2026-05-01T10:00:00Z"));
  (void)evaluate(gone.config, gone.state, RemovedInput{at("2026-05-01T10:12:00Z"), "/etc/cron.d/c", 2}, gone.host);
  st = status_json("c", "c", "*/10 * * * *", "UTC", "", gone.state);
  EXPECT_EQ(st["state"], "removed");
  EXPECT_FALSE(st.contains("hint"));
}

TEST(StatusView, FirstRunStillOpenHasNoLastRun) {
  Sim sim(monitor("billing", "*/10 * * * *"), at("2026-05-01T10:00:00Z"));
  sim.send(event("billing", "r1", RunEvent::State::kRun, at("2026-05-01T10:10:00Z")));
  const json st = status_json("billing", "billing", "*/10 * * * *", "UTC", "", sim.state);
  EXPECT_TRUE(st["last_run"].is_null()) << st.dump();
  EXPECT_EQ(st["open_run"]["started"], "2026-05-01T10:10:00+00:00");
}

TEST(StatusView, TableHasNameColumnAndMillisecondDurations) {
  Sim sim(monitor("k1", "*/10 * * * *"), at("2026-05-01T10:00:00Z"));
  sim.send(event("k1", "r1", RunEvent::State::kRun, at("2026-05-01T10:10:00Z")));
  sim.send(event("k1", "r1", RunEvent::State::kComplete, at("2026-05-01T10:10:00.221Z"), 0, 221));
  json list = json::array({status_json("k1", "walk-e-hung", "*/10 * * * *", "UTC", "", sim.state)});
  const std::string table = status_table(list);
  EXPECT_EQ(table.rfind("KEY  NAME", 0), 0u) << table;
  EXPECT_NE(table.find("walk-e-hung"), std::string::npos) << table;
  EXPECT_NE(table.find("221 ms"), std::string::npos) << table;
  EXPECT_EQ(table.find("RUNNING SINCE"), std::string::npos) << "only while a run is open";
}

// Issue 18 item 8: whatever a user names (job names, output, signals) reaches root's terminal
// escaped: no ESC, BEL, C1 control or newline of theirs, valid UTF-8 kept.
TEST(TerminalText, ControlsAreShownAndUtf8IsKept) {
  EXPECT_EQ(escape_text("\x1b[2J\x1b]0;OWNED\x07ok"), "\\e[2J\\e]0;OWNED\\x07ok");
  EXPECT_EQ(escape_text("a\nb\rc\td\x7f\x01"), "a\\nb\\rc\\td\\x7f\\x01");
  EXPECT_EQ(escape_text("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 back\\slash"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 back\\slash");
  EXPECT_EQ(escape_text("\xc2\x9b"
                        "31m"),
            "\\u009b31m");  // C1 CSI as UTF-8
  EXPECT_EQ(escape_text("\x9b"
                        "31m\xff\xc3"),
            "\\x9b31m\\xff\\xc3");  // bytes that are not UTF-8
  EXPECT_EQ(escape_text("\xe2\x80\xae"
                        "gpj.exe"),
            "\\u202egpj.exe");                                                   // right-to-left override
  EXPECT_EQ(escape_text("\xed\xa0\x80"), "\\xed\\xa0\\x80");                     // a surrogate is not UTF-8
  EXPECT_EQ(escape_text(escape_text("\x1b\n\xff")), escape_text("\x1b\n\xff"));  // escaping twice changes nothing
  EXPECT_EQ(escape_lines("one\x1b\ntwo\n"), "one\\e\ntwo\n");
  EXPECT_EQ(cut_utf8("a\xc3\xa9", 2), "a");
  EXPECT_EQ(cut_utf8("a\xf0\x9f\x98\x80", 4), "a");
  EXPECT_EQ(cut_utf8("abc", 2), "ab");
  EXPECT_EQ(replace_invalid_utf8("a\xff"
                                 "b\xc3"),
            "a\xef\xbf\xbd"
            "b\xef\xbf\xbd");
}

TEST(StatusView, NamesAndOutputOfUsersAreEscaped) {
  Sim sim(monitor("k1", "*/10 * * * *"), at("2026-05-01T10:00:00Z"));
  sim.send(event("k1", "r1", RunEvent::State::kRun, at("2026-05-01T10:10:00Z")));
  const std::string evil = "\x1b[2J\x1b]0;OWNED\x07\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9";
  json list = json::array({status_json("k1", evil, "*/10 * * * *", "UTC", "", sim.state)});
  const std::string table = status_table(list);
  EXPECT_EQ(table.find('\x1b'), std::string::npos) << table;
  EXPECT_EQ(table.find('\x07'), std::string::npos) << table;
  EXPECT_NE(table.find("\\e[2J\\e]0;OWNED\\x07"), std::string::npos) << table;
  EXPECT_EQ(replace_invalid_utf8(table), table) << "the name is cut at a character boundary";
  json runs = json::array({{{"started", "2026-05-01T10:10:00Z"},
                            {"status", "failed\x1b[31m"},
                            {"exit_code", 137},
                            {"signal", "SIGKILL\x1b]0;x\x07"},
                            {"oom", false},
                            {"duration_ms", 5},
                            {"run_id", "r1\n2026 forged"}}});
  const std::string history = history_table(runs);
  EXPECT_EQ(history.find('\x1b'), std::string::npos) << history;
  EXPECT_EQ(std::count(history.begin(), history.end(), '\n'), 2) << history;
}

TEST(StatusView, CronIncidentOpenedIsIso8601) {
  HostState h;
  EXPECT_TRUE(cron_incident_json(h).is_null());
  h.cron_incident = Incident{at("2026-05-01T10:00:00Z"), "cron-down", 1, at("2026-05-01T10:00:00Z"), "no pid"};
  const json j = cron_incident_json(h);
  EXPECT_EQ(j["opened"], "2026-05-01T10:00:00+00:00");
  EXPECT_EQ(j["reason"], "no pid");
}

// Jobs held back from an upstream after a 404/409/410 show in `status`: which upstream, which
// job, since when, the server's answer; a user sees only the jobs they own.
TEST(StatusView, HeldJobsNameTheUpstreamSinceWhenAndTheServersAnswer) {
  uplink::UpstreamStats hc;
  hc.name = "healthchecks";
  hc.delivered = 10;
  hc.held = 2;
  const int64_t since =
      std::chrono::duration_cast<std::chrono::milliseconds>(at("2026-05-01T10:00:00Z").time_since_epoch()).count();
  hc.held_jobs = {{"backup", 404, since, "GET https://hc-ping.com/***/backup", "\"not found\""},
                  {"sync\x1b[2J", 410, since + 60000, "GET https://hc-ping.com/***/sync", "\"gone\""}};
  uplink::UpstreamStats sentry;
  sentry.name = "sentry";
  const json all = uplink_json({hc, sentry}, [](const std::string&) { return true; });
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]["upstream"], "healthchecks");
  ASSERT_EQ(all[0]["held"].size(), 2u);
  EXPECT_EQ(all[0]["held"][0]["job"], "backup");
  EXPECT_EQ(all[0]["held"][0]["status"], 404);
  EXPECT_EQ(all[0]["held"][0]["since"], "2026-05-01T10:00:00+00:00");
  EXPECT_EQ(all[0]["held"][0]["answer"], "\"not found\"");
  EXPECT_TRUE(all[1]["held"].empty());
  const std::string text = uplink_notes(all);
  EXPECT_NE(text.find("uplink healthchecks holds back 2 jobs"), std::string::npos) << text;
  EXPECT_NE(text.find("backup: HTTP 404 \"not found\" since 2026-05-01T10:00:00+00:00"), std::string::npos) << text;
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << "a job name is escaped for the terminal";
  EXPECT_EQ(text.find("sentry"), std::string::npos) << "an upstream that flows is not mentioned: " << text;
  // A user's status: only their own jobs.
  const json mine = uplink_json({hc}, [](const std::string& job) { return job == "backup"; });
  EXPECT_EQ(mine[0]["held"].size(), 1u);
  EXPECT_NE(uplink_notes(mine).find("holds back 1 job ("), std::string::npos) << uplink_notes(mine);
  EXPECT_TRUE(uplink_notes(uplink_json({sentry}, [](const std::string&) { return true; })).empty());
}

TEST(AlertText, RecoveryAndShortRunsReadWell) {
  Sim sim(monitor("billing", "*/10 * * * *"), at("2026-05-01T10:00:00Z"));
  sim.send(event("billing", "r1", RunEvent::State::kRun, at("2026-05-01T10:10:00Z")));
  auto failed = sim.send(event("billing", "r1", RunEvent::State::kFail, at("2026-05-01T10:10:00.221Z"), 2, 221));
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_NE(failed[0].alert.detail.find("ended after 221 ms"), std::string::npos) << failed[0].alert.detail;
  EXPECT_EQ(failed[0].alert.detail.find("after 0s"), std::string::npos);
  auto rec = sim.job(at("2026-05-01T10:20:00Z"));
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec[0].alert.kind, Alert::Kind::kRecovered);
  EXPECT_EQ(rec[0].alert.detail.find("It was failed"), std::string::npos) << rec[0].alert.detail;
  EXPECT_NE(rec[0].alert.detail.find("Open since 2026-05-01T10:10:00+00:00 (first problem: failed)"), std::string::npos)
      << rec[0].alert.detail;
}

TEST(AlertText, HostIsNamedOnce) {
  Alert a;
  a.kind = Alert::Kind::kCronDown;
  a.summary = "The cron daemon on vm is not running: every cron job will be missed";
  a.at = at("2026-05-01T10:00:00Z");
  auto slack = json::parse(slack_body(a, "vm"));
  EXPECT_EQ(slack["text"], a.summary);
  a.summary = "billing failed: exit code 2";
  slack = json::parse(slack_body(a, "vm"));
  EXPECT_EQ(slack["text"], "billing failed: exit code 2 on vm");
  NotifyTarget mail{NotifyTarget::Kind::kEmail, "ops@example.org"};
  a.summary = "The cron daemon on vm is running again after 5m down";
  const std::string body = format_alert(a, mail, "vm").body;
  EXPECT_NE(body.find("Subject: [cronitor-agent] The cron daemon on vm is running again after 5m down\n"),
            std::string::npos)
      << body;
}

TEST(AlertText, CronThatNeverRanIsNoReturnAndItsSlotsAreNotTheJobs) {
  MonitorConfig c = monitor("job", "*/10 * * * *", "UTC", 60);
  c.from_cron = true;
  Sim sim(c, at("2026-05-01T10:00:00Z"));
  // The agent starts with cron not running: never seen, so not "down after N".
  auto down = evaluate_cron(sim.host, CronObservation{at("2026-05-01T10:00:00Z"), false, "no pid file", "vm"});
  ASSERT_EQ(down.size(), 1u);
  EXPECT_NE(down[0].alert.summary.find("is not running (not since the agent began watching)"), std::string::npos)
      << down[0].alert.summary;
  EXPECT_TRUE(sim.tick(at("2026-05-01T10:11:30Z")).empty());  // the 10:10 slot: cron's outage
  auto up = evaluate_cron(sim.host, CronObservation{at("2026-05-01T10:12:00Z"), true, "", "vm"});
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(up[0].alert.summary.find("again after"), std::string::npos) << up[0].alert.summary;
  EXPECT_NE(up[0].alert.summary.find("is running now (it was not running when the agent began watching"),
            std::string::npos)
      << up[0].alert.summary;
  EXPECT_FALSE(up[0].alert.down_for.has_value());
  // The 10:20 slot is the job's own first miss: "1 consecutive", not 2.
  auto missed = sim.tick(at("2026-05-01T10:21:30Z"));
  ASSERT_EQ(missed.size(), 1u);
  EXPECT_EQ(missed[0].alert.kind, Alert::Kind::kMissed);
  EXPECT_NE(missed[0].alert.detail.find("; 1 consecutive missed run(s)"), std::string::npos) << missed[0].alert.detail;
  // A cron that ran and stops is "down", and its return is "again after".
  auto down2 = evaluate_cron(sim.host, CronObservation{at("2026-05-01T11:00:00Z"), false, "no pid file", "vm"});
  ASSERT_EQ(down2.size(), 1u);
  EXPECT_EQ(down2[0].alert.summary,
            "The cron daemon on vm is not running (since 2026-05-01T11:00:00+00:00): every cron job will be missed");
  auto up2 = evaluate_cron(sim.host, CronObservation{at("2026-05-01T11:05:00Z"), true, "", "vm"});
  ASSERT_EQ(up2.size(), 1u);
  EXPECT_EQ(up2[0].alert.summary, "The cron daemon on vm is running again after 5m down");
}

}  // namespace
}  // namespace cronitor::agent
