// Alert formats and delivery against a real HTTP server on 127.0.0.1 and a stand-in sendmail.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/agent/eval_helpers.h"
#include "tests/support/http_recorder.h"
#include "uplink/alert_format.h"
#include "uplink/alert_sender.h"

namespace cronitor::uplink {
namespace {

using namespace cronitor::agent;  // the evaluator helpers that build alerts

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

Alert failed_alert() {
  Alert a;
  a.kind = Alert::Kind::kFailed;
  a.key = "nightly-billing";
  a.name = "nightly-billing";
  a.at = agent::testing::at("2026-03-29T01:00:05Z");
  a.incident_opened = a.at;
  a.summary = "nightly-billing failed: killed by the OOM killer (exit code 137)";
  a.detail = "Run r1 started at 2026-03-29T03:00:00+02:00 ended after 5s";
  a.schedule = "0 2 * * *";
  a.timezone = "Europe/Berlin";
  a.source = "/etc/cron.d/billing:4";
  a.exit_code = 137;
  a.signal = "SIGKILL";
  a.oom = true;
  a.duration_ms = 5000;
  a.output_tail = "MemoryError: cannot allocate\n";
  return a;
}

class AlertTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("agent-alert-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  /// CRONITOR_SENDMAIL set to a script that runs `check` and keeps the mail in the returned file.
  fs::path stand_in_sendmail(const std::string& check = "") {
    const auto script = dir_ / "sendmail";
    const auto mail = dir_ / "mail.txt";
    std::ofstream(script) << "#!/bin/sh\n" << check << "cat > " << mail.string() << "\n";
    fs::permissions(script, fs::perms::owner_all);
    ::setenv("CRONITOR_SENDMAIL", script.c_str(), 1);
    return mail;
  }
  fs::path dir_;
};

TEST_F(AlertTest, SlackMessageHasFallbackTextAndBlocks) {
  auto body = json::parse(slack_body(failed_alert(), "db1"));
  EXPECT_EQ(body["text"], "nightly-billing failed: killed by the OOM killer (exit code 137) on db1");
  std::string blocks = body["blocks"].dump();
  for (const char* want :
       {"*Host*\\ndb1", "*Schedule*\\n0 2 * * * (Europe/Berlin)", "*Last exit code*\\n137 (SIGKILL), OOM-killed",
        "*Duration*\\n5s", "*Source*\\n/etc/cron.d/billing:4", "MemoryError"})
    EXPECT_NE(blocks.find(want), std::string::npos) << want << " in " << blocks;
}

TEST_F(AlertTest, ALocalUsersJobNameAndOutputPingNoOneAndAddNoLink) {
  // A user's crontab names the job; the job prints what it likes. In Slack "<!channel>" pings
  // the whole channel, in Discord "@everyone" pings the server, in a Teams card "</pre><a ...>"
  // ends the block and adds a link.
  Alert a = failed_alert();
  a.name = "<!channel> backup & co";
  a.summary = a.name + " failed: exit code 3 @everyone";
  a.command = "/home/mallory/x <@U024BE7LH>";
  a.output_tail = "</pre><a href=\"https://evil.example\">log in again</a> <!here>\n";
  auto slack = json::parse(slack_body(a, "db1"));
  const std::string text = slack.dump();
  for (const char* raw : {"<!channel>", "<!here>", "<@U024BE7LH>", "<a href"})
    EXPECT_EQ(text.find(raw), std::string::npos) << raw << " in " << text;
  EXPECT_NE(slack["text"].get<std::string>().find("&lt;!channel&gt; backup &amp; co failed"), std::string::npos)
      << slack["text"];
  EXPECT_NE(text.find("&lt;/pre&gt;&lt;a href="), std::string::npos) << text;
  auto discord =
      json::parse(format_alert(a, *NotifyTarget::parse("discord:https://discord.test/api/webhooks/1/x"), "db1").body);
  EXPECT_EQ(discord["allowed_mentions"], json({{"parse", json::array()}})) << discord.dump();
  const std::string teams =
      format_alert(a, *NotifyTarget::parse("teams:https://example.webhook.office.com/x"), "db1").body;
  EXPECT_EQ(teams.find("</pre><a href"), std::string::npos) << teams;
  EXPECT_NE(teams.find("<pre>&lt;/pre&gt;&lt;a href="), std::string::npos) << teams;
  // The webhook is JSON for programs: its fields stay as they were.
  auto hook = json::parse(webhook_body(a, "db1"));
  EXPECT_EQ(hook["name"], "<!channel> backup & co");
}

/// Every string in `j` (a message body decoded), checked for a control byte other than newline.
void expect_no_control_bytes(const json& j, const std::string& where) {
  if (j.is_string()) {
    for (unsigned char c : j.get<std::string>())
      EXPECT_FALSE((c < 0x20 && c != '\n') || c == 0x7f) << where << ": byte " << int(c) << " in " << j;
  } else if (j.is_structured()) {
    for (const auto& v : j) expect_no_control_bytes(v, where);
  }
}

TEST_F(AlertTest, ControlBytesAUserCanNameAreShownEscapedInEveryFormat) {
  // Issue 18: a name like "\e[2J\e]0;OWNED\a" in a user's crontab, and output full of colour codes,
  // are shown as text in every receiver (a mail read in a terminal would act on them), never passed on.
  Alert a = failed_alert();
  a.name = "\x1b[2J\x1b]0;OWNED\x07job";
  a.summary = "user mallory: " + a.name + " failed: exit code 3";
  a.detail = "Run r1 ended\x1b[8m hidden";
  a.command = "/home/mallory/x \x1b[31m";
  a.source = "/var/spool/cron/crontabs/mallory:1";
  a.output_tail = "\x1b[31mred\x1b[0m\rover\n\x08done\n";
  for (const char* target :
       {"slack:https://hooks.slack.test/x", "webhook:https://hooks.test/x",
        "discord:https://discord.test/api/webhooks/1/x", "teams:https://example.webhook.office.com/x", "pagerduty:KEY",
        "alertmanager:http://127.0.0.1:9093", "email:ops@example.com"}) {
    auto t = NotifyTarget::parse(target);
    ASSERT_TRUE(t) << target;
    const std::string body = format_alert(a, *t, "db1").body;
    if (t->kind == NotifyTarget::Kind::kEmail) {
      for (unsigned char c : body) EXPECT_FALSE(c < 0x20 && c != '\n') << target << ": byte " << int(c);
    } else {
      expect_no_control_bytes(json::parse(body), target);
    }
    EXPECT_NE(body.find("\\e[2J"), std::string::npos) << target << ": " << body;
  }
}

TEST_F(AlertTest, WebhookBodyIsTheDocumentedOne) {
  auto body = json::parse(webhook_body(failed_alert(), "db1"));
  EXPECT_EQ(body["version"], 1);
  EXPECT_EQ(body["event"], "failed");
  EXPECT_EQ(body["incident"], "opened");
  EXPECT_EQ(body["key"], "nightly-billing");
  EXPECT_EQ(body["host"], "db1");
  EXPECT_EQ(body["exit_code"], 137);
  EXPECT_EQ(body["signal"], "SIGKILL");
  EXPECT_EQ(body["oom"], true);
  EXPECT_EQ(body["at"], "2026-03-29T01:00:05+00:00");
  EXPECT_TRUE(body["down_for_seconds"].is_null());
}

TEST_F(AlertTest, EveryHttpKindArrivesAtARealServer) {
  cronitor::testing::HttpRecorder rec(CRONITOR_SOURCE_DIR "/tests/support/http_recorder.py", dir_.string());
  ASSERT_GT(rec.port(), 0);
  ::setenv("CRONITOR_PAGERDUTY_URL", rec.url("/v2/enqueue").c_str(), 1);
  AlertSender sender("db1", 5s);
  for (const char* t : {"slack:/slack", "webhook:/hook", "discord:/discord", "teams:/teams"}) {
    std::string text = t;
    auto target = NotifyTarget::parse(text.substr(0, text.find(':') + 1) + rec.url(text.substr(text.find(':') + 1)));
    ASSERT_TRUE(target) << target.error().message;
    auto r = sender.send(failed_alert(), *target);
    EXPECT_TRUE(r.ok) << t << ": " << r.error;
  }
  Alert resolved = failed_alert();
  resolved.kind = Alert::Kind::kRecovered;
  ASSERT_TRUE(sender.send(failed_alert(), {NotifyTarget::Kind::kPagerDuty, "ROUTINGKEY"}).ok);
  ASSERT_TRUE(sender.send(resolved, {NotifyTarget::Kind::kPagerDuty, "ROUTINGKEY"}).ok);
  auto reqs = rec.requests();
  ASSERT_EQ(reqs.size(), 6u);
  auto discord = json::parse(reqs[2]["body"].get<std::string>());
  EXPECT_EQ(discord["embeds"][0]["color"], 0xE01E5A);
  auto teams = json::parse(reqs[3]["body"].get<std::string>());
  EXPECT_EQ(teams["@type"], "MessageCard");
  auto trigger = json::parse(reqs[4]["body"].get<std::string>());
  auto resolve = json::parse(reqs[5]["body"].get<std::string>());
  EXPECT_EQ(reqs[4]["path"], "/v2/enqueue");
  EXPECT_EQ(trigger["event_action"], "trigger");
  EXPECT_EQ(trigger["routing_key"], "ROUTINGKEY");
  EXPECT_EQ(trigger["payload"]["severity"], "error");
  EXPECT_EQ(resolve["event_action"], "resolve");
  EXPECT_EQ(resolve["dedup_key"], trigger["dedup_key"]);
  ::unsetenv("CRONITOR_PAGERDUTY_URL");
}

TEST_F(AlertTest, ServerErrorsAreRetryableClientErrorsAreNot) {
  cronitor::testing::HttpRecorder rec(CRONITOR_SOURCE_DIR "/tests/support/http_recorder.py", dir_.string(), 1);
  AlertSender sender("db1", 5s);
  auto r = sender.send(failed_alert(), {NotifyTarget::Kind::kSlack, rec.url("/x")});
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.retry);
  EXPECT_NE(r.error.find("HTTP 500"), std::string::npos);
  EXPECT_TRUE(sender.send(failed_alert(), {NotifyTarget::Kind::kSlack, rec.url("/x")}).ok);
  // Nobody listens: a network error, retried later.
  auto down = sender.send(failed_alert(), {NotifyTarget::Kind::kWebhook, "http://127.0.0.1:1/x"});
  EXPECT_FALSE(down.ok);
  EXPECT_TRUE(down.retry);
  EXPECT_EQ(retry_delay(0), 5s);
  EXPECT_EQ(retry_delay(3), 40s);
  EXPECT_EQ(retry_delay(30), 3600s);
}

// Slack, Discord and Teams answer 429 with Retry-After when a webhook posts too often: the
// alert's next try waits what they said, as the upstreams' do (uplink/retry_rule.h).
TEST_F(AlertTest, A429sRetryAfterSetsTheNextTry) {
  cronitor::testing::HttpRecorder rec(CRONITOR_SOURCE_DIR "/tests/support/http_recorder.py", dir_.string());
  rec.set_mode("429 30");
  AlertSender sender("db1", 5s);
  auto r = sender.send(failed_alert(), {NotifyTarget::Kind::kSlack, rec.url("/x")});
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.retry);
  EXPECT_EQ(r.retry_after, 30s);
  EXPECT_EQ(retry_delay(0, r), 30s);
  rec.set_mode("404");  // a removed webhook: given up, whatever it said
  auto gone = sender.send(failed_alert(), {NotifyTarget::Kind::kSlack, rec.url("/x")});
  EXPECT_FALSE(gone.retry);
  EXPECT_EQ(gone.retry_after, 0s);
}

