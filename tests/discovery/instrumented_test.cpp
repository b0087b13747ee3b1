// Lines already instrumented for an upstream (issue 19): recognised with their tool and identity,
// never wrapped a second time, adopted by `wrap --adopt` and restored byte for byte by `unwrap`.
#include "discovery/instrumented.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "discovery/adoption_comment.h"
#include "discovery/cron_command.h"
#include "discovery/crontab_rewriter.h"
#include "discovery/crontab_source.h"
#include "discovery/shell_words.h"
#include "test_util.h"

namespace cronitor::discovery {
namespace {

using testing::kHealthchecksUuid;

struct Case {
  std::string command;
  const char* tool;
  const char* setting;
  const char* id;
  const char* inner;
  const char* outside;
  bool adoptable;
};

TEST(Instrumented, EachToolsForms) {
  const std::string u = kHealthchecksUuid;
  const std::vector<Case> cases = {
      // cronitor-cli: the words after KEY, joined, are what it runs with sh -c.
      {"cronitor exec d3x0c1 /usr/local/bin/backup.sh --full", "cronitor", "cronitor_key", "d3x0c1",
       "/usr/local/bin/backup.sh --full", "", true},
      {"/usr/bin/cronitor exec d3x0c1 \"cd /srv && ./sync.sh | tee -a /var/log/s.log\"", "cronitor", "cronitor_key",
       "d3x0c1", "cd /srv && ./sync.sh | tee -a /var/log/s.log", "", true},
      {"cronitor --env staging exec --no-stdout k3y42 -- report.sh > /dev/null 2>&1", "cronitor", "cronitor_key",
       "k3y42", "report.sh", "> /dev/null 2>&1", true},
      {"cronitor -k SECRET exec abc123 'it'\\''s.sh'", "cronitor", "cronitor_key", "abc123", "it's.sh", "", true},
      // runitor: Go flags, one or two dashes, =value or the next word; the command after them.
      {("runitor -uuid " + u + " -- /usr/local/bin/backup.sh --full"), "runitor", "healthchecks_uuid",
       kHealthchecksUuid, "/usr/local/bin/backup.sh --full", "", true},
      {"/usr/local/bin/runitor --slug=db-backup -ping-key pk_ABC -api-retries 3 pg_dump -Fc app > /srv/app.dump",
       "runitor", "healthchecks_slug", "db-backup", "pg_dump -Fc app", "> /srv/app.dump", true},
      {("runitor -api-url https://hc.example.com/ping -uuid=" + u + " -quiet -- sh -c 'echo \"a  b\"'"), "runitor",
       "healthchecks_uuid", kHealthchecksUuid, "sh -c 'echo \"a  b\"'", "", true},
      {"CHECK_UUID=x runitor -- job.sh", "runitor", "", "", "job.sh", "", false},
      {("runitor -uuid " + u + " -- a.sh && touch /tmp/ok"), "runitor", "healthchecks_uuid", kHealthchecksUuid, "a.sh",
       "", false},
      // sentry-cli monitors run SLUG -- CMD (clap options before or after the slug).
      {"sentry-cli monitors run nightly-report -- python3 /srv/report.py", "sentry-cli", "sentry_slug",
       "nightly-report", "python3 /srv/report.py", "", true},
      {"sentry-cli --log-level warn monitors run -e staging --schedule '0 3 * * *' cleanup --max-runtime 30 -- "
       "/usr/bin/cleanup --all 2>&1",
       "sentry-cli", "sentry_slug", "cleanup", "/usr/bin/cleanup --all", "2>&1", true},
      {"sentry-cli monitors run my-slug /bin/true", "sentry-cli", "sentry_slug", "my-slug", "", "", false},
      // A command that ends in a curl ping to a Healthchecks URL.
      {("/usr/local/bin/backup.sh && curl -fsS -m 10 --retry 5 -o /dev/null https://hc-ping.com/" + u), "curl",
       "healthchecks_uuid", kHealthchecksUuid, "/usr/local/bin/backup.sh", "", true},
      {("cd /srv && ./run.sh ; curl -fsS -m 10 --retry 5 -o /dev/null \"https://hc-ping.com/" + u + "/$?\""), "curl",
       "healthchecks_uuid", kHealthchecksUuid, "cd /srv && ./run.sh", "", true},
      {("curl -fsS https://hc-ping.com/" + u + "/start && job.sh && curl -fsS https://hc-ping.com/" + u), "curl",
       "healthchecks_uuid", kHealthchecksUuid, "job.sh", "", true},
      {"job.sh 2>&1 | curl -fsS -m 10 --retry 5 --data-binary @- https://hc-ping.com/pk_ABCdef123/nightly-job", "curl",
       "healthchecks_slug", "nightly-job", "job.sh 2>&1", "", true},
      {("job.sh && curl -s https://hc.example.org/ping/" + u + " || curl -s https://hc.example.org/ping/" + u +
        "/fail"),
       "curl", "healthchecks_uuid", kHealthchecksUuid, "job.sh", "", true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.command);
    auto ic = parse_instrumented(c.command);
    ASSERT_TRUE(ic);
    EXPECT_EQ(ic->what.tool, c.tool);
    EXPECT_EQ(ic->what.setting, c.setting);
    EXPECT_EQ(ic->what.id, c.id);
    if (c.adoptable || !std::string(c.inner).empty()) {
      EXPECT_EQ(ic->inner, c.inner);
    }
    EXPECT_EQ(ic->outside, c.outside);
    EXPECT_EQ(ic->what.not_adoptable.empty(), c.adoptable) << ic->what.not_adoptable;
  }
  auto s = parse_instrumented("sentry-cli -e prod monitors run x -- y");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->what.environment, "prod");
  EXPECT_EQ(s->what.describe(), "sentry-cli: sentry slug x (environment prod)");
  auto h = parse_instrumented("runitor -api-url https://hc.example.com/ping -slug s -- y");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->what.server, "https://hc.example.com/ping");
}

