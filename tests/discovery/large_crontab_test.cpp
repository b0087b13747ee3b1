// A crontab over 1 MiB is still read by cron: discovery reads it line by line and skips only its
// oversized lines, each reported with its line number.
#include <gtest/gtest.h>

#include <string>

#include "discovery/fs_root.h"
#include "discovery/scanner.h"
#include "test_util.h"

namespace cronitor::discovery {
namespace {

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

}  // namespace
}  // namespace cronitor::discovery