TEST_F(AlertTest, EmailGoesThroughSendmail) {
  const auto mail = stand_in_sendmail("[ \"$1\" = -t ] || exit 9\n");
  AlertSender sender("db1");
  Alert a = failed_alert();
  a.summary = "evil\nBcc: everyone@example.com";
  auto r = sender.send(a, {NotifyTarget::Kind::kEmail, "ops@example.com"});
  ::unsetenv("CRONITOR_SENDMAIL");
  ASSERT_TRUE(r.ok) << r.error;
  std::ifstream in(mail);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(text.find("To: ops@example.com\n"), std::string::npos);
  // The newline a job's name or summary holds is shown as \n: one Subject line, no header of its own.
  EXPECT_NE(text.find("Subject: [cronitor-agent] evil\\nBcc: everyone@example.com on db1\n"), std::string::npos)
      << text;
  const std::string headers = text.substr(0, text.find("\n\n"));
  EXPECT_EQ(headers.find("\nBcc:"), std::string::npos) << headers;
  EXPECT_NE(text.find("Last exit code: 137 (SIGKILL), OOM-killed"), std::string::npos);
}

/// The failed alert with everything the on-call reader needs next (issue 13, item 17).
Alert actionable_alert() {
  Alert a = failed_alert();
  a.user = "billing";
  a.command = "/usr/local/bin/billing --month";
  a.last_success = agent::testing::at("2026-03-27T01:00:04Z");
  a.failed_since_success = 2;
  a.peak_memory_bytes = 66 * 1024 * 1024;
  a.memory_limit_bytes = 64 * 1024 * 1024;
  a.oom_victim = "python3 (pid 6217)";
  a.alert_number = 1;
  return a;
}

