// Which discovered job a process cron started is (agent/sources/proc_job_matcher.h): the owner's
// uid and the command as cron hands it to the shell ('%' handling), ties between lines broken by
// the schedule, run-parts scripts only under root's run-parts lines; and which jobs these runs report.
#include "agent/sources/proc_job_matcher.h"

#include <gtest/gtest.h>

#include "agent/config/discovery_adapter.h"

namespace cronitor::agent {
namespace {

DiscoveredJob line(std::string key, std::string user, std::string command, std::string file = "/etc/cron.d/jobs",
                   int at = 1) {
  DiscoveredJob j;
  j.key = std::move(key);
  j.user = std::move(user);
  j.command = std::move(command);
  j.file = std::move(file);
  j.line = at;
  j.schedule = "* * * * *";
  return j;
}

DiscoveredJob runner(std::string key, std::string user, std::string command, std::string file = "/etc/crontab") {
  DiscoveredJob j = line(std::move(key), std::move(user), std::move(command), std::move(file), 20);
  j.runs_folder = true;
  return j;
}

DiscoveredJob script(std::string key, std::string path) {
  DiscoveredJob j;
  j.key = std::move(key);
  j.user = "root";
  j.file = std::move(path);
  j.schedule = "25 6 * * *";
  return j;
}

const Instant kAt{};

TEST(ProcJobMatcher, ALineIsItsOwnersUidAndTheCommandAsCronHandsItToTheShell) {
  ProcJobMatcher m;
  auto stdin_line = line("report", "root", "mail -s report admin\\%x %Dear admin,%bye", "/etc/cron.d/jobs", 2);
  auto uid_line = line("mine", "root", "/usr/local/bin/backup  ");
  uid_line.uid = 0;
  const std::vector<DiscoveredJob> jobs = {stdin_line, uid_line};
  m.set_jobs(jobs);
  // cron: up to the first unescaped '%', "\%" as '%' (the rest is the job's stdin).
  EXPECT_EQ(m.job(0, "mail -s report admin%x ", kAt), "report");
  EXPECT_EQ(m.job(0, "mail -s report admin\\%x %Dear admin,%bye", kAt), std::nullopt);
  EXPECT_EQ(m.job(0, "/usr/local/bin/backup", kAt), "mine");           // trailing blanks either side
  EXPECT_EQ(m.job(1000, "/usr/local/bin/backup", kAt), std::nullopt);  // another user's process
  EXPECT_EQ(m.job(0, "/usr/local/bin/backup --other", kAt), std::nullopt);
  EXPECT_FALSE(m.wrapped("mine"));
}

TEST(ProcJobMatcher, TwoLinesWithOneCommandAreToldApartByWhichSlotCame) {
  ProcJobMatcher m;
  const std::vector<DiscoveredJob> jobs = {line("b-late", "root", "/bin/sync-all", "/etc/cron.d/zz", 3),
                                           line("a-early", "root", "/bin/sync-all", "/etc/cron.d/aa", 7)};
  m.set_jobs(jobs);
  EXPECT_EQ(m.job(0, "/bin/sync-all", kAt), "a-early");  // no schedule to ask: the first in file order
  m.set_due([](const std::string& key, Instant) { return key == "b-late"; });
  EXPECT_EQ(m.job(0, "/bin/sync-all", kAt), "b-late");
  m.set_due([](const std::string&, Instant) { return false; });
  EXPECT_EQ(m.job(0, "/bin/sync-all", kAt), "a-early");
}

TEST(ProcJobMatcher, ScriptsAreJobsOnlyUnderRootsRunPartsLines) {
  ProcJobMatcher m;
  auto wrapped = line("wrapped", "root", "/usr/bin/cronitor-exec wrapped -- '/bin/x'");
  wrapped.wrapped = true;
  auto users = runner("alice-daily", "alice", "run-parts /etc/cron.daily", "/var/spool/cron/crontabs/alice");
  users.users_file = true;
  const std::vector<DiscoveredJob> jobs = {
      runner("daily", "root", "test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.daily; }"),
      users,
      script("logrotate", "/etc/cron.daily/logrotate"),
      script("stray", "/opt/scripts/cleanup"),
      wrapped,
  };
  m.set_jobs(jobs);
  EXPECT_EQ(m.script(0, "daily", "/etc/cron.daily/logrotate"), "logrotate");
  EXPECT_EQ(m.script(0, "daily", "/etc/cron.daily/not-discovered"), std::nullopt);
  EXPECT_EQ(m.script(0, "daily", "/opt/scripts/cleanup"), std::nullopt);  // not in the line's folder
  EXPECT_EQ(m.script(1000, "daily", "/etc/cron.daily/logrotate"), std::nullopt);
  EXPECT_EQ(m.script(0, "alice-daily", "/etc/cron.daily/logrotate"), std::nullopt);  // a user's line
  EXPECT_EQ(m.script(0, "wrapped", "/etc/cron.daily/logrotate"), std::nullopt);      // runs no folder
  EXPECT_EQ(m.script(0, "", "/etc/cron.daily/logrotate"), std::nullopt);             // no line matched
  EXPECT_TRUE(m.wrapped("wrapped"));
  EXPECT_EQ(m.job(0, "/usr/bin/cronitor-exec wrapped -- '/bin/x'", kAt), "wrapped");

  // Discovery's changes: the daily line goes, its scripts are no one's runs any more.
  const std::vector<std::string> gone = {"daily"};
  m.update({}, gone);
  EXPECT_EQ(m.script(0, "daily", "/etc/cron.daily/logrotate"), std::nullopt);
  const std::vector<DiscoveredJob> back = {runner("daily2", "root", "cd / && run-parts /etc/cron.daily")};
  m.update(back, {});
  EXPECT_EQ(m.script(0, "daily2", "/etc/cron.daily/logrotate"), "logrotate");
}

TEST(ProcJobMatcher, MarksWhatNothingElseReports) {
  auto wrapped = line("wrapped", "root", "/usr/bin/cronitor-exec wrapped -- /bin/x");
  wrapped.wrapped = true;
  wrapped.reported_by = kReportedByWrapper;
  auto to_wrap = line("to-wrap", "root", "/bin/y");
  to_wrap.reported_by = kReportedByWrapper;  // auto_wrap wraps it now
  auto package = line("package", "root", "/sbin/e2scrub_all", "/etc/cron.d/e2scrub_all");
  package.reported_by = kReportedByCronLog;
  auto plain = line("plain", "alice", "/home/alice/bin/z", "/var/spool/cron/crontabs/alice");
  auto anacron_script = script("weekly", "/etc/cron.weekly/man-db");
  anacron_script.heartbeat = Heartbeat{};
  auto timer = script("timer", "/etc/systemd/system/t.timer");
  timer.from_cron = false;
  std::vector<DiscoveredJob> jobs = {wrapped,
                                     to_wrap,
                                     package,
                                     plain,
                                     runner("daily", "root", "cd / && run-parts --report /etc/cron.daily"),
                                     script("logrotate", "/etc/cron.daily/logrotate"),
                                     script("elsewhere", "/opt/x/y"),
                                     anacron_script,
                                     timer};
  mark_process_observed(jobs, jobs);
  std::map<std::string, std::string> by;
  for (const auto& j : jobs) by[j.key] = j.reported_by;
  EXPECT_EQ(by["wrapped"], kReportedByWrapper);
  EXPECT_EQ(by["to-wrap"], kReportedByWrapper);
  EXPECT_EQ(by["package"], kReportedByProcessEvents);
  EXPECT_EQ(by["plain"], kReportedByProcessEvents);
  EXPECT_EQ(by["daily"], kReportedByProcessEvents);
  EXPECT_EQ(by["logrotate"], kReportedByProcessEvents);
  EXPECT_EQ(by["elsewhere"], "");  // no run-parts line of root's runs its folder
  EXPECT_EQ(by["weekly"], "");     // no line (of cron's or anacron's) runs its folder
  EXPECT_EQ(by["timer"], "");      // systemd's
}

}  // namespace
}  // namespace cronitor::agent

