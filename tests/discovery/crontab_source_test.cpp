// Crontab files as Debian's cron reads them: one over 1 MiB is read line by line (only its
// oversized lines are skipped, each reported with its line number); a symbolic link in
// /etc/cron.d (read by cron when link and target are root's) gives its jobs keys of their own.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "discovery/fs_root.h"
#include "discovery/scanner.h"
#include "test_util.h"

namespace cronitor::discovery {
namespace {

using testing::jobs_of;
using testing::TempTree;
using testing::write_file;

TEST(LargeCrontab, OverOneMebibyteIsReadLineByLineAndOnlyLongLinesAreSkipped) {
  TempTree t;
  std::string text = "SHELL=/bin/sh\n*/5 * * * * root /usr/local/bin/first\n";
  text += "0 * * * * root /usr/local/bin/huge " + std::string(1536 * 1024, 'x') + "\n";  // line 3: 1.5 MiB
  for (int i = 0; i < 20000; ++i) text += "# filler comment number " + std::to_string(i) + "\n";
  text += "17 3 * * * root /usr/local/bin/last\n";
  text += "1 1 * * * root /usr/local/bin/long " + std::string(9000, 'y') + "\n";
  ASSERT_GT(text.size(), 2u << 20);
  write_file(t / "etc/cron.d/big", text);
  const int last_line = 3 + 20000 + 1;
  DiskRoot root(t.path());
  Scanner s(root);
  s.scan();
  std::vector<std::string> jobs;
  for (const Job* j : s.jobs())
    if (j->file == "/etc/cron.d/big") jobs.push_back(std::to_string(j->line) + " " + j->command);
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0], "2 /usr/local/bin/first");
  EXPECT_EQ(jobs[1], std::to_string(last_line) + " /usr/local/bin/last");
  std::vector<std::string> warnings;
  for (const auto& w : s.warnings()) warnings.push_back(w.to_string());
  ASSERT_EQ(warnings.size(), 2u) << ::testing::PrintToString(warnings);
  EXPECT_EQ(warnings[0], "/etc/cron.d/big:3: line longer than 8192 bytes, ignoring");
  EXPECT_EQ(warnings[1],
            "/etc/cron.d/big:" + std::to_string(last_line + 1) + ": line longer than 8192 bytes, ignoring");
}

TEST(CronDSymlink, ToTheSystemCrontabGetsDistinctKeysBeforeAndAfterWrapping) {
  TempTree t;
  write_file(t / "etc/crontab", "SHELL=/bin/sh\n*/5 * * * * root /usr/bin/backup.sh\n");
  std::filesystem::create_directories(t / "etc/cron.d");
  ASSERT_EQ(::symlink("../crontab", (t / "etc/cron.d/linked").c_str()), 0);
  DiskRoot root(t.path());
  {
    Scanner s(root);
    s.scan();
    auto main = jobs_of(s, "/etc/crontab"), link = jobs_of(s, "/etc/cron.d/linked");
    ASSERT_EQ(main.size(), 1u);
    ASSERT_EQ(link.size(), 1u);  // cron reads the link: the line runs twice
    EXPECT_NE(main[0]->key, link[0]->key);
    EXPECT_EQ(main[0]->key.find('-'), std::string::npos) << main[0]->key;  // its own key, no "-2" from a clash
    EXPECT_FALSE(link[0]->disabled);
  }
  // After the system crontab is wrapped, the link shows the wrapped line too: still two keys, and
  // the copy behind the link is listed but not monitored (its runs report under the line's key).
  write_file(t / "etc/crontab", "SHELL=/bin/sh\n*/5 * * * * root /usr/bin/cronitor-exec k1 -- '/usr/bin/backup.sh'\n");
  Scanner s(root);
  s.scan();
  auto main = jobs_of(s, "/etc/crontab"), link = jobs_of(s, "/etc/cron.d/linked");
  ASSERT_EQ(main.size(), 1u);
  ASSERT_EQ(link.size(), 1u);
  EXPECT_EQ(main[0]->key, "k1");
  EXPECT_NE(link[0]->key, "k1");
  EXPECT_TRUE(link[0]->disabled);
  ASSERT_TRUE(link[0]->reason);
  EXPECT_NE(link[0]->reason->find("symbolic link to it"), std::string::npos) << *link[0]->reason;
  bool warned = false;
  for (const auto& w : s.warnings())
    warned |= w.to_string().starts_with("/etc/cron.d/linked: a symbolic link to \"/etc/crontab\"");
  EXPECT_TRUE(warned);
}

TEST(CronDSymlink, ALinkNotOwnedByRootIsRefusedAsCronDoes) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown the link";
  TempTree t;
  write_file(t / "etc/real-jobs", "*/5 * * * * root /usr/bin/backup.sh\n");
  std::filesystem::create_directories(t / "etc/cron.d");
  ASSERT_EQ(::symlink("../real-jobs", (t / "etc/cron.d/linked").c_str()), 0);
  ASSERT_EQ(::lchown((t / "etc/cron.d/linked").c_str(), 65534, 65534), 0);
  DiskRoot root(t.path());
  Scanner s(root);
  s.scan();
  auto link = jobs_of(s, "/etc/cron.d/linked");
  ASSERT_EQ(link.size(), 1u);
  EXPECT_TRUE(link[0]->disabled);
  EXPECT_NE(link[0]->reason.value_or("").find("WRONG FILE OWNER"), std::string::npos);
}

}  // namespace
}  // namespace cronitor::discovery