TEST(Instrumented, LinesThatOnlyMentionATool) {
  for (const char* c : {
           "echo runitor -uuid 5f0c7e2a-8d3b-4c1e-9a4f-0b6d2e8c1a37 -- x",
           "grep sentry-cli /var/log/syslog",
           "/usr/bin/cronitor-exec abc -- 'runitor -slug x -- y'",
           "cronitor status",
           "cronitor ping d3x0c1 --run",
           "sentry-cli releases new 1.0",
           "backup.sh && curl -fsS https://example.com/hooks/done",
           "backup.sh && curl -fsS https://hc-ping.com/not-a-check/and/more/parts",
           "backup.sh # && curl https://hc-ping.com/5f0c7e2a-8d3b-4c1e-9a4f-0b6d2e8c1a37",
           "'runitor' -uuid 5f0c7e2a-8d3b-4c1e-9a4f-0b6d2e8c1a37 -- unclosed 'quote",
           "curl -fsS https://hc-ping.com/5f0c7e2a-8d3b-4c1e-9a4f-0b6d2e8c1a37",  // only a ping: no job
           "$(echo runitor) -uuid 5f0c7e2a-8d3b-4c1e-9a4f-0b6d2e8c1a37 -- x",
       }) {
    EXPECT_FALSE(parse_instrumented(c)) << c;
  }
}

