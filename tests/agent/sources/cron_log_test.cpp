// cron's own log lines (Debian cron 3.0pl1-162, as it logged them on this kind of host with
// -L 15 and with its default -L 1) into run events for the jobs observed that way.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "agent/config/config.h"
#include "agent/sources/cron_log_line.h"
#include "agent/sources/cron_log_watch.h"
#include "agent/sources/cron_logging.h"
#include "agent/sources/cron_run_tracker.h"
#include "agent/sources/event_adapter.h"

namespace cronitor::agent {
namespace {

using LineKind = CronLogLine::Kind;

TEST(CronLogLine, ParsesStartEndAndFailuresAsCronWritesThem) {
  auto cmd = parse_cron_message(16250, "(root) CMD ([16256]   /bin/true  ok-job   )");
  ASSERT_TRUE(cmd);
  EXPECT_EQ(cmd->kind, LineKind::kCmd);
  EXPECT_EQ(cmd->cron_pid, 16250);
  EXPECT_EQ(cmd->user, "root");
  EXPECT_EQ(cmd->job_pid, 16256);
  EXPECT_EQ(cmd->command, "  /bin/true  ok-job   ");

  auto plain = parse_cron_message(7, "(nobody) CMD (echo \"quote's\" (x) > /dev/null)");  // -L 1: no pid
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->user, "nobody");
  EXPECT_EQ(plain->job_pid, 0);
  EXPECT_EQ(plain->command, "echo \"quote's\" (x) > /dev/null");

  auto end = parse_cron_message(16249, "(root) END ([16253] /bin/sh -c 'exit 3' # fail)");
  ASSERT_TRUE(end);
  EXPECT_EQ(end->kind, LineKind::kEnd);
  EXPECT_EQ(end->command, "/bin/sh -c 'exit 3' # fail");

  auto failed = parse_cron_message(16249, "(CRON) error (grandchild #16253 failed with exit status 3)");
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->kind, LineKind::kError);
  EXPECT_EQ(failed->job_pid, 16253);
  EXPECT_EQ(failed->exit_status, 3);

  auto killed = parse_cron_message(16246, "(CRON) error (grandchild #16251 terminated by signal 9)");
  ASSERT_TRUE(killed);
  EXPECT_EQ(killed->exit_status, 137);
  EXPECT_EQ(killed->signal, "SIGKILL");

  for (const char* other : {"pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)",
                            "(CRON) INFO (pidfile fd = 4)", "(root) CMD (unterminated", "(root) RELOAD (crontabs/root)",
                            "(CRON) error (grandchild #x failed with exit status 3)",
                            "(CRON) error (grandchild #5 failed with exit status 999)", ""})
    EXPECT_FALSE(parse_cron_message(1, other)) << other;
}

TEST(CronLogLine, FindsCronLinesInAnySyslogFormat) {
  auto rfc3164 = split_syslog_line("Nov 30 04:24:01 host CRON[16248]: (root) CMD ([16252] cat > /dev/null)\n");
  ASSERT_TRUE(rfc3164);
  EXPECT_EQ(rfc3164->first, 16248);
  EXPECT_EQ(rfc3164->second, "(root) CMD ([16252] cat > /dev/null)");
  auto rsyslog = split_syslog_line("2026-11-30T04:24:01.123456+00:00 host CRON[5]: (root) END (x)");
  ASSERT_TRUE(rsyslog);
  EXPECT_EQ(rsyslog->second, "(root) END (x)");
  auto raw = split_syslog_line("04:24:01 <78>Nov 30 04:24:01 CRON[9]: (root) CMD (y)");  // a /dev/log datagram
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->first, 9);
  EXPECT_FALSE(split_syslog_line("Nov 30 host anacron[5]: Job `cron.daily' started"));
  EXPECT_FALSE(split_syslog_line("Nov 30 host MYCRON[5]: (root) CMD (fake)"));
  EXPECT_FALSE(split_syslog_line("Nov 30 host CRON[99999999999]: (root) CMD (x)"));
}

TEST(CronLogLine, LoggedCommandIsCutAtTheFirstPercent) {
  EXPECT_EQ(cron_logged_command("cat > /dev/null%stdin line%two"), "cat > /dev/null");
  EXPECT_EQ(cron_logged_command("date +\\%s > /tmp/x"), "date +%s > /tmp/x");
  EXPECT_EQ(cron_logged_command("  /bin/true  ok-job   "), "/bin/true  ok-job");
}