TEST_F(AlertTest, EveryFormatSaysWhoRunsWhatAndHowToAct) {
  const Alert a = actionable_alert();
  const std::string slack = json::parse(slack_body(a, "db1"))["blocks"].dump();
  for (const char* want :
       {"*Key*\\nnightly-billing", "*User*\\nbilling", "*Command*\\n/usr/local/bin/billing --month",
        "*Last success*\\n2026-03-27T01:00:04+00:00 (2 runs failed since)", "*Peak memory*\\n66.0 MiB",
        "*Memory limit*\\n64.0 MiB", "*Killed by the kernel*\\npython3 (pid 6217)",
        "cronitor-agent pause nightly-billing --for 2h", "cronitor-agent history nightly-billing"})
    EXPECT_NE(slack.find(want), std::string::npos) << want << " in " << slack;

  // The webhook: every documented field stays, new ones are added.
  auto hook = json::parse(webhook_body(a, "db1"));
  for (const char* old : {"version",
                          "event",
                          "incident",
                          "key",
                          "name",
                          "host",
                          "summary",
                          "detail",
                          "at",
                          "incident_opened_at",
                          "schedule",
                          "timezone",
                          "environment",
                          "source",
                          "exit_code",
                          "signal",
                          "oom",
                          "duration_ms",
                          "output_tail",
                          "expected_at",
                          "down_for_seconds"})
    EXPECT_TRUE(hook.contains(old)) << old;
  EXPECT_EQ(hook["user"], "billing");
  EXPECT_EQ(hook["command"], "/usr/local/bin/billing --month");
  EXPECT_EQ(hook["last_success_at"], "2026-03-27T01:00:04+00:00");
  EXPECT_EQ(hook["failed_since_success"], 2);
  EXPECT_EQ(hook["peak_memory_bytes"], 66 * 1024 * 1024);
  EXPECT_EQ(hook["memory_limit_bytes"], 64 * 1024 * 1024);
  EXPECT_EQ(hook["oom_victim"], "python3 (pid 6217)");
  EXPECT_EQ(hook["commands"],
            json::array({"cronitor-agent pause nightly-billing --for 2h", "cronitor-agent history nightly-billing"}));
  EXPECT_EQ(hook["alert_number"], 1);
  EXPECT_EQ(hook["going_quiet"], false);

  const NotifyTarget discord{NotifyTarget::Kind::kDiscord, "http://127.0.0.1:1/d"};
  const std::string d = format_alert(a, discord, "db1").body;
  const NotifyTarget teams{NotifyTarget::Kind::kTeams, "http://127.0.0.1:1/t"};
  const std::string t = format_alert(a, teams, "db1").body;
  const NotifyTarget pd{NotifyTarget::Kind::kPagerDuty, "KEY"};
  auto p = json::parse(format_alert(a, pd, "db1").body);
  for (const std::string& body : {d, t})
    for (const char* want : {"billing --month", "cronitor-agent pause nightly-billing --for 2h", "64.0 MiB"})
      EXPECT_NE(body.find(want), std::string::npos) << want << " in " << body;
  EXPECT_EQ(p["payload"]["custom_details"]["commands"][0], "cronitor-agent pause nightly-billing --for 2h");
  EXPECT_EQ(p["payload"]["custom_details"]["memory_limit_bytes"], 64 * 1024 * 1024);

  // A key that is not one shell word is quoted in the commands.
  Alert odd = a;
  odd.key = "my job's key";
  EXPECT_EQ(act_commands(odd)[1], "cronitor-agent history 'my job'\\''s key'");
}

