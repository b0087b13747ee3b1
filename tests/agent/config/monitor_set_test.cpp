#include "agent/config/monitor_set.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "agent/config/discovery_adapter.h"
#include "agent/eval/evaluator.h"
#include "discovery/fs_root.h"
#include "discovery/scanner.h"

namespace cronitor::agent {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

TEST(MonitorSet, OnlyJobsWhoseRunsAreReportedGetDeadlinesAtOnce) {
  auto with_auto_wrap = [](bool on) {
    auto cfg = parse_config(std::string("discovery: {auto_wrap: ") + (on ? "true" : "false") + "}\n", "agent.yaml");
    EXPECT_TRUE(cfg);
    return *cfg;
  };
  DiscoveredJob line;  // a cron.d line
  line.key = "k1";
  line.schedule = "*/5 * * * *";
  line.file = "/etc/cron.d/x";
  line.line = 2;
  line.wrappable = true;
  DiscoveredJob script = line;  // a run-parts script: nothing wraps it
  script.key = "k2";
  script.file = "/etc/cron.hourly/y";
  script.line = 0;
  script.wrappable = false;
  ZoneCache zones;
  std::vector<std::string> warnings;
  auto on = build_monitors(with_auto_wrap(true), {line, script}, zones, warnings);
  ASSERT_EQ(on.size(), 2u);
  EXPECT_FALSE(on[0].awaits_first_run);  // auto_wrap makes it report
  EXPECT_TRUE(on[1].awaits_first_run);
  auto off = build_monitors(with_auto_wrap(false), {line, script}, zones, warnings);
  EXPECT_TRUE(off[0].awaits_first_run);  // nobody wraps it
  line.wrapped = true;
  script.wrapped = true;
  auto wrapped = build_monitors(with_auto_wrap(false), {line, script}, zones, warnings);
  EXPECT_FALSE(wrapped[0].awaits_first_run);
  EXPECT_FALSE(wrapped[1].awaits_first_run);
  // Unreported: no deadline until a first run; then the next slot.
  const Instant now = std::chrono::sys_days{std::chrono::year{2026} / 11 / 21} + std::chrono::hours(12);
  MonitorState s = initial_state(off[0], now);
  EXPECT_FALSE(next_deadline(off[0], s));
  EXPECT_TRUE(next_deadline(on[0], initial_state(on[0], now)));
  EXPECT_TRUE(warnings.empty());
}

TEST(MonitorSet, DefaultsThenCommentThenConfigEntry) {
  auto cfg = parse_config(R"(
defaults: {grace_seconds: 60, failure_tolerance: 0, notify: [ops]}
notify: {ops: ["webhook:http://127.0.0.1:1/x"], oncall: ["pagerduty:k"]}
monitors:
  - key: billing
    failure_tolerance: 5
  - key: extra
    schedule: "every 5 minutes"
)",
                          "agent.yaml");
  ASSERT_TRUE(cfg) << format_errors(cfg.error());
  DiscoveredJob j;
  j.key = "billing";
  j.name = "billing-run";
  j.schedule = "0 2 * * *";
  j.timezone = "Europe/Berlin";
  j.file = "/etc/cron.d/billing";
  j.line = 4;
  j.user = "root";
  j.comment = *parse_job_comment("# cronitor: grace=10m failure_tolerance=2 notify=oncall");
  ZoneCache zones;
  std::vector<std::string> warnings;
  auto monitors = build_monitors(*cfg, {j}, zones, warnings);
  ASSERT_EQ(monitors.size(), 2u);
  const auto& b = monitors[0];
  EXPECT_EQ(b.key, "billing");
  EXPECT_EQ(b.grace, seconds(600));   // from the comment
  EXPECT_EQ(b.failure_tolerance, 5);  // the config entry wins over the comment
  EXPECT_EQ(b.notify, std::vector<std::string>{"oncall"});
  EXPECT_EQ(b.zone.name(), "Europe/Berlin");
  EXPECT_TRUE(b.from_cron);
  EXPECT_EQ(b.uid, 0);
  EXPECT_EQ(b.source(), "/etc/cron.d/billing:4");
  const auto& e = monitors[1];
  EXPECT_EQ(e.key, "extra");
  EXPECT_EQ(e.grace, seconds(60));
  EXPECT_FALSE(e.from_cron);
  EXPECT_EQ(e.schedule->interval(), seconds(300));
  EXPECT_TRUE(warnings.empty());
}

