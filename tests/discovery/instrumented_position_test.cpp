// Issue 19: a tool that is not the line's first command (`cd /srv && runitor -uuid U -- ./job`,
// `FOO=1 cronitor exec KEY cmd`, `cd X; sentry-cli monitors run SLUG -- cmd`) is recognised;
// `wrap --adopt` keeps what ran before it and the variables set for it with the job, or refuses
// the line naming why; `unwrap` gives back every byte.
#include <gtest/gtest.h>

#include <map>

#include "discovery/adoption_comment.h"
#include "discovery/cron_command.h"
#include "discovery/crontab_parser.h"
#include "discovery/crontab_rewriter.h"
#include "discovery/instrumented.h"
#include "test_util.h"

namespace cronitor::discovery {
namespace {

using testing::kHealthchecksUuid;

TEST(InstrumentedPosition, AToolAfterOtherCommandsIsRecognisedWithTheJobAsTheShellRanIt) {
  const std::string u = kHealthchecksUuid;
  struct Case {
    std::string command;
    const char* tool;
    const char* id;
    const char* inner;    // what cronitor-exec runs once adopted
    const char* refusal;  // part of why it is not adoptable; "" when it is
  };
  const std::vector<Case> cases = {
      {"cd /srv && runitor -uuid " + u + " -- ./job", "runitor", kHealthchecksUuid, "cd /srv && ./job", ""},
      {"cd X; sentry-cli monitors run nightly -- cmd --all", "sentry-cli", "nightly", "cd X; cmd --all", ""},
      {"FOO=1 cronitor exec k3y cmd arg", "cronitor", "k3y", "(export FOO=1; cmd arg)", ""},
      {"FOO=1 BAR='a b' runitor -slug s1 -- ./job x", "runitor", "s1", "FOO=1 BAR='a b' ./job x", ""},
      // cronitor exec ran its words with sh -c: one command after what ran before it.
      {"cd /srv && cronitor exec k3y 'a.sh; b.sh'", "cronitor", "k3y", "cd /srv && (a.sh; b.sh)", ""},
      {"test -d /srv || runitor -uuid " + u + " -- ./job", "runitor", kHealthchecksUuid, "",
       "runitor runs after \"||\""},
      {"true | sentry-cli monitors run s -- cmd", "sentry-cli", "s", "", "sentry-cli runs after \"|\""},
      {"sleep 1 & cronitor exec k3y cmd", "cronitor", "k3y", "", "cronitor runs after \"&\""},
      {"cd /srv && runitor -uuid " + u + " -- ./job && touch ok", "runitor", kHealthchecksUuid, "",
       "runs more after runitor"},
      {"CRONITOR_API_KEY=x cronitor exec k3y cmd", "cronitor", "k3y", "", "sets CRONITOR_API_KEY for cronitor"},
      {"cd /x && SENTRY_DSN=https://k@s/1 sentry-cli monitors run s -- cmd", "sentry-cli", "s", "", "SENTRY_DSN"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.command);
    auto ic = parse_instrumented(c.command);
    ASSERT_TRUE(ic);
    EXPECT_EQ(ic->what.tool, c.tool);
    EXPECT_EQ(ic->what.id, c.id);
    if (std::string(c.refusal).empty()) {
      EXPECT_EQ(ic->what.not_adoptable, "");
      EXPECT_EQ(ic->inner, c.inner);
    } else {
      EXPECT_NE(ic->what.not_adoptable.find(c.refusal), std::string::npos) << ic->what.not_adoptable;
    }
  }
  EXPECT_FALSE(parse_instrumented("cd /srv && echo runitor -uuid x -- y"));
  EXPECT_FALSE(parse_instrumented("cd /srv && (runitor -uuid x -- y)")) << "in a subshell: not recognised";
}

TEST(InstrumentedPosition, AdoptKeepsThePrefixInTheJobAndUnwrapRestoresEveryByte) {
  const std::string text = std::string("SHELL=/bin/sh\n") + "30 2 * * * root cd /srv && runitor -uuid " +
                           kHealthchecksUuid + " -- ./backup.sh > /dev/null\n" +
                           "0 4 * * 1 root cd /opt/r; sentry-cli monitors run weekly -- python3 r.py%in\n" +
                           "*/5 * * * * root FOO=1 cronitor exec d3x0c1 \"./sync.sh && ./post.sh\"\n" +
                           "1 1 * * * root test -d /x || runitor -uuid " + kHealthchecksUuid + " -- ./y\n";
  std::map<int, std::string> keys;
  for (const auto& e : parse_crontab(text, CrontabFormat::kSystem, "/etc/cron.d/t").entries)
    keys[e.line] = "key" + std::to_string(e.line);
  const Rewrite rw = wrap_crontab(text, CrontabFormat::kSystem, "/etc/cron.d/t", keys, kDefaultExecPath, true);
  ASSERT_EQ(rw.changes.size(), 3u) << rw.text;
  ASSERT_EQ(rw.skipped.size(), 1u) << rw.text;
  EXPECT_EQ(rw.skipped[0].line, 5);
  EXPECT_NE(rw.skipped[0].message.find("runitor runs after \"||\""), std::string::npos) << rw.skipped[0].message;
  const std::string& t = rw.text;
  EXPECT_NE(t.find("root /usr/bin/cronitor-exec key2 -- 'cd /srv && ./backup.sh' > /dev/null\n"), std::string::npos)
      << t;
  EXPECT_NE(t.find("root /usr/bin/cronitor-exec key3 -- 'cd /opt/r; python3 r.py'%in\n"), std::string::npos) << t;
  EXPECT_NE(t.find("root /usr/bin/cronitor-exec key4 -- '(export FOO=1; ./sync.sh && ./post.sh)'\n"), std::string::npos)
      << t;
  EXPECT_NE(t.find("adopted=runitor healthchecks_uuid=" + std::string(kHealthchecksUuid)), std::string::npos) << t;
  EXPECT_EQ(wrap_crontab(t, CrontabFormat::kSystem, "/etc/cron.d/t", keys, kDefaultExecPath, true).text, t);
  EXPECT_EQ(unwrap_crontab(t, CrontabFormat::kSystem, "/etc/cron.d/t").text, text);
}

}  // namespace
}  // namespace cronitor::discovery