namespace cronitor::agent {
namespace {

// anacron as a root (issue 21): an anacrontab line is matched as anacron runs it (`sh -c COMMAND`
// as root), and the scripts of its run-parts folder are runs of their own keys under it only.
TEST(ProcJobMatcher, AnAnacrontabLineAndTheScriptsItsRunPartsRunsAreMatched) {
  ProcJobMatcher m;
  DiscoveredJob daily = runner("anacron-daily", "root", "run-parts --report /etc/cron.daily", "/etc/anacrontab");
  daily.line = 11;
  daily.heartbeat = Heartbeat{};
  const std::vector<DiscoveredJob> jobs = {daily, script("logrotate", "/etc/cron.daily/logrotate")};
  m.set_jobs(jobs);
  EXPECT_EQ(m.job(0, "run-parts --report /etc/cron.daily", kAt), "anacron-daily");
  EXPECT_EQ(m.script(0, "anacron-daily", "/etc/cron.daily/logrotate"), "logrotate");
  EXPECT_EQ(m.script(1000, "anacron-daily", "/etc/cron.daily/logrotate"), std::nullopt);
  EXPECT_EQ(m.uid_of_user("root"), 0u);
  EXPECT_EQ(m.uid_of_user("nobody-here"), std::nullopt);
}

// From discovery as the daemon gets them: the anacrontab line keeps its command (before, the
// adapter kept only crontab lines' commands, and no anacron job could be matched).
TEST(ProcJobMatcher, AnacrontabLinesFromDiscoveryAreMatchedAsAnacronRunsThem) {
  discovery::Job line;
  line.key = "anacron-daily";
  line.origin = discovery::JobOrigin::kAnacron;
  line.file = "/etc/anacrontab";
  line.line = 11;
  line.user = "root";
  line.command = "run-parts --report /etc/cron.daily";
  line.run_parts_dir = "/etc/cron.daily";
  line.anacron = discovery::AnacronInfo{"1", 1, 5, "cron.daily"};
  line.schedule = "1";
  discovery::Job logrotate;
  logrotate.key = "logrotate";
  logrotate.origin = discovery::JobOrigin::kRunParts;
  logrotate.file = logrotate.command = "/etc/cron.daily/logrotate";
  logrotate.run_parts_dir = "/etc/cron.daily";
  logrotate.user = "root";
  logrotate.anacron = line.anacron;
  logrotate.schedule = "1";
  const std::vector<DiscoveredJob> jobs = {to_discovered(line), to_discovered(logrotate)};
  ProcJobMatcher m;
  m.set_jobs(jobs);
  EXPECT_EQ(m.job(0, "run-parts --report /etc/cron.daily", kAt), "anacron-daily");
  EXPECT_EQ(m.script(0, "anacron-daily", "/etc/cron.daily/logrotate"), "logrotate");
  // Both are reported by the process events ("observed (process events)" in discover and status).
  auto marked = jobs;
  mark_process_observed(marked, jobs);
  EXPECT_EQ(marked[0].reported_by, kReportedByProcessEvents) << "the anacrontab line";
  EXPECT_EQ(marked[1].reported_by, kReportedByProcessEvents) << "a script anacron's run-parts runs";
}

}  // namespace
}  // namespace cronitor::agent