/// The jobs discovery finds under `root`, as the agent takes them.
std::vector<DiscoveredJob> scan(const fs::path& root, std::vector<std::string>& warnings) {
  discovery::DiskRoot disk(root.string());
  discovery::Scanner scanner(disk);
  scanner.scan();
  return discovered_jobs(scanner.jobs(), disk, warnings);
}

TEST(MonitorSet, DiscoveredJobsReadTheCommentAbove) {
  fs::path root = fs::temp_directory_path() / ("agent-ms-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "etc/cron.d");
  std::ofstream(root / "etc/cron.d/jobs") << "# cronitor: grace=10m failure_tolerance=2\n"
                                             "*/5 * * * * root /usr/local/bin/backup-db\n"
                                             "# cronitor: grace=whenever\n"
                                             "0 3 * * * root /usr/local/bin/rotate\n"
                                             "@reboot root /usr/local/bin/warm-cache\n";
  fs::permissions(root / "etc/cron.d/jobs",
                  fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
  std::vector<std::string> warnings;
  auto jobs = scan(root, warnings);
  ASSERT_EQ(jobs.size(), 3u);
  EXPECT_EQ(jobs[0].comment->grace, seconds(600));
  EXPECT_EQ(jobs[0].comment->failure_tolerance, 2);
  EXPECT_FALSE(jobs[1].comment);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("/etc/cron.d/jobs:3: grace"), std::string::npos) << warnings[0];
  ZoneCache zones;
  Config cfg;
  auto monitors = build_monitors(cfg, jobs, zones, warnings);
  ASSERT_EQ(monitors.size(), 3u);
  EXPECT_FALSE(monitors[2].schedule);  // @reboot: no clock deadline
  fs::remove_all(root);
}

TEST(MonitorSet, AUsersCrontabCommentCannotAimTheRootDaemonAnywhere) {
  fs::path root = fs::temp_directory_path() / ("agent-ms-user-" + std::to_string(::getpid()));
  fs::remove_all(root);
  const fs::path spool = root / "var/spool/cron/crontabs";
  fs::create_directories(spool);
  fs::create_directories(root / "etc/cron.d");
  // alice's own crontab (crontab -e) and root's cron.d file, with the same kind of comment.
  const std::string comment =
      "# cronitor: grace=10m notify=oncall,webhook:http://127.0.0.1:8080/admin/purge slug=root-backup\n";
  std::ofstream(spool / "alice") << comment << "*/5 * * * * /home/alice/bin/sync\n";
  std::ofstream(root / "etc/cron.d/jobs") << comment << "0 3 * * * root /usr/local/bin/backup\n";
  ASSERT_EQ(::chown((spool / "alice").c_str(), 1000, 0), 0);
  ASSERT_EQ(::chmod((spool / "alice").c_str(), 0600), 0);
  ASSERT_EQ(::chmod(spool.c_str(), 01730), 0);
  ASSERT_EQ(::chmod((root / "etc/cron.d/jobs").c_str(), 0644), 0);
  std::vector<std::string> warnings;
  auto jobs = scan(root, warnings);
  ASSERT_EQ(jobs.size(), 2u);
  const DiscoveredJob* alice = nullptr;
  const DiscoveredJob* system = nullptr;
  for (const auto& j : jobs) (j.user == "root" ? system : alice) = &j;
  ASSERT_TRUE(alice && system);
  ASSERT_TRUE(alice->comment && system->comment);
  // alice tunes her job (grace, a list root defined) but names no URL and no upstream check.
  EXPECT_EQ(alice->comment->grace, seconds(600));
  EXPECT_EQ(alice->comment->notify, std::vector<std::string>{"oncall"});
  EXPECT_FALSE(alice->comment->slug);
  // root's file may do both.
  EXPECT_EQ(system->comment->notify, (std::vector<std::string>{"oncall", "webhook:http://127.0.0.1:8080/admin/purge"}));
  EXPECT_EQ(system->comment->slug, "root-backup");
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find(alice->file + ":1: notify target \"webhook:...\" ignored"), std::string::npos)
      << warnings[0];
  EXPECT_EQ(warnings[0].find("8080"), std::string::npos) << "the URL may be a secret: not logged";
  EXPECT_NE(warnings[1].find(alice->file + ":1: slug \"root-backup\" ignored"), std::string::npos) << warnings[1];
  fs::remove_all(root);
}