TEST_F(AlertTest, RemovalShowsTheCommandAndIsNoEmergency) {
  Alert a = failed_alert();
  a.kind = Alert::Kind::kRemoved;
  a.summary = "nightly-billing was removed from /etc/cron.d/billing line 4";
  a.command = "/usr/local/bin/billing --month";
  a.exit_code.reset();
  a.signal.clear();
  a.oom = false;
  const std::string slack = json::parse(slack_body(a, "db1")).dump();
  EXPECT_NE(slack.find("*Removed command*\\n/usr/local/bin/billing --month"), std::string::npos) << slack;
  EXPECT_EQ(slack.find("🚨"), std::string::npos) << slack;
  EXPECT_EQ(slack.find("pause"), std::string::npos) << "nothing to pause: " << slack;
  auto discord = json::parse(format_alert(a, {NotifyTarget::Kind::kDiscord, "http://127.0.0.1:1/d"}, "db1").body);
  EXPECT_NE(discord["embeds"][0]["color"], 0xE01E5A);
  auto teams = json::parse(format_alert(a, {NotifyTarget::Kind::kTeams, "http://127.0.0.1:1/t"}, "db1").body);
  EXPECT_NE(teams["themeColor"], "E01E5A");
  auto pd = json::parse(format_alert(a, {NotifyTarget::Kind::kPagerDuty, "KEY"}, "db1").body);
  EXPECT_EQ(pd["payload"]["severity"], "info");
  EXPECT_EQ(json::parse(webhook_body(a, "db1"))["incident"], "none");
}

