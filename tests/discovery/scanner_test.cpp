#include "discovery/scanner.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "memory_root.h"
#include "test_util.h"

namespace cronitor::discovery {
namespace {

using testing::job_at;
using testing::read_file;
using testing::TempTree;
using testing::write_file;

const Job* unit(const Scanner& s, const std::string& name) {
  for (const Job* j : s.jobs()) {
    if (j->unit == name) return j;
  }
  return nullptr;
}

std::vector<const Job*> in_file(const Scanner& s, const std::string& file) {
  std::vector<const Job*> out;
  for (const Job* j : s.jobs()) {
    if (j->file == file) out.push_back(j);
  }
  return out;
}

void enable(const TempTree& t, const std::string& timer) {
  std::filesystem::create_directories(t / "etc/systemd/system/timers.target.wants");
  std::filesystem::create_symlink("/lib/systemd/system/" + timer,
                                  t / ("etc/systemd/system/timers.target.wants/" + timer));
}

TEST(Scanner, DebianCorpusCronLines) {
  TempTree t("debian");
  DiskRoot root(t.path());
  Scanner s(root);
  s.scan();
  for (const auto& w : s.warnings()) ADD_FAILURE() << w.to_string();
  int lines = 0;
  for (const Job* j : s.jobs()) {
    if (j->origin == JobOrigin::kSystemCrontab) ++lines;
  }
  EXPECT_EQ(lines, 18);
  const Job* certbot = job_at(s, "/etc/cron.d/certbot", 17);
  ASSERT_NE(certbot, nullptr);
  EXPECT_EQ(certbot->name, "certbot");
  EXPECT_EQ(certbot->schedule, "0 */12 * * *");
  EXPECT_EQ(certbot->user, "root");
  EXPECT_EQ(certbot->env.shell, "/bin/sh");
  EXPECT_EQ(certbot->env.path, "/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin");
  EXPECT_FALSE(certbot->wrapped);
  // Two sysstat lines run debian-sa1: their names tell them apart (issue 13 item 15).
  EXPECT_EQ(job_at(s, "/etc/cron.d/sysstat", 6)->name, "debian-sa1-sysstat-6");
  EXPECT_EQ(job_at(s, "/etc/cron.d/php", 14)->schedule, "09,39 * * * *");
  EXPECT_EQ(job_at(s, "/etc/cron.d/anacron", 6)->name, "anacron");
  EXPECT_EQ(job_at(s, "/etc/cron.d/munin", 7)->user, "munin");
  EXPECT_EQ(job_at(s, "/etc/cron.d/munin", 7)->env.mailto, "root");
  EXPECT_EQ(job_at(s, "/etc/crontab", 19)->run_parts_dir, "/etc/cron.daily");
  // The mdadm line keeps cron's "\%" as written.
  EXPECT_NE(job_at(s, "/etc/cron.d/mdadm", 12)->command.find("date +\\%d"), std::string::npos);
}

TEST(Scanner, RunPartsScriptsTakeTheScheduleOfTheirRunner) {
  TempTree t("debian");
  DiskRoot root(t.path());
  {
    Scanner s(root);
    s.scan();
    const auto daily = in_file(s, "/etc/cron.daily/logrotate");
    ASSERT_EQ(daily.size(), 1u);
    EXPECT_EQ(daily[0]->schedule, "25 6 * * *");
    EXPECT_EQ(daily[0]->origin, JobOrigin::kRunParts);
    EXPECT_FALSE(daily[0]->reason);
    const auto placeholder = in_file(s, "/etc/cron.daily/.placeholder");
    ASSERT_EQ(placeholder.size(), 1u);
    EXPECT_TRUE(placeholder[0]->reason);
  }
  // With anacron installed, /etc/crontab steps aside and anacron's period applies.
  write_file(t / "usr/sbin/anacron", "#!/bin/sh\n", 0755);
  Scanner s(root);
  s.scan();
  const Job* logrotate = in_file(s, "/etc/cron.daily/logrotate").at(0);
  ASSERT_TRUE(logrotate->anacron);
  EXPECT_EQ(logrotate->anacron->id, "cron.daily");
  EXPECT_EQ(logrotate->anacron->period_days, 1);
  EXPECT_EQ(logrotate->anacron->delay_minutes, 5);
  EXPECT_EQ(in_file(s, "/etc/cron.monthly/debsums").at(0)->schedule, "@monthly");
  const Job* anacron_line = job_at(s, "/etc/anacrontab", 12);
  ASSERT_NE(anacron_line, nullptr);
  EXPECT_EQ(anacron_line->anacron->period_days, 7);
  EXPECT_FALSE(anacron_line->reason);
}

TEST(Scanner, TimersAndTwinsOnASystemdHost) {
  TempTree t("debian");
  for (const char* timer : {"certbot.timer", "e2scrub_all.timer", "phpsessionclean.timer", "anacron.timer",
                            "ntpsec-rotate-stats.timer", "sysstat-collect.timer"}) {
    enable(t, timer);
  }
  std::filesystem::create_directories(t / "run/systemd/system");
  DiskRoot root(t.path());
  Scanner s(root);
  s.scan();
  const Job* timer = unit(s, "certbot.timer");
  ASSERT_NE(timer, nullptr);
  EXPECT_EQ(timer->source, SourceKind::kSystemd);
  EXPECT_EQ(timer->schedule, "*-*-* 00,12:00:00");
  EXPECT_TRUE(timer->timer->enabled);
  EXPECT_TRUE(timer->timer->persistent);
  EXPECT_EQ(timer->timer->randomized_delay, "43200");
  EXPECT_FALSE(timer->reason);
  for (auto [file, line, twin] :
       std::vector<std::tuple<std::string, int, std::string>>{{"/etc/cron.d/certbot", 17, "certbot.timer"},
                                                              {"/etc/cron.d/e2scrub_all", 1, "e2scrub_all.timer"},
                                                              {"/etc/cron.d/php", 14, "phpsessionclean.timer"},
                                                              {"/etc/cron.d/anacron", 6, "anacron.timer"},
                                                              {"/etc/cron.d/ntpsec", 1, "ntpsec-rotate-stats.timer"}}) {
    const Job* j = job_at(s, file, line);
    ASSERT_NE(j, nullptr) << file;
    ASSERT_TRUE(j->twin_of) << file << ":" << line;
    EXPECT_EQ(*j->twin_of, unit(s, twin)->key) << file;
    EXPECT_TRUE(j->reason) << file;
  }
  // Matched on what they run: the weekly e2scrub_all.timer (ExecStart=/sbin/e2scrub_all) is the
  // weekly e2scrub_all_cron line, not the daily `e2scrub_all -A -r` (e2scrub_reap's work), which
  // is still a no-op under systemd and says so.
  const Job* daily = job_at(s, "/etc/cron.d/e2scrub_all", 2);
  ASSERT_NE(daily, nullptr);
  EXPECT_FALSE(daily->twin_of);
  ASSERT_TRUE(daily->reason);
  EXPECT_EQ(*daily->reason, "a no-op while systemd runs (guarded by /run/systemd/system), and no timer does this work");
  // Not guarded: real jobs even with a timer of the same package.
  EXPECT_FALSE(job_at(s, "/etc/cron.d/sysstat", 6)->twin_of);
  EXPECT_FALSE(job_at(s, "/etc/cron.d/mdadm", 12)->twin_of);
  // A disabled timer is listed with its reason.
  EXPECT_TRUE(unit(s, "fstrim.timer")->disabled);
  EXPECT_EQ(unit(s, "mdadm-last-resort@.timer"), nullptr);  // a template, never instantiated
}

// Issue 17: names are unique per host, across crontabs and units: a cron job that shares its
// name with a unit is told apart by where it is, the unit keeps the plain name. (Debian's
// cron.daily/logrotate runs under systemd too, and exits at once: both are monitors.)
TEST(Scanner, NamesAreUniquePerHostAcrossCronAndUnits) {
  TempTree t("debian");
  enable(t, "logrotate.timer");
  enable(t, "man-db.timer");
  std::filesystem::create_directories(t / "run/systemd/system");
  DiskRoot root(t.path());
  Scanner s(root);
  s.scan();
  std::map<std::string, std::vector<std::string>> by_name;
  for (const Job* j : s.jobs())  // the jobs that run: twins and disabled jobs are listed, not monitored
    if (!j->disabled && !j->reason && !j->twin_of)
      by_name[j->name].push_back(j->file + ":" + std::to_string(j->line) + " " + j->unit);
  for (const auto& [name, where] : by_name)
    EXPECT_EQ(where.size(), 1u) << name << ": " << ::testing::PrintToString(where);
  ASSERT_NE(unit(s, "logrotate.timer"), nullptr);
  EXPECT_EQ(unit(s, "logrotate.timer")->name, "logrotate");
  EXPECT_EQ(in_file(s, "/etc/cron.daily/logrotate").at(0)->name, "logrotate-cron-daily");
}

TEST(Scanner, WithoutSystemdTheTimerIsTheTwin) {
  TempTree t("debian");
  enable(t, "certbot.timer");
  DiskRoot root(t.path());
  Scanner s(root);
  s.scan();
  const Job* cron = job_at(s, "/etc/cron.d/certbot", 17);
  EXPECT_FALSE(cron->twin_of);
  EXPECT_FALSE(cron->reason);
  const Job* timer = unit(s, "certbot.timer");
  ASSERT_TRUE(timer->twin_of);
  EXPECT_EQ(*timer->twin_of, cron->key);
  EXPECT_NE(timer->reason->find("/etc/cron.d/certbot:17"), std::string::npos);
}

TEST(Scanner, HandCorpus) {
  TempTree t("hand");
  ASSERT_EQ(::chown((t / "var/spool/cron/crontabs/alice").c_str(), 1000, 1000), 0);
  ASSERT_EQ(::chown((t / "var/spool/cron/crontabs/bob").c_str(), 1001, 1001), 0);
  std::filesystem::create_directories(t / "run/systemd/system");
  DiskRoot root(t.path());
  Scanner s(root);
  s.scan();
  EXPECT_EQ(in_file(s, "/etc/cron.d/edges").size(), 30u);
  EXPECT_EQ(job_at(s, "/etc/cron.d/edges", 8)->schedule, "*/15 9-17 * * mon-fri");
  EXPECT_EQ(job_at(s, "/etc/cron.d/edges", 8)->env.mailto, "ops@example.com");
  ASSERT_TRUE(job_at(s, "/etc/cron.d/edges", 8)->env.tz);
  EXPECT_EQ(*job_at(s, "/etc/cron.d/edges", 8)->env.tz, "Europe/Berlin");
  EXPECT_EQ(job_at(s, "/etc/cron.d/edges", 8)->timezone, "Europe/Berlin");  // from etc/timezone
  EXPECT_TRUE(job_at(s, "/etc/cron.d/edges", 13)->no_log);
  EXPECT_EQ(job_at(s, "/etc/cron.d/edges", 36)->name, "nightly-report");
  EXPECT_TRUE(job_at(s, "/etc/cron.d/edges", 33)->disabled);
  EXPECT_EQ(*job_at(s, "/etc/cron.d/edges", 33)->reason, "commented out");
  EXPECT_TRUE(job_at(s, "/etc/cron.d/edges", 38)->disabled);
  EXPECT_EQ(job_at(s, "/etc/cron.d/edges", 29)->command, "echo leading blanks before the command");
  EXPECT_EQ(job_at(s, "/etc/cron.d/no-newline", 2)->command, "echo no newline at end");
  EXPECT_EQ(job_at(s, "/etc/crontab", 8)->name, "disk-report");
  EXPECT_EQ(job_at(s, "/etc/crontab", 8)->env.shell, "/bin/bash");

  // Broken lines: warnings naming file and line; the good lines around them still read.
  EXPECT_EQ(in_file(s, "/etc/cron.d/broken").size(), 2u);
  int broken = 0;
  for (const auto& w : s.warnings()) broken += w.file == "/etc/cron.d/broken";
  EXPECT_EQ(broken, 12);

  // Files cron does not read are listed with the reason, never monitored.
  for (const char* f : {"/etc/cron.d/bad.name", "/etc/cron.d/backup.dpkg-old", "/etc/cron.d/backup~"}) {
    const auto jobs = in_file(s, f);
    ASSERT_EQ(jobs.size(), 1u) << f;
    EXPECT_TRUE(jobs[0]->disabled && jobs[0]->reason) << f;
  }
  // Identical lines in several files get distinct keys, the file cron reads keeping the plain one.
  EXPECT_EQ(in_file(s, "/etc/cron.d/backup.dpkg-old")[0]->key, in_file(s, "/etc/cron.d/backup")[0]->key + "-2");

  // User crontabs: the user is the file name; crontab(1)'s header is not a job.
  const auto alice = in_file(s, "/var/spool/cron/crontabs/alice");
  ASSERT_EQ(alice.size(), 4u);
  EXPECT_EQ(alice[0]->line, 9);
  EXPECT_EQ(alice[0]->user, "alice");
  EXPECT_EQ(alice[0]->origin, JobOrigin::kUserCrontab);
  EXPECT_FALSE(alice[0]->reason);
  EXPECT_EQ(alice[3]->name, "backup-db");

  // run-parts naming and executable rules.
  EXPECT_FALSE(in_file(s, "/etc/cron.daily/backup-home")[0]->reason);
  EXPECT_TRUE(in_file(s, "/etc/cron.daily/has.dot")[0]->reason);
  EXPECT_TRUE(in_file(s, "/etc/cron.daily/not-executable")[0]->reason);

  // Timers: drop-in resets OnCalendar, masked, template instance, monotonic, bad expression.
  const Job* backup = unit(s, "backup.timer");
  ASSERT_NE(backup, nullptr);
  EXPECT_EQ(backup->schedule, "*-*-* 03:45:00");
  EXPECT_EQ(backup->timer->randomized_delay, "10m");
  EXPECT_EQ(backup->timer->exec_start, "/usr/local/bin/backup-db --full");
  EXPECT_TRUE(unit(s, "old.timer")->timer->masked);
  ASSERT_NE(unit(s, "scrub@data.timer"), nullptr);
  EXPECT_EQ(unit(s, "scrub@data.timer")->schedule, "weekly");
  EXPECT_EQ(unit(s, "scrub@.timer"), nullptr);
  EXPECT_EQ(unit(s, "boot-check.timer")->timer->monotonic.size(), 2u);
  EXPECT_EQ(unit(s, "broken.timer")->schedule, "daily");
  bool bad_calendar = false;
  for (const auto& w : s.warnings()) bad_calendar |= w.file == "/lib/systemd/system/broken.timer" && w.line == 2;
  EXPECT_TRUE(bad_calendar);
  // The guarded cron line is the timer's twin on this systemd host.
  EXPECT_EQ(*in_file(s, "/etc/cron.d/backup")[0]->twin_of, backup->key);
}

TEST(Scanner, FilesCronRefuses) {
  TempTree t("debian");
  ASSERT_EQ(::chmod((t / "etc/cron.d/sysstat").c_str(), 0664), 0);
  ASSERT_EQ(::chown((t / "etc/cron.d/munin").c_str(), 1000, 0), 0);
  DiskRoot root(t.path());
  Scanner s(root);
  s.scan();
  for (const Job* j : in_file(s, "/etc/cron.d/sysstat")) {
    ASSERT_TRUE(j->reason);
    EXPECT_NE(j->reason->find("INSECURE MODE"), std::string::npos);
  }
  for (const Job* j : in_file(s, "/etc/cron.d/munin")) {
    ASSERT_TRUE(j->reason);
    EXPECT_NE(j->reason->find("WRONG FILE OWNER"), std::string::npos);
  }
}

TEST(Scanner, KeysSurviveReorderingAndCommentEdits) {
  TempTree t;
  write_file(t / "etc/cron.d/app",
             "# first version\n0 1 * * * root /opt/app/bin/report\n*/5 * * * * root /opt/app/bin/poll  --fast\n"
             "0 1 * * * root /opt/app/bin/report\n");
  DiskRoot root(t.path());
  Scanner s(root);
  s.scan();
  std::set<std::string> before;
  for (const Job* j : s.jobs()) before.insert(j->key);
  ASSERT_EQ(before.size(), 2u);
  const std::string poll_key = job_at(s, "/etc/cron.d/app", 3)->key;
  // The same line twice in one file is one job on two lines (job_lines.h): both runs of a slot
  // then report to one monitor, which sees the job "ran too often".
  ASSERT_EQ(job_at(s, "/etc/cron.d/app", 2)->more_lines.size(), 1u);
  EXPECT_EQ(job_at(s, "/etc/cron.d/app", 2)->more_lines[0].line, 4);
  write_file(t / "etc/cron.d/app",
             "# second version, with more comments\n#\n*/5 * * * * root /opt/app/bin/poll --fast\n\n"
             "0 1 * * * root /opt/app/bin/report\n0 1 * * * root /opt/app/bin/report\n");
  const Changes c = s.rescan({"/etc/cron.d/app"});
  std::set<std::string> after;
  for (const Job* j : s.jobs()) after.insert(j->key);
  EXPECT_EQ(before, after);
  EXPECT_EQ(job_at(s, "/etc/cron.d/app", 3)->key, poll_key);
  EXPECT_TRUE(c.added.empty());
  EXPECT_TRUE(c.removed.empty());
  EXPECT_EQ(c.changed.size(), 2u);  // same jobs, new line numbers
}

// Issue 17: a package file's lines are not wrapped, so their keys come from schedule and
// command. An edit of either in place is a change of that job (its old key given, for the state
// to follow), never one job removed and another added; a line really removed still is.
TEST(Scanner, AnUnwrappedLineEditedInPlaceIsChangedNotRemovedAndAdded) {
  TempTree t;
  const std::string crontab = "/etc/crontab";
  write_file(t / "etc/crontab",
             "SHELL=/bin/sh\n17 *\t* * *\troot\tcd / && run-parts --report /etc/cron.hourly\n"
             "25 6\t* * *\troot\ttest -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.daily )\n"
             "47 6\t* * 7\troot\t/usr/local/bin/weekly-report\n");
  DiskRoot root(t.path());
  Scanner s(root);
  s.scan();
  const std::string hourly = job_at(s, crontab, 2)->key, daily = job_at(s, crontab, 3)->key,
                    weekly = job_at(s, crontab, 4)->key;

  // The schedule of line 3 edited.
  write_file(t / "etc/crontab",
             "SHELL=/bin/sh\n17 *\t* * *\troot\tcd / && run-parts --report /etc/cron.hourly\n"
             "30 7\t* * *\troot\ttest -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.daily )\n"
             "47 6\t* * 7\troot\t/usr/local/bin/weekly-report\n");
  Changes c = s.rescan({crontab});
  EXPECT_TRUE(c.added.empty());
  EXPECT_TRUE(c.removed.empty()) << c.removed[0].name;
  ASSERT_EQ(c.changed.size(), 1u);
  EXPECT_EQ(c.changed[0]->line, 3);
  EXPECT_TRUE(c.changed[0]->schedule.starts_with("30 7")) << c.changed[0]->schedule;
  ASSERT_EQ(c.rekeyed.size(), 1u);
  EXPECT_EQ(c.rekeyed[0].first, daily);
  EXPECT_EQ(c.rekeyed[0].second, c.changed[0]);
  EXPECT_NE(c.changed[0]->key, daily);
  EXPECT_EQ(c.moved, 0u) << "an edit is news";

  // The command of line 4 edited (same line); the schedule of line 2 edited and the line moved
  // below (same command).
  write_file(t / "etc/crontab",
             "SHELL=/bin/sh\n"
             "30 7\t* * *\troot\ttest -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.daily )\n"
             "# hourly, later\n47 6\t* * 7\troot\t/usr/local/bin/weekly-report --all\n"
             "5 *\t* * *\troot\tcd / && run-parts --report /etc/cron.hourly\n");
  c = s.rescan({crontab});
  EXPECT_TRUE(c.added.empty());
  EXPECT_TRUE(c.removed.empty());
  ASSERT_EQ(c.rekeyed.size(), 2u);
  std::map<std::string, int> new_line;
  for (const auto& [old, j] : c.rekeyed) new_line[old] = j->line;
  EXPECT_EQ(new_line[weekly], 4);
  EXPECT_EQ(new_line[hourly], 5);

  // A line removed alone: removed.
  write_file(t / "etc/crontab",
             "SHELL=/bin/sh\n"
             "30 7\t* * *\troot\ttest -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.daily )\n"
             "47 6\t* * 7\troot\t/usr/local/bin/weekly-report --all\n");
  c = s.rescan({crontab});
  EXPECT_TRUE(c.added.empty());
  EXPECT_TRUE(c.rekeyed.empty());
  ASSERT_EQ(c.removed.size(), 1u);
  EXPECT_EQ(c.removed[0].line, 5);
}

TEST(Scanner, JsonHasTheFieldsOfDesign) {
  TempTree t("hand");
  DiskRoot root(t.path());
  Scanner s(root);
  s.scan();
  for (const Job* j : s.jobs()) {
    const nlohmann::json o = to_json(*j);
    for (const char* f : {"key", "name", "source", "file", "line", "user", "schedule", "timezone", "command", "unit",
                          "wrapped", "disabled", "reason"}) {
      EXPECT_TRUE(o.contains(f)) << f;
    }
    EXPECT_TRUE(o["source"] == "crontab" || o["source"] == "systemd");
    if (j->source == SourceKind::kSystemd) {
      EXPECT_TRUE(o["command"].is_null());
      EXPECT_EQ(o["unit"], j->unit);
    }
  }
}

TEST(Scanner, JobLimit) {
  TempTree t;
  std::string many;
  for (int i = 0; i < 50; ++i) many += std::to_string(i) + " * * * * root echo " + std::to_string(i) + "\n";
  write_file(t / "etc/cron.d/many", many);
  DiskRoot root(t.path());
  Scanner::Options o;
  o.limits.max_jobs = 20;
  Scanner s(root, o);
  s.scan();
  EXPECT_EQ(s.job_count(), 20u);
  EXPECT_FALSE(s.warnings().empty());
}

TEST(Scanner, InMemoryRootLimitsAndModes) {
  testing::MemoryRoot mem;
  for (int i = 0; i < 30; ++i)
    mem.add("/etc/cron.d/f" + std::to_string(i), "0 0 * * * root echo " + std::to_string(i) + "\n");
  mem.add("/etc/crontab", "0 1 * * * root echo ok\n", 0666);  // other-writable: cron refuses it
  mem.add("/etc/systemd/system/x.timer", "", 0777);
  mem.link("/etc/systemd/system/x.timer", "/dev/null");
  Scanner::Options o;
  o.limits.max_files_per_dir = 10;
  Scanner s(mem, o);
  s.scan();
  EXPECT_TRUE(in_file(s, "/etc/cron.d/f1").empty());  // the folder was over the cap
  bool capped = false;
  for (const auto& w : s.warnings())
    capped |= w.file == "/etc/cron.d" && w.message.find("more than 10") != std::string::npos;
  EXPECT_TRUE(capped);
  ASSERT_EQ(in_file(s, "/etc/crontab").size(), 1u);
  EXPECT_NE(in_file(s, "/etc/crontab")[0]->reason->find("INSECURE"), std::string::npos);
  Scanner::Options big;
  Scanner s2(mem, big);
  s2.scan();
  EXPECT_EQ(in_file(s2, "/etc/cron.d/f29").size(), 1u);
}

}  // namespace
}  // namespace cronitor::discovery
