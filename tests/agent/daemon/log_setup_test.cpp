// The daemon's log lines under systemd carry their priority as a "<N>" prefix (sd-daemon(3)), and
// only when stderr really is the journal stream JOURNAL_STREAM names.
#include "agent/daemon/log_setup.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <string>

namespace cronitor::agent {
namespace {

std::string log_all_levels(bool journal) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(out);
  spdlog::logger logger("t", sink);
  logger.set_formatter(make_log_formatter(journal));
  logger.set_level(spdlog::level::trace);
  logger.critical("db gone");
  logger.error("send failed");
  logger.warn("late");
  logger.info("started");
  logger.debug("tick");
  return out.str();
}

TEST(LogSetup, JournalLinesStartWithTheirPriority) {
  EXPECT_EQ(log_all_levels(true), "<2>db gone\n<3>send failed\n<4>late\n<6>started\n<7>tick\n");
}

TEST(LogSetup, TerminalLinesHaveTimeAndLevelAndNoPrefix) {
  const std::string text = log_all_levels(false);
  EXPECT_EQ(text.find("<"), std::string::npos) << text;
  EXPECT_NE(text.find(" warning: late\n"), std::string::npos) << text;
  EXPECT_NE(text.find(" error: send failed\n"), std::string::npos) << text;
  // 2026-01-02T03:04:05.678: a timestamp leads each line.
  ASSERT_GT(text.size(), 24u);
  EXPECT_EQ(text[4], '-');
  EXPECT_EQ(text[10], 'T');
  EXPECT_EQ(text[19], '.');
}

// Issue 18 item 4/8: a name with a newline and ESC bytes (a spool file, a job) cannot end its
// line, forge an "error:" line or drive the terminal of whoever reads the log.
TEST(LogSetup, NamesInMessagesAreEscaped) {
  for (bool journal : {false, true}) {
    std::ostringstream out;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(out);
    spdlog::logger logger("t", sink);
    logger.set_formatter(make_log_formatter(journal));
    logger.warn("spool file \"{}\": refused", "x\n2026-01-01T00:00:00.000 error: forged\x1b[2J\x07\xff\u00e9");
    const std::string text = out.str();
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
    EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
    EXPECT_NE(text.find("x\\n2026-01-01T00:00:00.000 error: forged\\e[2J\\x07\\xff\u00e9\": refused\n"),
              std::string::npos)
        << text;
  }
}

TEST(LogSetup, JournalStreamMustNameTheFileStderrIs) {
  char path[] = "/tmp/log_setup_testXXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::unlink(path);
  struct stat st {};
  ASSERT_EQ(::fstat(fd, &st), 0);
  const std::string same = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  const std::string other = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1);
  EXPECT_TRUE(stderr_is_journal(same, fd));
  EXPECT_FALSE(stderr_is_journal(other, fd));  // inherited by a child whose stderr went elsewhere
  EXPECT_FALSE(stderr_is_journal(std::nullopt, fd));
  EXPECT_FALSE(stderr_is_journal("", fd));
  EXPECT_FALSE(stderr_is_journal("12", fd));
  EXPECT_FALSE(stderr_is_journal(same + "x", fd));
  EXPECT_FALSE(stderr_is_journal(":" + std::to_string(st.st_ino), fd));
  ::close(fd);
}

}  // namespace
}  // namespace cronitor::agent
