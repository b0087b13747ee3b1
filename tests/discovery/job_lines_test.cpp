// One job on several crontab lines (Healthchecks #448): lines of one file with the same
// "# Name:" or the same command are one job with several schedules, listed once with every
// file:line, and `wrap` gives every line the job's key.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "discovery/auto_wrapper.h"
#include "discovery/fs_root.h"
#include "discovery/scanner.h"
#include "test_util.h"

namespace cronitor::discovery {
namespace {

using testing::jobs_of;
using testing::TempTree;
using testing::write_file;

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(JobLines, SameCommandOrSameNameInOneFileIsOneJobWithEverySchedule) {
  TempTree t;
  write_file(t / "etc/cron.d/backup",
             "SHELL=/bin/sh\n"
             "0 2 * * * root /usr/local/bin/backup --full\n"        // line 2
             "30 14 * * 1-5 root /usr/local/bin/backup   --full\n"  // line 3: same command (blanks aside)
             "# Name: sync reports\n"
             "*/10 9-17 * * * root /usr/local/bin/sync-reports --day\n"  // line 5
             "# Name: sync reports\n"
             "0 3 * * * root /usr/local/bin/sync-reports --night\n"  // line 7: same name
             "0 2 * * * bob /usr/local/bin/backup --full\n"          // line 8: another user
             "#0 4 * * * root /usr/local/bin/backup --full\n"        // line 9: commented out
             "@reboot root /usr/local/bin/backup --full\n");         // line 10: @reboot stays apart
  DiskRoot root(t.path());
  Scanner s(root);
  s.scan();
  const auto jobs = jobs_of(s, "/etc/cron.d/backup");
  ASSERT_EQ(jobs.size(), 5u);
  const Job& backup = *jobs[0];
  EXPECT_EQ(backup.line, 2);
  EXPECT_EQ(backup.schedule, "0 2 * * *");
  ASSERT_EQ(backup.more_lines.size(), 1u);
  EXPECT_EQ(backup.more_lines[0].line, 3);
  EXPECT_EQ(backup.more_lines[0].schedule, "30 14 * * 1-5");
  const Job& sync = *jobs[1];
  EXPECT_EQ(sync.name, "sync reports");
  EXPECT_EQ(sync.line, 5);
  ASSERT_EQ(sync.more_lines.size(), 1u);
  EXPECT_EQ(sync.more_lines[0].line, 7);
  EXPECT_EQ(jobs[2]->user, "bob");
  EXPECT_TRUE(jobs[2]->more_lines.empty());
  EXPECT_TRUE(jobs[3]->disabled);
  EXPECT_EQ(jobs[4]->schedule, "@reboot");
  const nlohmann::json j = to_json(backup);
  EXPECT_EQ(j["line"], 2);
  EXPECT_EQ(j["lines"], nlohmann::json::array({2, 3}));
  EXPECT_EQ(j["schedules"], nlohmann::json::array({"0 2 * * *", "30 14 * * 1-5"}));
  EXPECT_FALSE(to_json(*jobs[2]).contains("lines"));
  // Lines in two files stay two jobs.
  write_file(t / "etc/cron.d/other", "0 5 * * * root /usr/local/bin/backup --full\n");
  Scanner s2(root);
  s2.scan();
  EXPECT_EQ(jobs_of(s2, "/etc/cron.d/other").size(), 1u);
  EXPECT_NE(jobs_of(s2, "/etc/cron.d/other")[0]->key, jobs_of(s2, "/etc/cron.d/backup")[0]->key);
}

TEST(JobLines, WrapGivesEveryLineTheJobsKeyAndTheJobStaysOne) {
  TempTree t;
  TempTree state;
  write_file(t / "etc/cron.d/backup",
             "0 2 * * * root /usr/local/bin/backup\n"
             "30 14 * * 1-5 root /usr/local/bin/backup\n");
  std::filesystem::permissions(t / "etc/cron.d/backup", std::filesystem::perms(0644));
  std::filesystem::create_directories(t / "usr/bin");
  write_file(t / "usr/bin/cronitor-exec", "#!/bin/sh\n");
  std::filesystem::permissions(t / "usr/bin/cronitor-exec", std::filesystem::perms(0755));
  DiskRoot root(t.path());
  std::string key;
  {
    Scanner s(root);
    s.scan();
    ASSERT_EQ(jobs_of(s, "/etc/cron.d/backup").size(), 1u);
    key = jobs_of(s, "/etc/cron.d/backup")[0]->key;
  }
  WrapOptions o;
  o.backup_dir = state.path() + "/backups";
  const WrapReport r = run_wrap(root, o);
  ASSERT_EQ(r.lines, 2) << (r.warnings.empty() ? "" : r.warnings[0].to_string());
  EXPECT_EQ(read(t / "etc/cron.d/backup"),
            "0 2 * * * root /usr/bin/cronitor-exec " + key + " -- '/usr/local/bin/backup'\n" +
                "30 14 * * 1-5 root /usr/bin/cronitor-exec " + key + " -- '/usr/local/bin/backup'\n");
  Scanner after(root);
  after.scan();
  const auto jobs = jobs_of(after, "/etc/cron.d/backup");
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0]->key, key);
  EXPECT_TRUE(jobs[0]->wrapped);
  ASSERT_EQ(jobs[0]->more_lines.size(), 1u);
  EXPECT_TRUE(jobs[0]->more_lines[0].wrapped);
  // Lines wrapped with different keys (by hand, or before this rule) report apart: two jobs.
  write_file(t / "etc/cron.d/backup",
             "0 2 * * * root /usr/bin/cronitor-exec k1 -- '/usr/local/bin/backup'\n"
             "30 14 * * 1-5 root /usr/bin/cronitor-exec k2 -- '/usr/local/bin/backup'\n");
  Scanner apart(root);
  apart.scan();
  EXPECT_EQ(jobs_of(apart, "/etc/cron.d/backup").size(), 2u);
}

}  // namespace
}  // namespace cronitor::discovery
