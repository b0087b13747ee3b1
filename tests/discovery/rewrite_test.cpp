// Wrapping over the whole corpus: byte-identical round trips, idempotence, and each wrapped
// command run the way cron runs it, compared with the original.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>

#include "discovery/cron_command.h"
#include "discovery/crontab_rewriter.h"
#include "discovery/job_identity.h"
#include "test_util.h"

namespace cronitor::discovery {
namespace {

struct CorpusFile {
  std::string path;  // real path
  CrontabFormat format;
};

std::vector<CorpusFile> corpus_crontabs(const std::string& tree) {
  std::vector<CorpusFile> out;
  const std::string root = testing::corpus_dir() + "/" + tree;
  if (std::filesystem::exists(root + "/etc/crontab")) out.push_back({root + "/etc/crontab", CrontabFormat::kSystem});
  for (const char* dir : {"/etc/cron.d", "/var/spool/cron/crontabs"}) {
    if (!std::filesystem::exists(root + dir)) continue;
    for (const auto& e : std::filesystem::directory_iterator(root + dir)) {
      out.push_back({e.path().string(), dir[1] == 'v' ? CrontabFormat::kUser : CrontabFormat::kSystem});
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  return out;
}

std::map<int, std::string> all_keys(const ParsedCrontab& p) {
  std::map<int, std::string> keys;
  for (const CrontabEntry& e : p.entries) {
    keys.emplace(e.line, derive_key("t", e.user, e.schedule, e.command));
  }
  return keys;
}

TEST(Rewrite, WrapThenUnwrapRestoresEveryByteOfTheCorpus) {
  int files = 0, lines = 0;
  for (const char* tree : {"debian", "hand"}) {
    for (const CorpusFile& f : corpus_crontabs(tree)) {
      const std::string original = testing::read_file(f.path);
      const ParsedCrontab parsed = parse_crontab(original, f.format, f.path);
      const Rewrite w = wrap_crontab(original, f.format, f.path, all_keys(parsed), kDefaultExecPath);
      const Rewrite u = unwrap_crontab(w.text, f.format, f.path);
      EXPECT_EQ(u.text, original) << f.path;
      EXPECT_EQ(u.changes.size(), w.changes.size()) << f.path;
      // Wrapping twice changes nothing.
      const Rewrite again = wrap_crontab(w.text, f.format, f.path, all_keys(parsed), kDefaultExecPath);
      EXPECT_FALSE(again.changed()) << f.path;
      EXPECT_EQ(again.text, w.text);
      // Only command parts changed: same number of lines, and every other line identical.
      EXPECT_EQ(std::count(w.text.begin(), w.text.end(), '\n'), std::count(original.begin(), original.end(), '\n'));
      ++files;
      lines += static_cast<int>(w.changes.size());
    }
  }
  EXPECT_GE(files, 20);
  EXPECT_GE(lines, 60);
}

TEST(Rewrite, CommentedAndUnparsableLinesStayAsTheyAre) {
  const std::string text =
      "# comment\nSHELL=/bin/sh\n0 0 * * *\troot   echo a\n# 1 1 * * * root echo disabled\nbad line here\n";
  const ParsedCrontab parsed = parse_crontab(text, CrontabFormat::kSystem, "f");
  const Rewrite w = wrap_crontab(text, CrontabFormat::kSystem, "f", all_keys(parsed), "/usr/bin/cronitor-exec");
  ASSERT_EQ(w.changes.size(), 1u);
  const std::string key = w.changes[0].key;
  EXPECT_EQ(w.text, "# comment\nSHELL=/bin/sh\n0 0 * * *\troot   /usr/bin/cronitor-exec " + key +
                        " -- 'echo a'\n# 1 1 * * * root echo disabled\nbad line here\n");
}

TEST(Rewrite, NonPosixShellAndOverlongLinesAreLeftAlone) {
  const std::string text = "SHELL=/usr/bin/python3\n0 * * * * root print(1)\n";
  const ParsedCrontab parsed = parse_crontab(text, CrontabFormat::kSystem, "f");
  const Rewrite w = wrap_crontab(text, CrontabFormat::kSystem, "f", all_keys(parsed), "/usr/bin/cronitor-exec");
  EXPECT_FALSE(w.changed());
  ASSERT_EQ(w.skipped.size(), 1u);
  EXPECT_EQ(w.skipped[0].line, 2);
}

TEST(Rewrite, PrewrappedLinesAreRecognised) {
  const std::string path = testing::corpus_dir() + "/prewrapped/etc/cron.d/wrapped";
  const std::string text = testing::read_file(path);
  const ParsedCrontab parsed = parse_crontab(text, CrontabFormat::kSystem, path);
  const Rewrite w = wrap_crontab(text, CrontabFormat::kSystem, path, all_keys(parsed), kDefaultExecPath);
  ASSERT_EQ(w.changes.size(), 1u);  // only "echo not wrapped yet"
  EXPECT_EQ(w.changes[0].line, 8);
  const Rewrite u = unwrap_crontab(text, CrontabFormat::kSystem, path);
  EXPECT_EQ(u.changes.size(), 5u);  // the commented-out wrapped line too
  // cronitor-cli's own line reports to Cronitor, not to this agent: unwrap leaves it (issue 19).
  EXPECT_NE(u.text.find("0 3 * * * root cronitor exec abc123 echo \"cronitor-cli form\"\n"), std::string::npos);
  EXPECT_NE(u.text.find("0 1 * * * root echo already wrapped\n"), std::string::npos);
  EXPECT_NE(u.text.find("0 2 * * * root echo wrapped by hand\n"), std::string::npos);
  EXPECT_NE(u.text.find("0 4 * * * root echo with a flag%stdin\n"), std::string::npos);
  EXPECT_NE(u.text.find("0 5 * * * root it's quoted  %one%two\n"), std::string::npos);
  EXPECT_NE(u.text.find("# 0 6 * * * root echo commented and wrapped\n"), std::string::npos);
}

TEST(Rewrite, UnifiedDiff) {
  const std::string a = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n";
  std::string b = a;
  b.replace(b.find("2\n"), 2, "two\n");
  b.replace(b.find("11\n"), 3, "eleven\n");
  EXPECT_EQ(unified_diff(a, b, "/etc/cron.d/x"),
            "--- a/etc/cron.d/x\n+++ b/etc/cron.d/x\n"
            "@@ -1,5 +1,5 @@\n 1\n-2\n+two\n 3\n 4\n 5\n"
            "@@ -8,5 +8,5 @@\n 8\n 9\n 10\n-11\n+eleven\n 12\n");
  EXPECT_EQ(unified_diff(a, a, "x"), "");
  EXPECT_EQ(unified_diff("x", "y", "/f"),
            "--- a/f\n+++ b/f\n@@ -1,1 +1,1 @@\n-x\n\\ No newline at end of file\n+y\n\\ No newline at end of file\n");
}

struct RunResult {
  std::string output;
  int status = -1;
};

// Runs `command` (a crontab command part) the way cron does: the part before the first unescaped
// '%' through `$SHELL -c` with "\%" as '%', the rest as stdin, stdout and stderr together.
// `report` is where a wrapped command's cronitor-exec reports: a socket nobody listens on and a
// spool folder of the test's own, never the host's agent.
RunResult run_like_cron(const std::string& command, const JobEnv& env, const std::string& cwd,
                        const std::string& report) {
  const std::string shell_cmd = shell_command(command);
  const std::string input = stdin_text(command);
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) return {};
  const std::string shell_env = "SHELL=" + env.shell;
  const std::string path_env = "PATH=" + env.path;
  const std::string home_env = "HOME=" + cwd;
  const std::string socket_env = "CRONITOR_SOCKET=" + report + "/none.sock";
  const std::string spool_env = "CRONITOR_SPOOL=" + report + "/spool";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    if (::chdir(cwd.c_str()) != 0) ::_exit(126);
    const char* envp[] = {shell_env.c_str(),  path_env.c_str(),  home_env.c_str(), "LOGNAME=root",
                          socket_env.c_str(), spool_env.c_str(), nullptr};
    ::execle(env.shell.c_str(), env.shell.c_str(), "-c", shell_cmd.c_str(), static_cast<char*>(nullptr), envp);
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  [[maybe_unused]] ssize_t w = ::write(in[1], input.data(), input.size());
  ::close(in[1]);
  RunResult r;
  char buf[4096];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) r.output.append(buf, static_cast<std::size_t>(n));
  ::close(out[0]);
  int st = 0;
  ::waitpid(pid, &st, 0);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

TEST(Rewrite, WrappedCommandsBehaveLikeTheOriginalsUnderCron) {
  ::signal(SIGPIPE, SIG_IGN);
  testing::TempTree cwd, report;
  int ran = 0;
  for (const char* tree : {"debian", "hand"}) {
    for (const CorpusFile& f : corpus_crontabs(tree)) {
      const std::string original = testing::read_file(f.path);
      const ParsedCrontab parsed = parse_crontab(original, f.format, f.path);
      for (const CrontabEntry& e : parsed.entries) {
        // Lines that would do real work on this host (run the real run-parts folders, scrub
        // file systems) are not run here; their wrapping is covered by the round-trip test.
        if (e.disabled || e.command.find("run-parts") != std::string::npos ||
            e.command.find("e2scrub") != std::string::npos || !posix_shell(e.env.shell)) {
          continue;
        }
        auto wrapped = wrap_command(e.command, "k" + std::to_string(e.line), CRONITOR_EXEC_PATH);
        ASSERT_TRUE(wrapped) << f.path << ":" << e.line;
        const RunResult a = run_like_cron(e.command, e.env, cwd.path(), report.path());
        const RunResult b = run_like_cron(*wrapped, e.env, cwd.path(), report.path());
        EXPECT_EQ(a.status, b.status) << f.path << ":" << e.line << ": " << e.command;
        EXPECT_EQ(a.output, b.output) << f.path << ":" << e.line << ": " << e.command;
        ++ran;
      }
    }
  }
  EXPECT_GE(ran, 45);
  // Every wrapped run reported into the test's own spool (one file per run), none to the host's.
  int spooled = 0;
  for (const auto& f : std::filesystem::directory_iterator(report.path() + "/spool"))
    spooled += f.path().extension() == ".jsonl";
  EXPECT_EQ(spooled, ran);
}

}  // namespace
}  // namespace cronitor::discovery