TEST(Instrumented, OddQuotingKeepsWhatTheShellRan) {
  // runitor execs its words as the outer shell split them: the same text run by sh -c splits alike.
  auto r = parse_instrumented("runitor -uuid 5f0c7e2a-8d3b-4c1e-9a4f-0b6d2e8c1a37 -- printf '\\%s\\n' \"$HOME\" a\\ b");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->inner, "printf '%s\\n' \"$HOME\" a\\ b");
  // cron's '%' is stdin and "\%" a '%': the tool sees the shell's text.
  r = parse_instrumented("runitor -uuid 5f0c7e2a-8d3b-4c1e-9a4f-0b6d2e8c1a37 -- date +\\%F%input");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->inner, "date +%F");
  // A quoted tool name is still the tool; a quoted flag value too.
  r = parse_instrumented("\"sentry-cli\" monitors run 'my-slug' -- true");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->what.id, "my-slug");
  // Quotes and backslashes inside a tool's name are removed by the shell: each line names its tool
  // (lines without the name in their text are passed over before they are split into words).
  for (const auto& [line, tool] : std::vector<std::pair<std::string, std::string>>{
           {"ru'n'itor -uuid 5f0c7e2a-8d3b-4c1e-9a4f-0b6d2e8c1a37 -- job.sh", "runitor"},
           {"/usr/bin/cro\"ni\"tor exec k1 job.sh", "cronitor"},
           {"sentry\\-cli monitors run my-slug -- true", "sentry-cli"},
           {"job.sh && c\\u'r'\"l\" -fsS https://hc-ping.com/5f0c7e2a-8d3b-4c1e-9a4f-0b6d2e8c1a37", "curl"},
           {"job.sh && \\curl -fsS https://hc-ping.com/5f0c7e2a-8d3b-4c1e-9a4f-0b6d2e8c1a37", "curl"}}) {
    r = parse_instrumented(line);
    ASSERT_TRUE(r) << line;
    EXPECT_EQ(r->what.tool, tool) << line;
  }
  // A comment inside the line ends it, as in sh.
  r = parse_instrumented("cronitor exec k1 job.sh # nightly");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->inner, "job.sh");
  auto t = split_shell("a \"b $(c \"d)\" e)\" 'f''g' h\\ i 2>&1 >>x");
  ASSERT_TRUE(t);
  ASSERT_EQ(t->size(), 8u);
  EXPECT_EQ((*t)[1].value, "b $(c \"d)\" e)");
  EXPECT_EQ((*t)[2].value, "fg");
  EXPECT_EQ((*t)[3].value, "h i");
  EXPECT_EQ((*t)[4].kind, ShellToken::Kind::kRedirect);
  EXPECT_FALSE(split_shell("cat <<EOF"));
}

const std::string kCrontab =
    "# m h dom mon dow user command\n"
    "SHELL=/bin/sh\n"
    "MAILTO=ops@example.com\n"
    "# Name: Nightly backup\n"
    "30 2 * * * root runitor -uuid 5f0c7e2a-8d3b-4c1e-9a4f-0b6d2e8c1a37 -- /usr/local/bin/backup.sh --full\n"
    "# cronitor: grace=10m\n"
    "*/5 * * * *  root   cronitor exec d3x0c1 \"cd /srv && ./sync.sh\" >/dev/null 2>&1\n"
    "# cronitor:\n"
    "0 4 * * 1 root sentry-cli monitors run -e staging weekly-report -- python3 /srv/report.py%weekly\\%input\n"
    "15 3 * * * root /usr/bin/pg-dump.sh && curl -fsS -m 10 --retry 5 -o /dev/null "
    "https://hc-ping.com/pk_ABCdef123/db-dump/$?\r\n"
    "0 5 * * * root /usr/bin/plain.sh\n"
    "# cronitor: ignore\n"
    "0 6 * * * root runitor -uuid 5f0c7e2a-8d3b-4c1e-9a4f-0b6d2e8c1a37 -- ignored.sh\n"
    "1 1 * * * root runitor -uuid 5f0c7e2a-8d3b-4c1e-9a4f-0b6d2e8c1a37 -- a.sh && b.sh\n";

std::map<int, std::string> keys_for(const std::string& text) {
  std::map<int, std::string> keys;
  const auto parsed = parse_crontab(text, CrontabFormat::kSystem, "/etc/cron.d/jobs");
  for (const auto& e : parsed.entries)
    if (!e.disabled && !e.ignored) keys[e.line] = "key" + std::to_string(e.line);
  return keys;
}

TEST(Instrumented, WrapLeavesThemAloneAndWrapsTheRest) {
  const Rewrite rw =
      wrap_crontab(kCrontab, CrontabFormat::kSystem, "/etc/cron.d/jobs", keys_for(kCrontab), kDefaultExecPath);
  ASSERT_EQ(rw.changes.size(), 1u) << rw.text;  // only plain.sh
  EXPECT_EQ(rw.changes[0].line, 11);
  EXPECT_NE(rw.text.find("runitor -uuid 5f0c7e2a-8d3b-4c1e-9a4f-0b6d2e8c1a37 -- /usr/local/bin/backup.sh --full\n"),
            std::string::npos);
  EXPECT_NE(rw.text.find("root   cronitor exec d3x0c1"), std::string::npos);
  // cronitor-cli's own line is not this agent's wrapper: unwrap leaves it as it is.
  const Rewrite un = unwrap_crontab(kCrontab, CrontabFormat::kSystem, "/etc/cron.d/jobs");
  EXPECT_FALSE(un.changed()) << un.text;
  EXPECT_FALSE(parse_wrapped("cronitor exec d3x0c1 job.sh"));
}