namespace cronitor::discovery {
namespace {

// Issue 19 item 4: the tools' own options keep their meaning as this agent's settings, or
// `wrap --adopt` names the ones it could not carry (never their values: some are keys).
TEST(InstrumentedOptions, SentrysMonitorOptionsBecomeSettingsAndTheRestAreNamed) {
  const std::string text = std::string("SHELL=/bin/sh\n") +
                           "0 3 * * * root sentry-cli monitors run --check-in-margin 5 --timezone Europe/Berlin "
                           "--failure-issue-threshold 3 --recovery-threshold 2 --max-runtime 30 --schedule '0 3 * * *' "
                           "--auth-token sntrys_SECRET nightly -- ./n.sh\n" +
                           "*/5 * * * * root cronitor exec --no-stdout d3x0c1 ./s.sh\n" +
                           "1 1 * * * root runitor -uuid 5f0c7e2a-8d3b-4c1e-9a4f-0b6d2e8c1a37 -no-output-in-ping "
                           "-ping-key pk_SECRET -- ./r.sh\n";
  std::map<int, std::string> keys;
  for (const auto& e : parse_crontab(text, CrontabFormat::kSystem, "/etc/cron.d/o").entries)
    keys[e.line] = "key" + std::to_string(e.line);
  const Rewrite rw = wrap_crontab(text, CrontabFormat::kSystem, "/etc/cron.d/o", keys, kDefaultExecPath, true);
  ASSERT_EQ(rw.changes.size(), 3u) << rw.text;
  EXPECT_NE(rw.text.find("# cronitor: adopted=sentry-cli sentry_slug=nightly grace=5m timezone=Europe/Berlin "
                         "failure_tolerance=2 recovery_threshold=2 original="),
            std::string::npos)
      << rw.text;
  ASSERT_EQ(rw.notes.size(), 3u);
  EXPECT_EQ(rw.notes[0].line, 2);
  EXPECT_NE(rw.notes[0].message.find("without --max-runtime, --auth-token"), std::string::npos) << rw.notes[0].message;
  EXPECT_NE(rw.notes[1].message.find("without --no-stdout"), std::string::npos) << rw.notes[1].message;
  EXPECT_NE(rw.notes[2].message.find("without -no-output-in-ping, -ping-key"), std::string::npos)
      << rw.notes[2].message;
  for (const auto& n : rw.notes) EXPECT_EQ(n.message.find("SECRET"), std::string::npos) << n.message;
  // The carried settings are read back from the comment; unwrap removes them with the rest.
  auto a = parse_adoption(rw.text.substr(
      rw.text.find("# cronitor: adopted=sentry-cli"),
      rw.text.find('\n', rw.text.find("adopted=sentry-cli")) - rw.text.find("# cronitor: adopted=sentry-cli")));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->what.carried, (std::vector<std::string>{"grace=5m", "timezone=Europe/Berlin", "failure_tolerance=2",
                                                       "recovery_threshold=2"}));
  EXPECT_EQ(unwrap_crontab(rw.text, CrontabFormat::kSystem, "/etc/cron.d/o").text, text);
}

}  // namespace
}  // namespace cronitor::discovery
