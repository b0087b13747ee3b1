// The last lines of one invocation's output, as `journalctl -u` shows them, from a real journal
// file: systemd-journal-remote (Debian package systemd-journal-remote) writes it from entries in
// the journal export format, and sd_journal_open_files reads it.
#include <gtest/gtest.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "agent/sources/cron_log_watch.h"
#include "agent/sources/systemd_host.h"
#include "tests/support/subprocess.h"

namespace cronitor::agent {
namespace {

namespace fs = std::filesystem;

constexpr char kRemote[] = "/lib/systemd/systemd-journal-remote";
constexpr char kRun[] = "0123456789abcdef0123456789abcdef";
constexpr char kOther[] = "fedcba9876543210fedcba9876543210";
constexpr char kUserRun[] = "00112233445566778899aabbccddeeff";

class JournalTail : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kRemote)) GTEST_SKIP() << kRemote << " missing (apt-get install systemd-journal-remote)";
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (j_) sd_journal_close(j_);
    fs::remove_all(dir_);
  }
  /// One export-format entry with `fields` ("NAME=value\n" each).
  void entry(const std::string& fields, const std::string& message) {
    usec_ += 1000;
    export_ += "__REALTIME_TIMESTAMP=" + std::to_string(usec_) +
               "\n__MONOTONIC_TIMESTAMP=" + std::to_string(usec_ - 1'764'000'000'000'000 + 1) +
               "\n_BOOT_ID=0123456789abcdef0123456789abcdef\n" + fields + "MESSAGE=" + message + "\n\n";
  }
  void entry(const std::string& field, const std::string& id, const std::string& message) {
    entry(field + "=" + id + "\n", message);
  }
  /// Writes the entries into a journal file; its path.
  std::string write() {
    const std::string in = (dir_ / "entries.export").string(), out = (dir_ / "test.journal").string();
    FILE* f = std::fopen(in.c_str(), "w");
    EXPECT_NE(f, nullptr);
    std::fwrite(export_.data(), 1, export_.size(), f);
    std::fclose(f);
    auto r = cronitor::testing::run_command({"/bin/sh", "-c", std::string(kRemote) + " -o " + out + " - < " + in});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return out;
  }
  /// Writes the entries into a journal file and opens it.
  sd_journal* open() {
    const std::string out = write();
    const char* paths[] = {out.c_str(), nullptr};
    EXPECT_EQ(sd_journal_open_files(&j_, paths, 0), 0);
    return j_;
  }

  fs::path dir_ = fs::temp_directory_path() / ("journal-tail-" + std::to_string(::getpid()));
  std::string export_;
  uint64_t usec_ = 1'764'000'000'000'000;
  sd_journal* j_ = nullptr;
};

TEST_F(JournalTail, TheInvocationsLastLinesOldestFirst) {
  for (int i = 1; i <= 15; ++i) {
    entry("_SYSTEMD_INVOCATION_ID", kRun, "step " + std::to_string(i));
    entry("_SYSTEMD_INVOCATION_ID", kOther, "another run's line " + std::to_string(i));
  }
  entry("USER_INVOCATION_ID", kUserRun, "a user manager's unit");
  sd_journal* j = open();
  ASSERT_NE(j, nullptr);
  std::string want;
  for (int i = 6; i <= 15; ++i) want += "step " + std::to_string(i) + "\n";
  EXPECT_EQ(journal_tail_of(j, kRun, 10), want);
  EXPECT_EQ(journal_tail_of(j, kRun, 2), "step 14\nstep 15\n") << "the matches of the last call are gone";
  EXPECT_EQ(journal_tail_of(j, kUserRun, 10), "a user manager's unit\n");
  EXPECT_EQ(journal_tail_of(j, "99999999999999999999999999999999", 10), "");
  EXPECT_EQ(journal_tail_of(j, "", 10), "");
  EXPECT_EQ(journal_tail_of(nullptr, kRun, 10), "");
}

TEST_F(JournalTail, BoundedTo4KiB) {
  const std::string long_line(1000, 'x');
  for (int i = 0; i < 10; ++i) entry("_SYSTEMD_INVOCATION_ID", kRun, std::to_string(i) + long_line);
  sd_journal* j = open();
  ASSERT_NE(j, nullptr);
  const std::string tail = journal_tail_of(j, kRun, 10);
  EXPECT_LE(tail.size(), 4096u);
  EXPECT_EQ(tail.size(), 4u * 1002) << "whole lines, the newest four";
  EXPECT_TRUE(tail.starts_with("6x")) << tail.substr(0, 10);
}

TEST_F(JournalTail, CronLinesCountOnlyFromRootWithJournaldsOwnPid) {
  // cron's child (root) logs a run; a local user logs the same words with `logger -t CRON
  // --id=4711`, claiming cron's pid: journald records the user's real uid and pid beside them.
  const std::string cron = "SYSLOG_IDENTIFIER=CRON\n_UID=0\n_COMM=cron\n_PID=4711\nSYSLOG_PID=4711\n";
  const std::string forged = "SYSLOG_IDENTIFIER=CRON\n_UID=1000\n_COMM=logger\n_PID=999\nSYSLOG_PID=4711\n";
  entry(cron, "(root) CMD (/usr/sbin/backup)");
  entry(forged, "(root) END (/usr/sbin/backup)");
  entry(forged, "(CRON) error (grandchild #4712 failed with exit status 3)");
  entry("SYSLOG_IDENTIFIER=CRON\n_UID=0\n_PID=4800\nSYSLOG_PID=1\n", "(root) CMD (/usr/sbin/other)");
  entry(cron, "(root) END (/usr/sbin/backup)");
  auto source = CronLogSource::journal_files({write()});
  ASSERT_TRUE(source) << source.error().message;
  bool more = false;
  const auto lines = (*source)->read(more);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].message, "(root) CMD (/usr/sbin/backup)");
  EXPECT_EQ(lines[0].pid, 4711);
  EXPECT_EQ(lines[1].message, "(root) CMD (/usr/sbin/other)");
  EXPECT_EQ(lines[1].pid, 4800) << "journald's _PID, not the SYSLOG_PID the sender wrote";
  EXPECT_EQ(lines[2].message, "(root) END (/usr/sbin/backup)");
  EXPECT_EQ(lines[2].pid, 4711);
  EXPECT_FALSE(more);
}

}  // namespace
}  // namespace cronitor::agent