// Issue 17: a user crontab's line as `crontab -l` shows it, without the 3-line header crontab(1)
// writes ("removed from /var/spool/cron/crontabs/root line 5" was line 2 to its owner); an /etc
// file keeps its own line numbers.
TEST(MonitorSet, UserCrontabLinesAreCountedAsCrontabListShowsThem) {
  fs::path root = fs::temp_directory_path() / ("agent-ms-lines-" + std::to_string(::getpid()));
  fs::remove_all(root);
  const fs::path spool = root / "var/spool/cron/crontabs";
  fs::create_directories(spool);
  fs::create_directories(root / "etc/cron.d");
  std::ofstream(spool / "alice") << "# DO NOT EDIT THIS FILE - edit the master and reinstall.\n"
                                    "# (/tmp/crontab.AbCdEf/crontab installed on Sun Dec  6 04:00:00 2026)\n"
                                    "# (Cron version -- $Id: crontab.c,v 2.13 1994/01/17 03:20:37 vixie Exp $)\n"
                                    "# m h dom mon dow command\n"
                                    "*/5 * * * * /home/alice/bin/sync\n";
  std::ofstream(root / "etc/cron.d/jobs")
      << "# a comment\n# another\n# and a third\n\n0 3 * * * root /usr/local/bin/backup\n";
  ASSERT_EQ(::chown((spool / "alice").c_str(), 1000, 0), 0);
  ASSERT_EQ(::chmod((spool / "alice").c_str(), 0600), 0);
  ASSERT_EQ(::chmod(spool.c_str(), 01730), 0);
  ASSERT_EQ(::chmod((root / "etc/cron.d/jobs").c_str(), 0644), 0);
  std::vector<std::string> warnings;
  auto jobs = scan(root, warnings);
  ASSERT_EQ(jobs.size(), 2u);
  ZoneCache zones;
  Config cfg;
  auto monitors = build_monitors(cfg, jobs, zones, warnings);
  ASSERT_EQ(monitors.size(), 2u);
  std::set<std::string> sources;
  for (const auto& m : monitors) sources.insert(m.source());
  EXPECT_EQ(sources, (std::set<std::string>{"/var/spool/cron/crontabs/alice:2", "/etc/cron.d/jobs:5"}));
  // The removal alert names the same line.
  for (auto& m : monitors) {
    if (m.user != "alice") continue;
    MonitorState st;
    HostState host;
    auto out = evaluate(m, st, RemovedInput{Instant{}, m.source_file, m.source_line, false}, host);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_NE(out[0].alert.summary.find("/var/spool/cron/crontabs/alice line 2"), std::string::npos)
        << out[0].alert.summary;
  }
  fs::remove_all(root);
}

// Issue 17: the cron-down alert counts the jobs that stop with cron, not lines that run nothing
// on a clock: a run-parts line is counted through its folder's scripts (cron.hourly holds only
// its .placeholder here), an @reboot line not at all.
TEST(MonitorSet, CronDownCountsScheduledJobsNotRunPartsOrRebootLines) {
  fs::path root = fs::temp_directory_path() / ("agent-ms-count-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "etc/cron.hourly");
  fs::create_directories(root / "etc/cron.daily");
  std::ofstream(root / "etc/crontab")
      << "17 * * * * root cd / && run-parts --report /etc/cron.hourly\n"
         "25 6 * * * root test -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.daily )\n"
         "@reboot root /usr/local/bin/warm-cache\n"
         "*/5 * * * * root /usr/local/bin/poll\n";
  std::ofstream(root / "etc/cron.hourly/.placeholder") << "# DO NOT EDIT OR REMOVE\n";
  std::ofstream(root / "etc/cron.daily/logrotate") << "#!/bin/sh\n/usr/sbin/logrotate /etc/logrotate.conf\n";
  ASSERT_EQ(::chmod((root / "etc/crontab").c_str(), 0644), 0);
  ASSERT_EQ(::chmod((root / "etc/cron.daily/logrotate").c_str(), 0755), 0);
  std::vector<std::string> warnings;
  auto jobs = scan(root, warnings);
  ZoneCache zones;
  Config cfg;
  auto monitors = build_monitors(cfg, jobs, zones, warnings);
  std::set<std::string> counted, all;
  for (const auto& m : monitors) {
    all.insert(m.name);
    if (m.counts_as_cron_work()) counted.insert(m.name);
  }
  EXPECT_EQ(counted, (std::set<std::string>{"logrotate", "poll"})) << ::testing::PrintToString(all);
  EXPECT_GE(all.size(), 5u) << "the lines are monitors all the same: " << ::testing::PrintToString(all);
  fs::remove_all(root);
}

}  // namespace
}  // namespace cronitor::agent
