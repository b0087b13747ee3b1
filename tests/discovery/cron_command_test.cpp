#include "discovery/cron_command.h"

#include <gtest/gtest.h>

namespace cronitor::discovery {
namespace {

TEST(CronCommand, StdinSplitFollowsCronsEscapeRule) {
  EXPECT_EQ(find_stdin_split("echo hi"), std::string_view::npos);
  EXPECT_EQ(find_stdin_split("cat%abc"), 3u);
  EXPECT_EQ(find_stdin_split("date +\\%Y"), std::string_view::npos);
  EXPECT_EQ(find_stdin_split("a\\\\%b"), 3u);      // "\\" is a pair, the % after it splits
  EXPECT_EQ(find_stdin_split("printf '%s'"), 8u);  // quotes do not protect % from cron
}

TEST(CronCommand, ShellCommandAndStdinAsCronFeedsThem) {
  EXPECT_EQ(shell_command("date +\\%Y-\\%m"), "date +%Y-%m");
  EXPECT_EQ(shell_command("cat%a%b"), "cat");
  EXPECT_EQ(shell_command("echo a\\b"), "echo a\\b");  // other backslashes stay
  EXPECT_EQ(stdin_text("cat%line one%line two\\%x"), "line one\nline two%x");
  EXPECT_EQ(stdin_text("cat"), "");
}

TEST(CronCommand, SingleQuoting) {
  EXPECT_EQ(shell_single_quote("echo hi"), "'echo hi'");
  EXPECT_EQ(shell_single_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_single_quote(""), "''");
}

TEST(CronCommand, WrapKeepsStdinPartAndTrailingBlanksOutsideTheQuotes) {
  auto w = wrap_command("cat -A%line one%two  ", "k1", "/usr/bin/cronitor-exec");
  ASSERT_TRUE(w);
  EXPECT_EQ(*w, "/usr/bin/cronitor-exec k1 -- 'cat -A'%line one%two  ");
  w = wrap_command("echo trailing   ", "k2", "cronitor-exec");
  ASSERT_TRUE(w);
  EXPECT_EQ(*w, "cronitor-exec k2 -- 'echo trailing'   ");
  w = wrap_command("echo it's  %in", "k3", "cronitor-exec");
  ASSERT_TRUE(w);
  EXPECT_EQ(*w, "cronitor-exec k3 -- 'echo it'\\''s'  %in");
}

TEST(CronCommand, WrapRefusesWhatCronWouldCut) {
  const std::string long_cmd(990, 'x');
  auto w = wrap_command(long_cmd, "k", "/usr/bin/cronitor-exec");
  ASSERT_FALSE(w);
  EXPECT_NE(w.error().message.find("over cron's limit"), std::string::npos);
  EXPECT_FALSE(wrap_command("   ", "k", "x"));
}

TEST(CronCommand, ParseWrappedRoundTrip) {
  const std::string originals[] = {
      "echo hi",
      "printf '%s\\n' it\\'s",
      "cat%line one%line two\\%not a split",
      "echo back\\\\slash \\\\% and \\% more % stdin",
      "echo trailing spaces   ",
      "echo 'unterminated",
      "a\\'%x",
      "x\\",
      "echo \"$(date +\\%Y)\" | wc -c ; exit 3",
      "echo tab\tinside",
  };
  for (const std::string& orig : originals) {
    auto w = wrap_command(orig, "abc123", "/usr/bin/cronitor-exec");
    ASSERT_TRUE(w) << orig;
    auto parsed = parse_wrapped(*w);
    ASSERT_TRUE(parsed) << *w;
    EXPECT_TRUE(parsed->canonical) << *w;
    EXPECT_EQ(parsed->key, "abc123");
    EXPECT_EQ(unwrap_command(*parsed), orig) << *w;
    // What cron hands the shell: the wrapper's argument is the original shell command.
    EXPECT_EQ(stdin_text(*w), stdin_text(orig)) << *w;
    EXPECT_EQ(find_stdin_split(*w) == std::string_view::npos, find_stdin_split(orig) == std::string_view::npos);
  }
}

TEST(CronCommand, RecognisesOlderAndHandWrittenForms) {
  auto w = parse_wrapped("cronitor-exec handkey -- echo wrapped by hand");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->key, "handkey");
  EXPECT_FALSE(w->canonical);
  EXPECT_EQ(w->inner, "echo wrapped by hand");

  // cronitor-cli's own form reports to Cronitor, not here: an upstream's tool (instrumented_test).
  EXPECT_FALSE(parse_wrapped("cronitor exec abc123 echo \"cronitor-cli form\""));

  w = parse_wrapped("/opt/cronitor/bin/cronitor-exec --quiet flagkey -- 'echo with a flag'%stdin");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->key, "flagkey");
  EXPECT_FALSE(w->canonical);
  EXPECT_EQ(w->inner, "echo with a flag");
  EXPECT_EQ(w->rest, "%stdin");

  EXPECT_FALSE(parse_wrapped("cronitor --no-stdout exec key2 'backup.sh'"));

  EXPECT_FALSE(parse_wrapped("echo cronitor-exec k -- x"));
  EXPECT_FALSE(parse_wrapped("cronitor status"));
  EXPECT_FALSE(parse_wrapped("cronitor-exec"));
}

TEST(CronCommand, PosixShells) {
  EXPECT_TRUE(posix_shell("/bin/sh"));
  EXPECT_TRUE(posix_shell("/bin/bash"));
  EXPECT_TRUE(posix_shell("/usr/bin/zsh"));
  EXPECT_FALSE(posix_shell("/usr/bin/python3"));
  EXPECT_FALSE(posix_shell("/usr/bin/fish"));
}

}  // namespace
}  // namespace cronitor::discovery
