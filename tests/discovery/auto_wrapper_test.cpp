// wrap/unwrap on a copy of a host: atomic writes, owners and modes, backups, symlinks, dry runs,
// and the cronitor-agent subcommands themselves.
#include "discovery/auto_wrapper.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "discovery/scanner.h"
#include "test_util.h"

namespace cronitor::discovery {
namespace {

using testing::read_file;
using testing::TempTree;

std::map<std::string, std::string> snapshot(const std::string& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    if (e.is_regular_file() && !e.is_symlink()) out[e.path().string()] = read_file(e.path().string());
  }
  return out;
}

std::map<std::string, std::string> keys_by_place(const DiskRoot& root) {
  Scanner s(root);
  s.scan();
  std::map<std::string, std::string> out;
  for (const Job* j : s.jobs()) out[j->file + ":" + std::to_string(j->line) + ":" + j->unit] = j->key;
  return out;
}

struct HandHost {
  TempTree tree{"hand"};
  TempTree state;
  HandHost() {
    const std::string spool = tree / "var/spool/cron/crontabs";
    // As crontab(1) leaves them; git keeps only 0644 and 0755, so the fixture sets the rest.
    EXPECT_EQ(::chmod((spool + "/alice").c_str(), 0600), 0);
    EXPECT_EQ(::chmod((spool + "/bob").c_str(), 0600), 0);
    EXPECT_EQ(::chown((spool + "/alice").c_str(), 1000, 105), 0);
    EXPECT_EQ(::chown((spool + "/bob").c_str(), 1001, 105), 0);
    EXPECT_EQ(::chown(spool.c_str(), 0, 105), 0);
    EXPECT_EQ(::chmod(spool.c_str(), 01730), 0);
    const timeval old[2] = {{946684800, 0}, {946684800, 0}};
    EXPECT_EQ(::utimes(spool.c_str(), old), 0);
  }
  WrapOptions options(bool unwrap = false, bool dry = false) const {
    WrapOptions o;
    o.unwrap = unwrap;
    o.dry_run = dry;
    o.backup_dir = state.path() + "/backups";
    return o;
  }
};

TEST(AutoWrapper, WrapKeepsKeysOwnersModesAndUnwrapRestoresEveryByte) {
  HandHost host;
  DiskRoot root(host.tree.path());
  const auto before = snapshot(host.tree.path());
  const auto keys_before = keys_by_place(root);

  const WrapReport r = run_wrap(root, host.options());
  EXPECT_GE(r.lines, 30);
  EXPECT_EQ(r.written.size(), r.backups.size());
  // The keys written into the lines are those discover showed before.
  EXPECT_EQ(keys_by_place(root), keys_before);
  Scanner s(root);
  s.scan();
  int wrapped = 0;
  for (const Job* j : s.jobs()) {
    wrapped += j->wrapped;
    if (j->wrapped) {
      EXPECT_NE(j->command.find("/usr/bin/cronitor-exec " + j->key + " -- '"), std::string::npos);
    }
  }
  EXPECT_EQ(wrapped, r.lines);

  // The user crontab: owner, group and mode kept, the spool folder's mtime bumped.
  const std::string alice = host.tree / "var/spool/cron/crontabs/alice";
  struct stat st {};
  ASSERT_EQ(::stat(alice.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_gid, 105u);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat((host.tree / "var/spool/cron/crontabs").c_str(), &st), 0);
  EXPECT_GT(st.st_mtime, 946684800);
  EXPECT_EQ(st.st_mode & 07777, 01730u);
  ASSERT_EQ(::stat((host.tree / "etc/cron.d/edges").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  // No temp files left; backups hold the original bytes.
  for (const auto& e : std::filesystem::directory_iterator(host.tree / "etc/cron.d")) {
    EXPECT_EQ(e.path().filename().string().find(".cronitor-"), std::string::npos) << e.path();
  }
  for (std::size_t i = 0; i < r.written.size(); ++i) {
    EXPECT_EQ(read_file(r.backups[i]), before.at(host.tree.path() + r.written[i])) << r.backups[i];
  }
  // Lines in files cron does not read, and lines under a non-POSIX shell, are not wrapped.
  EXPECT_EQ(read_file(host.tree / "etc/cron.d/backup.dpkg-old"), before.at(host.tree / "etc/cron.d/backup.dpkg-old"));
  EXPECT_EQ(read_file(host.tree / "etc/cron.d/non-posix"), before.at(host.tree / "etc/cron.d/non-posix"));

  // Wrapping again changes nothing.
  const auto wrapped_files = snapshot(host.tree.path());
  const WrapReport again = run_wrap(root, host.options());
  EXPECT_EQ(again.lines, 0);
  EXPECT_EQ(snapshot(host.tree.path()), wrapped_files);

  const WrapReport u = run_wrap(root, host.options(true));
  EXPECT_EQ(u.lines, r.lines);
  EXPECT_EQ(snapshot(host.tree.path()), before);
  ASSERT_EQ(::stat(alice.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1000u);
}

TEST(AutoWrapper, DryRunPrintsADiffAndWritesNothing) {
  HandHost host;
  DiskRoot root(host.tree.path());
  const auto before = snapshot(host.tree.path());
  WrapOptions o = host.options(false, true);
  o.files = {"/etc/cron.d/edges"};
  const WrapReport r = run_wrap(root, o);
  EXPECT_EQ(snapshot(host.tree.path()), before);
  EXPECT_TRUE(r.written.empty());
  EXPECT_EQ(r.diff.rfind("--- a/etc/cron.d/edges\n+++ b/etc/cron.d/edges\n@@ ", 0), 0u) << r.diff;
  EXPECT_EQ(r.diff.find("/etc/crontab"), std::string::npos);  // limited to the named file
  EXPECT_NE(r.diff.find("+*/15 9-17 * * mon-fri   root  /usr/bin/cronitor-exec "), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(host.state / "backups"));
}

TEST(AutoWrapper, NeverFollowsASymlinkOutOfTheCrontabFolders) {
  HandHost host;
  TempTree elsewhere;
  const std::string target = elsewhere / "outside";
  testing::write_file(target, "0 0 * * * root echo outside\n");
  std::filesystem::create_symlink(target, host.tree / "etc/cron.d/linked");
  DiskRoot root(host.tree.path());
  WrapOptions o = host.options();
  o.files = {"/etc/cron.d/linked"};
  const WrapReport r = run_wrap(root, o);
  EXPECT_EQ(read_file(target), "0 0 * * * root echo outside\n");
  EXPECT_TRUE(r.written.empty());
  ASSERT_FALSE(r.warnings.empty());
  EXPECT_NE(r.warnings.back().message.find("symbolic link"), std::string::npos) << r.warnings.back().message;
}

TEST(AutoWrapper, ExecPathOverride) {
  HandHost host;
  DiskRoot root(host.tree.path());
  WrapOptions o = host.options();
  o.exec_path = "/opt/cronitor/bin/cronitor-exec";
  o.files = {host.tree / "etc/crontab"};  // a real path under the root works too
  const WrapReport r = run_wrap(root, o);
  ASSERT_EQ(r.written.size(), 1u);
  EXPECT_NE(read_file(host.tree / "etc/crontab").find("root\t/opt/cronitor/bin/cronitor-exec "), std::string::npos);
}

std::string run_cli(const std::string& args, int& status) {
  const std::string cmd = std::string(CRONITOR_AGENT_PATH) + " " + args + " 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  status = ::pclose(p);
  return out;
}

TEST(AutoWrapper, CommandLine) {
  HandHost host;
  int status = -1;
  const std::string json = run_cli("discover --json --root " + host.tree.path(), status);
  EXPECT_EQ(status, 0);
  const auto arr = nlohmann::json::parse(json);
  ASSERT_TRUE(arr.is_array());
  EXPECT_GT(arr.size(), 50u);
  EXPECT_EQ(arr[0]["source"], "crontab");

  const std::string table = run_cli("discover --root " + host.tree.path(), status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(table.rfind("KEY ", 0), 0u);
  EXPECT_NE(table.find("nightly-report"), std::string::npos);

  // No wrapper installed in the copy: nothing is wrapped, not even in a dry run.
  auto before = snapshot(host.tree.path());
  run_cli("wrap --root " + host.tree.path() + " --state-dir " + host.state.path(), status);
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_EQ(snapshot(host.tree.path()), before);
  run_cli("wrap --exec /tmp --root " + host.tree.path() + " --state-dir " + host.state.path(), status);
  EXPECT_EQ(WEXITSTATUS(status), 1);
  testing::write_file(host.tree / "usr/bin/cronitor-exec", "#!/bin/sh\n", 0755);

  before = snapshot(host.tree.path());
  const std::string diff = run_cli("wrap --dry-run --root " + host.tree.path(), status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(diff.rfind("--- a/", 0), 0u);
  EXPECT_EQ(snapshot(host.tree.path()), before);
  run_cli("wrap --root " + host.tree.path() + " --state-dir " + host.state.path(), status);
  EXPECT_EQ(status, 0);
  EXPECT_NE(snapshot(host.tree.path()), before);
  run_cli("unwrap --root " + host.tree.path() + " --state-dir " + host.state.path(), status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(snapshot(host.tree.path()), before);
}

}  // namespace
}  // namespace cronitor::discovery