TEST(CronLogLevel, ReadsMinusLFromCronsCommandLine) {
  EXPECT_EQ(cron_log_level({"/usr/sbin/cron", "-f"}), 1);
  EXPECT_EQ(cron_log_level({"/usr/sbin/cron", "-f", "-L", "15"}), 15);
  EXPECT_EQ(cron_log_level({"cron", "-L5"}), 5);
  EXPECT_EQ(cron_log_level({"cron", "-L", "x"}), 1);
}

struct Tracked {
  CronRunTracker tracker{"h1", [](const std::string& user, const std::string& command) {
                           if (user == "root" && command == "/usr/lib/e2scrub_all_cron")
                             return std::optional(CronRunTracker::Match{"e2scrub", 0});
                           return std::optional<CronRunTracker::Match>();
                         }};
  std::vector<cronitor::RunEvent> feed(int64_t pid, const std::string& msg, int64_t ms, bool ends = true,
                                       bool failures = true) {
    auto l = parse_cron_message(pid, msg);
    EXPECT_TRUE(l) << msg;
    return l ? tracker.feed(*l, ms, {ends, failures}) : std::vector<cronitor::RunEvent>{};
  }
};

TEST(CronRunTracker, StartAndEndBecomeOneRunWithItsOutcome) {
  Tracked t;
  constexpr int64_t t0 = 1795255380000;
  auto run = t.feed(100, "(root) CMD ([101] /usr/lib/e2scrub_all_cron)", t0);
  ASSERT_EQ(run.size(), 1u);
  EXPECT_EQ(run[0].state, cronitor::RunState::kRun);
  EXPECT_EQ(run[0].key, "e2scrub");
  EXPECT_EQ(run[0].pid, 101);
  EXPECT_EQ(run[0].host, "h1");
  EXPECT_TRUE(cronitor::valid_run_id(run[0].run_id));
  EXPECT_EQ(run[0].run_id[14], '7') << run[0].run_id;  // common/run_id.h's ids, as the wrapper's
  // Another job's lines (not observed) and a stranger's END in between change nothing.
  EXPECT_TRUE(t.feed(200, "(root) CMD ([201] /usr/local/bin/other)", t0).empty());
  EXPECT_TRUE(t.feed(200, "(root) END ([201] /usr/local/bin/other)", t0 + 5).empty());
  EXPECT_TRUE(t.feed(100, "(CRON) error (grandchild #101 failed with exit status 3)", t0 + 2500).empty());
  auto end = t.feed(100, "(root) END ([101] /usr/lib/e2scrub_all_cron)", t0 + 2500);
  ASSERT_EQ(end.size(), 1u);
  EXPECT_EQ(end[0].state, cronitor::RunState::kFail);
  EXPECT_EQ(end[0].run_id, run[0].run_id);
  EXPECT_EQ(end[0].exit_code, 3);
  EXPECT_EQ(end[0].duration_ms, 2500);
  // The wire encoding takes what the tracker made: the daemon ingests it as a wrapper's event.
  EXPECT_TRUE(cronitor::decode(cronitor::encode(end[0])));
  EXPECT_EQ(t.tracker.open_runs(), 0u);

  t.feed(300, "(root) CMD ([301] /usr/lib/e2scrub_all_cron)", t0 + 60000);
  auto ok = t.feed(300, "(root) END ([301] /usr/lib/e2scrub_all_cron)", t0 + 61000);
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0].state, cronitor::RunState::kComplete);
  EXPECT_EQ(ok[0].exit_code, 0);
}