TEST_F(AlertTest, RecoveryAndCronDownCarryTheirFacts) {
  Alert r = failed_alert();
  r.kind = Alert::Kind::kRecovered;
  r.summary = "nightly-billing recovered after 1d down";
  r.exit_code = 0;
  r.signal.clear();
  r.oom = false;
  const std::string slack = json::parse(slack_body(r, "db1"))["blocks"].dump();
  EXPECT_NE(slack.find("*Last exit code*\\n0"), std::string::npos) << slack;

  Alert c;
  c.kind = Alert::Kind::kCronDown;
  c.key = "host:cron";
  c.name = "cron daemon";
  c.at = agent::testing::at("2026-03-29T01:00:05Z");
  c.incident_opened = agent::testing::at("2026-03-29T00:59:55Z");
  c.affected_jobs = 12;
  c.summary =
      "The cron daemon on db1 is not running (since 2026-03-29T00:59:55+00:00): the 12 cron jobs it runs will "
      "be missed";
  const std::string cs = json::parse(slack_body(c, "db1"))["blocks"].dump();
  EXPECT_NE(cs.find("*Down since*\\n2026-03-29T00:59:55+00:00"), std::string::npos) << cs;
  EXPECT_NE(cs.find("*Jobs affected*\\n12"), std::string::npos) << cs;
  EXPECT_EQ(cs.find("cronitor-agent pause"), std::string::npos) << cs;
  EXPECT_EQ(json::parse(slack_body(c, "db1"))["text"], c.summary);  // the host named once
  auto hook = json::parse(webhook_body(c, "db1"));
  EXPECT_EQ(hook["affected_jobs"], 12);
  EXPECT_EQ(hook["commands"], json::array());

  const std::string going = [] {
    Alert q = failed_alert();
    q.alert_number = 3;
    q.going_quiet = true;
    return webhook_body(q, "db1");
  }();
  EXPECT_EQ(json::parse(going)["going_quiet"], true);
  EXPECT_EQ(json::parse(going)["alert_number"], 3);
}

TEST_F(AlertTest, EmailSaysHowToAct) {
  const auto mail = stand_in_sendmail();
  AlertSender sender("db1");
  auto r = sender.send(actionable_alert(), {NotifyTarget::Kind::kEmail, "ops@example.com"});
  ::unsetenv("CRONITOR_SENDMAIL");
  ASSERT_TRUE(r.ok) << r.error;
  std::ifstream in(mail);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  for (const char* want : {"User: billing\n", "Command: /usr/local/bin/billing --month\n",
                           "Last success: 2026-03-27T01:00:04+00:00 (2 runs failed since)\n", "Peak memory: 66.0 MiB\n",
                           "Memory limit: 64.0 MiB\n",
                           "To act:\n  cronitor-agent pause nightly-billing --for 2h\n  cronitor-agent history "
                           "nightly-billing\n"})
    EXPECT_NE(text.find(want), std::string::npos) << want << " in " << text;
}

}  // namespace
}  // namespace cronitor::uplink