TEST(Instrumented, AdoptThenUnwrapRestoresEveryByte) {
  const Rewrite rw = wrap_crontab(kCrontab, CrontabFormat::kSystem, "/etc/cron.d/jobs", keys_for(kCrontab),
                                  kDefaultExecPath, /*adopt=*/true);
  // runitor, cronitor, sentry-cli, curl and the plain line; not the ignored one (no key) nor "a.sh && b.sh".
  ASSERT_EQ(rw.changes.size(), 5u) << rw.text;
  ASSERT_EQ(rw.skipped.size(), 1u);
  EXPECT_NE(rw.skipped[0].message.find("runs more after runitor"), std::string::npos) << rw.skipped[0].message;
  const std::string& t = rw.text;
  EXPECT_NE(t.find("# Name: Nightly backup\n# cronitor: adopted=runitor "
                   "healthchecks_uuid=5f0c7e2a-8d3b-4c1e-9a4f-0b6d2e8c1a37 original=\"runitor -uuid "
                   "5f0c7e2a-8d3b-4c1e-9a4f-0b6d2e8c1a37 -- /usr/local/bin/backup.sh --full\"\n"
                   "30 2 * * * root /usr/bin/cronitor-exec key5 -- '/usr/local/bin/backup.sh --full'\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("# cronitor: grace=10m adopted=cronitor cronitor_key=d3x0c1 original=\"cronitor exec d3x0c1 "
                   "%22cd /srv && ./sync.sh%22 >/dev/null 2>&1\"\n*/5 * * * *  root   /usr/bin/cronitor-exec key7 -- "
                   "'cd /srv && ./sync.sh' >/dev/null 2>&1\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("# cronitor:\n# cronitor: adopted=sentry-cli sentry_slug=weekly-report environment=staging "),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("/usr/bin/cronitor-exec key9 -- 'python3 /srv/report.py'%weekly\\%input\n"), std::string::npos) << t;
  EXPECT_NE(t.find("/usr/bin/cronitor-exec key10 -- '/usr/bin/pg-dump.sh'\r\n"), std::string::npos) << t;
  EXPECT_NE(t.find("adopted=curl healthchecks_slug=db-dump original="), std::string::npos) << t;
  // What cron feeds the job on stdin is the same.
  const auto after = parse_crontab(t, CrontabFormat::kSystem, "/etc/cron.d/jobs");
  for (const auto& e : after.entries)
    if (e.command.find("report.py") != std::string::npos) {
      EXPECT_EQ(stdin_text(e.command), "weekly%input");
    }
  // Adopting again changes nothing; unwrap gives back the original bytes.
  const Rewrite again =
      wrap_crontab(t, CrontabFormat::kSystem, "/etc/cron.d/jobs", keys_for(t), kDefaultExecPath, true);
  EXPECT_EQ(again.text, t);
  const Rewrite un = unwrap_crontab(t, CrontabFormat::kSystem, "/etc/cron.d/jobs");
  EXPECT_EQ(un.changes.size(), 5u);
  EXPECT_EQ(un.text, kCrontab);
  // The dry run's diff shows the inserted comment lines in place.
  const std::string diff = unified_diff(kCrontab, t, "/etc/cron.d/jobs");
  int plus = 0, minus = 0;
  for (std::size_t at = 0; at < diff.size(); at = diff.find('\n', at) + 1) {
    if (diff.compare(at, 3, "+++") != 0 && diff[at] == '+') ++plus;
    if (diff.compare(at, 3, "---") != 0 && diff[at] == '-') ++minus;
  }
  EXPECT_EQ(plus - minus, 3) << diff;  // three comment lines of their own
  EXPECT_NE(diff.find("-30 2 * * * root runitor"), std::string::npos) << diff;
  EXPECT_NE(diff.find("+# cronitor: adopted=runitor"), std::string::npos) << diff;
  EXPECT_EQ(unified_diff(t, kCrontab, "/x").find("+# cronitor: adopted"), std::string::npos);
}

TEST(Instrumented, DiscoveryShowsTheToolAndTheIdentity) {
  auto jobs = crontab_jobs(parse_crontab(kCrontab, CrontabFormat::kSystem, "/etc/cron.d/jobs"), "/etc/cron.d/jobs",
                           JobOrigin::kSystemCrontab, "", "Etc/UTC", "");
  auto find = [&](int line) -> const Job& {
    for (const Job& j : jobs)
      if (j.line == line) return j;
    ADD_FAILURE() << "no job on line " << line;
    return jobs.front();
  };
  const Job& run = find(5);
  ASSERT_TRUE(run.instrumented);
  EXPECT_FALSE(run.wrapped);
  // The UUID is the check's secret: shown masked, as the agent masks keys (issue 19).
  EXPECT_EQ(run.instrumented->describe(), "runitor: healthchecks uuid 5f0c…");
  EXPECT_EQ(run.name, "Nightly backup");
  const Job& cli = find(7);
  ASSERT_TRUE(cli.instrumented);
  EXPECT_FALSE(cli.wrapped) << "cronitor-cli reports to Cronitor, not to this agent";
  EXPECT_EQ(cli.name, "sync");
  const nlohmann::json j = to_json(cli);
  EXPECT_EQ(j["instrumented"]["tool"], "cronitor");
  EXPECT_EQ(j["instrumented"]["setting"], "cronitor_key");
  EXPECT_EQ(j["instrumented"]["id"], "d3x0c1");
  EXPECT_EQ(j["instrumented"]["adopted"], false);
  EXPECT_TRUE(to_json(find(11))["instrumented"].is_null());
  // Once adopted: wrapped, with the same identity read from the comment, under the same key.
  const Rewrite rw =
      wrap_crontab(kCrontab, CrontabFormat::kSystem, "/etc/cron.d/jobs", {{5, run.key}}, kDefaultExecPath, true);
  auto adopted = crontab_jobs(parse_crontab(rw.text, CrontabFormat::kSystem, "/etc/cron.d/jobs"), "/etc/cron.d/jobs",
                              JobOrigin::kSystemCrontab, "", "Etc/UTC", "");
  ASSERT_EQ(adopted[0].line, 6);
  EXPECT_TRUE(adopted[0].wrapped);
  EXPECT_EQ(adopted[0].key, run.key);
  ASSERT_TRUE(adopted[0].instrumented);
  EXPECT_TRUE(adopted[0].instrumented->adopted);
  EXPECT_EQ(adopted[0].instrumented->id, run.instrumented->id);
  EXPECT_EQ(adopted[0].name, "Nightly backup");
}

TEST(Instrumented, AUsersCrontabKeepsOnlyAUuid) {
  const std::string text =
      "0 1 * * * runitor -uuid 5f0c7e2a-8d3b-4c1e-9a4f-0b6d2e8c1a37 -- a.sh\n"
      "0 2 * * * sentry-cli monitors run someone-elses -- b.sh\n";
  const Rewrite rw = wrap_crontab(text, CrontabFormat::kUser, "/var/spool/cron/crontabs/alice", {{1, "k1"}, {2, "k2"}},
                                  kDefaultExecPath, true);
  EXPECT_EQ(rw.changes.size(), 1u);
  ASSERT_EQ(rw.skipped.size(), 1u);
  EXPECT_NE(rw.skipped[0].message.find("user's crontab"), std::string::npos);
  EXPECT_EQ(unwrap_crontab(rw.text, CrontabFormat::kUser, "x").text, text);
}

TEST(Instrumented, AdoptionCommentsReadBack) {
  Instrumentation i;
  i.tool = "runitor";
  i.setting = "healthchecks_slug";
  i.id = "db";
  const std::string original = "runitor -slug db -- x \"%\" \t\x01 \xc3\xa9";
  const std::string line = "# cronitor: " + adoption_settings(i, original);
  auto a = parse_adoption(line);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->whole_line);
  EXPECT_EQ(a->what.original, original);
  EXPECT_EQ(a->what.id, "db");
  EXPECT_EQ(line.find('"', line.find("original=\"") + 10), line.size() - 1) << "one quoted value";
  a = parse_adoption("  # cronitor: name=x  " + adoption_settings(i, "y") + "\r");
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->whole_line);
  EXPECT_FALSE(parse_adoption("# Name: adopted=runitor healthchecks_slug=x original=\"y\""));
  EXPECT_FALSE(parse_adoption("# cronitor: adopted=runitor healthchecks_slug=x original=\"%4\""));
}

}  // namespace
}  // namespace cronitor::discovery