// Without -L 8 the job's shell logs the CMD line and the cron child the END and failure lines
// (Debian's cron 3.0pl1-162, seen with the real daemon at -L 3: "CRON[1149]: (root) CMD (...)",
// then "CRON[1148]: (root) END (...)"). The pids differ; each END still ends its own run.
TEST(CronRunTracker, WithoutPidsTheChildsEndEndsTheRunItsShellStarted) {
  Tracked t;
  constexpr int64_t t0 = 1795255380000;
  const std::string cmd = "(root) CMD (/usr/lib/e2scrub_all_cron)", end = "(root) END (/usr/lib/e2scrub_all_cron)";
  // Two runs of one line at once (a slow run overlaps the next): shells 1149 and 2201.
  auto a = t.feed(1149, cmd, t0);
  auto b = t.feed(2201, cmd, t0 + 60000);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(a[0].pid, 1149);
  // The second run's child says its shell failed, then ends; the first run's child ends later.
  EXPECT_TRUE(t.feed(2200, "(CRON) error (grandchild #2201 failed with exit status 4)", t0 + 61000).empty());
  auto b_end = t.feed(2200, end, t0 + 61000);
  ASSERT_EQ(b_end.size(), 1u);
  EXPECT_EQ(b_end[0].run_id, b[0].run_id);
  EXPECT_EQ(b_end[0].state, cronitor::RunState::kFail);
  EXPECT_EQ(b_end[0].exit_code, 4);
  EXPECT_EQ(b_end[0].pid, 2201);
  auto a_end = t.feed(1148, end, t0 + 90000);
  ASSERT_EQ(a_end.size(), 1u);
  EXPECT_EQ(a_end[0].run_id, a[0].run_id);
  EXPECT_EQ(a_end[0].state, cronitor::RunState::kComplete);
  EXPECT_EQ(a_end[0].duration_ms, 90000);
  EXPECT_EQ(t.tracker.open_runs(), 0u);

  // Two open runs and an END with no failure line: the run whose shell came first after the child.
  auto c = t.feed(3001, cmd, t0 + 120000);
  auto d = t.feed(3101, cmd, t0 + 180000);
  auto d_end = t.feed(3100, end, t0 + 181000);
  ASSERT_EQ(d_end.size(), 1u);
  EXPECT_EQ(d_end[0].run_id, d[0].run_id);
  auto c_end = t.feed(3000, end, t0 + 200000);
  ASSERT_EQ(c_end.size(), 1u);
  EXPECT_EQ(c_end[0].run_id, c[0].run_id);
  // Another line's END (same child pid as nothing open) ends nothing.
  EXPECT_TRUE(t.feed(3300, "(root) END (/usr/local/bin/other)", t0 + 200001).empty());
}

// -L 3 (starts and ends, not failures): an END is no proof of success. Never record what was not
// seen: the run ended with its outcome unknown; a failure line, when one comes, is still a failure.
TEST(CronRunTracker, AnEndWhileCronLogsNoFailuresIsOfUnknownOutcome) {
  Tracked t;
  constexpr int64_t t0 = 1795255380000;
  auto run = t.feed(501, "(root) CMD (/usr/lib/e2scrub_all_cron)", t0, true, false);
  auto end = t.feed(500, "(root) END (/usr/lib/e2scrub_all_cron)", t0 + 3000, true, false);
  ASSERT_EQ(end.size(), 1u);
  EXPECT_EQ(end[0].run_id, run[0].run_id);
  EXPECT_EQ(end[0].state, cronitor::RunState::kUnknown);
  EXPECT_EQ(t.tracker.open_runs(), 0u);
}

// Issue 17 item 5: at cron's default -L 1 the start is all there is. The run is closed at once
// (nothing left open to look like an overlap later), as ended with its outcome unknown: never a
// `complete` (which was stored and shown as "ok, exit 0, 0 ms" and became the last success).
TEST(CronRunTracker, WithoutEndLinesAStartIsARunOfUnknownOutcome) {
  Tracked t;
  auto evs = t.feed(100, "(root) CMD (/usr/lib/e2scrub_all_cron)", 1795255380000, /*ends=*/false);
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0].state, cronitor::RunState::kRun);
  EXPECT_EQ(evs[1].state, cronitor::RunState::kUnknown);
  EXPECT_EQ(evs[1].run_id, evs[0].run_id);
  EXPECT_EQ(evs[1].ts, evs[0].ts);  // its start: the end is not known
  EXPECT_EQ(t.tracker.open_runs(), 0u);
  // The agent's own state: no wrapper can send it (the wire format refuses it).
  EXPECT_FALSE(cronitor::decode(cronitor::encode(evs[1])));
  // In the evaluator's terms: no exit code, no duration.
  auto ev = from_wire(evs[1]);
  ASSERT_TRUE(ev) << ev.error().message;
  EXPECT_EQ(ev->state, RunEvent::State::kUnknown);
  EXPECT_FALSE(ev->exit_code.has_value());
  EXPECT_FALSE(ev->duration_ms.has_value());
}

TEST(CronLogLevel, ExtraOptsOfEtcDefaultCronAsTheShellReadsThem) {
  EXPECT_EQ(extra_opts_log_level(""), std::nullopt);
  // Debian 12's file as shipped: every EXTRA_OPTS commented out.
  EXPECT_EQ(extra_opts_log_level("READ_ENV=\"yes\"\n# EXTRA_OPTS='-L 5'\n#EXTRA_OPTS=\"\"\n"), std::nullopt);
  EXPECT_EQ(extra_opts_log_level("EXTRA_OPTS='-L 15'\n"), 15);
  EXPECT_EQ(extra_opts_log_level("EXTRA_OPTS=\"-l -L 5\"  # start and failures\n"), 5);
  EXPECT_EQ(extra_opts_log_level("export EXTRA_OPTS=-L3\n"), 3);
  EXPECT_EQ(extra_opts_log_level("EXTRA_OPTS='-L 15'\nEXTRA_OPTS='-l'\n"), std::nullopt);  // the last one counts
  EXPECT_EQ(extra_opts_log_level("EXTRA_OPTS=\"\"\n"), std::nullopt);
}

