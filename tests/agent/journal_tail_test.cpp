// The last lines of one invocation's output, as `journalctl -u` shows them, from a real journal
// file: systemd-journal-remote (Debian package systemd-journal-remote) writes it from entries in
// the journal export format, and sd_journal_open_files reads it.
#include <gtest/gtest.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "agent/daemon/systemd_host.h"
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
  /// One export-format entry.
  void entry(const std::string& field, const std::string& id, const std::string& message) {
    usec_ += 1000;
    export_ += "__REALTIME_TIMESTAMP=" + std::to_string(usec_) +
               "\n__MONOTONIC_TIMESTAMP=" + std::to_string(usec_ - 1'764'000'000'000'000 + 1) +
               "\n_BOOT_ID=0123456789abcdef0123456789abcdef\n" + field + "=" + id + "\nMESSAGE=" + message + "\n\n";
  }
  /// Writes the entries into a journal file and opens it.
  sd_journal* open() {
    const std::string in = (dir_ / "entries.export").string(), out = (dir_ / "test.journal").string();
    FILE* f = std::fopen(in.c_str(), "w");
    EXPECT_NE(f, nullptr);
    std::fwrite(export_.data(), 1, export_.size(), f);
    std::fclose(f);
    auto r = cronitor::testing::run_command({"/bin/sh", "-c", std::string(kRemote) + " -o " + out + " - < " + in});
    EXPECT_EQ(r.exit_code, 0) << r.err;
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

}  // namespace
}  // namespace cronitor::agent