TEST(CronLogLevel, FailuresAreUnseenUnlessCronLogsEnds) {
  // Cron's default and -L 5 (starts and failed jobs, no END lines): failures not seen, fix given.
  for (int level : {0, 1, 4, 5, 9}) {
    auto why = unseen_failures(CronLogging{level, "cron's default"});
    ASSERT_TRUE(why) << level;
    EXPECT_NE(why->find("-L " + std::to_string(level) + ", cron's default"), std::string::npos) << *why;
    EXPECT_NE(why->find("EXTRA_OPTS='-L 15' in /etc/default/cron"), std::string::npos) << *why;
    EXPECT_NE(why->find("wrap --package-files"), std::string::npos) << *why;
  }
  // -L 3: ends, but a failed job's end looks like a success's: failures unseen still.
  for (int level : {2, 3, 10, 11}) {
    auto why = unseen_failures(CronLogging{level, "x"});
    ASSERT_TRUE(why) << level;
    EXPECT_NE(why->find("the start and end of jobs but not their failures"), std::string::npos) << *why;
  }
  for (int level : {6, 7, 15}) EXPECT_EQ(unseen_failures(CronLogging{level, "x"}), std::nullopt) << level;
}

TEST(CronLogLevel, DetectedFromEtcDefaultCronWhenNoCronRuns) {
  const std::string root = ::testing::TempDir() + "cronlog-level-" + std::to_string(::getpid());
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root + "/etc/default");
  EXPECT_EQ(detect_cron_logging(root).from, "cron's default");
  EXPECT_EQ(detect_cron_logging(root).level, 1);
  std::ofstream(root + "/etc/default/cron") << "EXTRA_OPTS='-L 15'\n";
  EXPECT_EQ(detect_cron_logging(root).level, 15);
  EXPECT_EQ(detect_cron_logging(root).from, "EXTRA_OPTS in /etc/default/cron");
  // A live cron's own command line wins over the file (this test process stands in for it).
  std::filesystem::create_directories(root + "/run");
  std::ofstream(root + "/run/crond.pid") << ::getpid() << "\n";
  const CronLogging live = detect_cron_logging(root);
  EXPECT_EQ(live.level, 1);  // the test binary has no -L
  EXPECT_EQ(live.from, "cron's command line (pid " + std::to_string(::getpid()) + ")");
  std::filesystem::remove_all(root);
}

TEST(CronRunTracker, RunsWhoseEndNeverCameAreForgotten) {
  Tracked t;
  t.feed(100, "(root) CMD (/usr/lib/e2scrub_all_cron)", 1000);
  EXPECT_EQ(t.tracker.open_runs(), 1u);
  t.tracker.forget_before(1000 + 23 * 3600 * 1000);
  EXPECT_EQ(t.tracker.open_runs(), 1u);
  t.tracker.forget_before(1000 + 25 * 3600 * 1000);
  EXPECT_EQ(t.tracker.open_runs(), 0u);
}

}  // namespace
}  // namespace cronitor::agent

namespace cronitor::agent {
namespace {

TEST(CronLogConfig, WrapAndCronLogKeysAreCheckedWithTheirLine) {
  auto c = parse_config(
      "discovery:\n  wrapper_path: /opt/cronitor/bin/cronitor-exec\n  wrap_package_files: true\n"
      "  cron_log: /var/log/cron.log\n",
      "a.yaml");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->discovery.wrapper_path, "/opt/cronitor/bin/cronitor-exec");
  EXPECT_TRUE(c->discovery.wrap_package_files);
  EXPECT_EQ(c->discovery.cron_log, "/var/log/cron.log");
  auto d = parse_config("discovery: {}\n", "a.yaml");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->discovery.wrapper_path, "/usr/bin/cronitor-exec");
  EXPECT_FALSE(d->discovery.wrap_package_files);
  EXPECT_EQ(d->discovery.cron_log, "auto");
  auto bad = parse_config("discovery:\n  wrapper_path: build/bin/cronitor-exec\n  cron_log: syslog\n", "a.yaml");
  ASSERT_FALSE(bad);
  ASSERT_EQ(bad.error().size(), 2u);
  EXPECT_EQ(bad.error()[0].text(), "a.yaml:2: discovery.wrapper_path: must be an absolute path");
  EXPECT_EQ(bad.error()[1].line, 3);
}

}  // namespace
}  // namespace cronitor::agent
