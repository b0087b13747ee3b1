// What may be written into crontabs and where (issue 10): only a wrapper that only root can
// change, never a file a package owns unless asked, one backup per original, and a rewrite that
// works inside the agent's own unit (a read-only /etc around a writable /etc/crontab).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "discovery/auto_wrapper.h"
#include "discovery/crontab_writer.h"
#include "discovery/package_files.h"
#include "discovery/wrapper_path.h"
#include "test_util.h"

namespace cronitor::discovery {
namespace {

namespace fs = std::filesystem;
using testing::read_file;
using testing::TempTree;
using testing::write_file;

bool root_user() { return ::geteuid() == 0; }

/// ROOT/usr/bin/cronitor-exec as the package installs it: root's, 0755, in root's 0755 folders.
void install_wrapper(const TempTree& t, const std::string& host_path = "/usr/bin/cronitor-exec") {
  write_file(t.path() + host_path, "#!/bin/sh\nexit 0\n", 0755);
  for (fs::path p = fs::path(t.path() + host_path).parent_path(); p.string().size() > t.path().size();
       p = p.parent_path()) {
    ::chmod(p.c_str(), 0755);
    [[maybe_unused]] int rc = ::chown(p.c_str(), 0, 0);
  }
  [[maybe_unused]] int rc = ::chown((t.path() + host_path).c_str(), 0, 0);
}

TEST(WrapperPath, AcceptsOnlyAWrapperOnlyRootCanChange) {
  if (!root_user()) GTEST_SKIP() << "needs root to own files as root and as others";
  TempTree t;
  const DiskRoot root(t.path());
  // Missing: the build tree's wrapper is never a fallback.
  auto missing = check_wrapper_path(root, "/usr/bin/cronitor-exec");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("No such file"), std::string::npos) << missing.error().message;

  install_wrapper(t);
  EXPECT_TRUE(check_wrapper_path(root, "/usr/bin/cronitor-exec"));

  // A folder on the way that others may write: anyone could swap the wrapper.
  ASSERT_EQ(::chmod((t / "usr/bin").c_str(), 0775), 0);
  auto group = check_wrapper_path(root, "/usr/bin/cronitor-exec");
  ASSERT_FALSE(group);
  EXPECT_EQ(group.error().message, "/usr/bin is writable by group or others");
  ASSERT_EQ(::chmod((t / "usr/bin").c_str(), 0755), 0);

  // The file itself owned by a user: root would run that user's code.
  ASSERT_EQ(::chown((t / "usr/bin/cronitor-exec").c_str(), 65534, 65534), 0);
  auto owned = check_wrapper_path(root, "/usr/bin/cronitor-exec");
  ASSERT_FALSE(owned);
  EXPECT_EQ(owned.error().message, "/usr/bin/cronitor-exec is owned by uid 65534, not root");
  ASSERT_EQ(::chown((t / "usr/bin/cronitor-exec").c_str(), 0, 0), 0);

  // Not executable, not plain, not absolute.
  ASSERT_EQ(::chmod((t / "usr/bin/cronitor-exec").c_str(), 0644), 0);
  EXPECT_FALSE(check_wrapper_path(root, "/usr/bin/cronitor-exec"));
  ASSERT_EQ(::chmod((t / "usr/bin/cronitor-exec").c_str(), 0755), 0);
  EXPECT_FALSE(check_wrapper_path(root, "/usr/bin/cronitor exec"));
  EXPECT_FALSE(check_wrapper_path(root, "usr/bin/cronitor-exec"));

  // A symlink is followed inside the root, and its target's folders are checked too.
  install_wrapper(t, "/opt/cronitor/bin/cronitor-exec");
  fs::create_directories(t / "usr/local/bin");
  fs::create_symlink("/opt/cronitor/bin/cronitor-exec", t / "usr/local/bin/cronitor-exec");
  EXPECT_TRUE(check_wrapper_path(root, "/usr/local/bin/cronitor-exec"));
  ASSERT_EQ(::chmod((t / "opt").c_str(), 0777), 0);
  auto via_link = check_wrapper_path(root, "/usr/local/bin/cronitor-exec");
  ASSERT_FALSE(via_link);
  EXPECT_EQ(via_link.error().message, "/opt is writable by group or others");
}

TEST(WrapperPath, TheHostsTmpIsNeverAcceptable) {
  // A build tree under /tmp (sticky, world-writable): what the daemon used to write into /etc/crontab.
  char tmpl[] = "/tmp/cronitor-wp-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string exec = std::string(tmpl) + "/cronitor-exec";
  write_file(exec, "#!/bin/sh\n", 0755);
  auto r = check_wrapper_path(DiskRoot(""), exec);
  fs::remove_all(tmpl);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "/tmp is writable by group or others");
}

/// A host with dpkg's lists: /etc/crontab (cron-daemon-common) and e2scrub_all (e2fsprogs)
/// belong to packages; /etc/cron.d/backup is the admin's.
struct PackagedHost {
  TempTree tree;
  TempTree state;
  PackagedHost() {
    write_file(tree / "etc/crontab",
               "SHELL=/bin/sh\n17 * * * * root cd / && run-parts --report /etc/cron.hourly\n"
               "5 4 * * * root /usr/local/bin/admin-added\n");
    write_file(tree / "etc/cron.d/e2scrub_all",
               "30 3 * * 0 root test -e /run/systemd/system || SERVICE_MODE=1 /usr/lib/x86_64-linux-gnu/"
               "e2fsprogs/e2scrub_all_cron\n");
    write_file(tree / "etc/cron.d/backup", "*/5 * * * * root /usr/local/bin/backup\n");
    write_file(tree / "var/lib/dpkg/info/cron-daemon-common.conffiles", "/etc/crontab\n/etc/cron.d/.placeholder\n");
    write_file(tree / "var/lib/dpkg/info/cron-daemon-common.list", "/.\n/etc\n/etc/crontab\n");
    write_file(tree / "var/lib/dpkg/info/e2fsprogs.list", "/etc/cron.d\n/etc/cron.d/e2scrub_all\n");
    write_file(tree / "var/lib/dpkg/info/e2fsprogs.conffiles", "/etc/cron.d/e2scrub_all remove-on-upgrade\n");
  }
  WrapOptions options() const {
    WrapOptions o;
    o.backup_dir = state / "backups";
    return o;
  }
};

TEST(PackageFiles, ReadsOwnersOfCronFilesFromDpkgLists) {
  PackagedHost h;
  const auto p = PackageFiles::load(DiskRoot(h.tree.path()));
  EXPECT_EQ(p.owner("/etc/crontab"), "cron-daemon-common");
  EXPECT_EQ(p.owner("/etc/cron.d/e2scrub_all"), "e2fsprogs");
  EXPECT_EQ(p.owner("/etc/cron.d/backup"), std::nullopt);
  EXPECT_EQ(p.owner("/etc"), std::nullopt);  // only cron locations are kept
}

TEST(PackageFiles, PackageFilesAreLeftAloneUnlessAsked) {
  PackagedHost h;
  const DiskRoot root(h.tree.path());
  const std::string crontab = read_file(h.tree / "etc/crontab");
  const std::string e2scrub = read_file(h.tree / "etc/cron.d/e2scrub_all");
  WrapReport r = run_wrap(root, h.options());
  ASSERT_EQ(r.written, std::vector<std::string>{"/etc/cron.d/backup"});
  EXPECT_EQ(read_file(h.tree / "etc/crontab"), crontab);  // the admin's line in it too
  EXPECT_EQ(read_file(h.tree / "etc/cron.d/e2scrub_all"), e2scrub);
  ASSERT_EQ(r.package_files.size(), 2u);
  EXPECT_EQ(r.package_files[0], (std::pair<std::string, std::string>{"/etc/cron.d/e2scrub_all", "e2fsprogs"}));
  EXPECT_EQ(r.package_files[1], (std::pair<std::string, std::string>{"/etc/crontab", "cron-daemon-common"}));

  WrapOptions all = h.options();
  all.wrap_package_files = true;
  r = run_wrap(root, all);
  EXPECT_EQ(r.written.size(), 2u);
  EXPECT_NE(read_file(h.tree / "etc/crontab").find("cronitor-exec "), std::string::npos);
  // unwrap restores them whatever the setting.
  r = run_wrap(root, [&] {
    WrapOptions u = h.options();
    u.unwrap = true;
    return u;
  }());
  EXPECT_EQ(read_file(h.tree / "etc/crontab"), crontab);
  EXPECT_EQ(read_file(h.tree / "etc/cron.d/e2scrub_all"), e2scrub);
}

TEST(PackageFiles, DiscoverSaysWhichJobsAreObservedFromCronsLog) {
  PackagedHost h;
  const std::string cmd = std::string(CRONITOR_AGENT_PATH) + " discover --json --root " + h.tree.path() + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  ASSERT_EQ(::pclose(p), 0) << out;
  // The note about the missing wrapper comes first (stderr), then the array.
  const std::size_t note = out.find("note: /usr: lstat: No such file or directory: lines are not wrapped");
  EXPECT_NE(note, std::string::npos) << out;
  const auto jobs = nlohmann::json::parse(out.substr(out.find('[')), nullptr, false);
  ASSERT_TRUE(jobs.is_array()) << out;
  int seen = 0;
  for (const auto& j : jobs) {
    if (j["file"] == "/etc/cron.d/e2scrub_all") {
      EXPECT_EQ(j["reported_by"], "cron log");
      EXPECT_EQ(j["package"], "e2fsprogs");
      ++seen;
    } else if (j["file"] == "/etc/cron.d/backup") {
      EXPECT_TRUE(j["reported_by"].is_null());
      EXPECT_TRUE(j["package"].is_null());
      ++seen;
    }
  }
  EXPECT_EQ(seen, 2);
}

std::size_t files_in(const std::string& dir) {
  std::size_t n = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); ++it)
    n += it->is_regular_file();
  return n;
}

TEST(CrontabBackups, OneBackupPerOriginalWhateverTheTries) {
  PackagedHost h;
  const DiskRoot root(h.tree.path());
  const std::string original = read_file(h.tree / "etc/cron.d/backup");
  WrapOptions o = h.options();
  o.files = {"/etc/cron.d/backup"};
  ASSERT_EQ(run_wrap(root, o).lines, 1);
  WrapOptions u = o;
  u.unwrap = true;
  for (int i = 0; i < 3; ++i) {  // wrap, unwrap, wrap...: the same two contents each time
    ASSERT_EQ(run_wrap(root, u).lines, 1);
    ASSERT_EQ(run_wrap(root, o).lines, 1);
  }
  // The original and the wrapped text: one backup each.
  EXPECT_EQ(files_in(h.state / "backups"), 2u);
  ASSERT_EQ(run_wrap(root, u).lines, 1);
  EXPECT_EQ(read_file(h.tree / "etc/cron.d/backup"), original);
}

TEST(CrontabBackups, OldBackupFolderMovesIntoTheOneFolder) {
  TempTree state;
  write_file(state / "crontab-backups/etc/cron.d/x.20260101T000000Z", "old\n", 0600);
  write_file(state / "backups/etc/crontab.20260101T000000Z", "kept\n", 0600);
  migrate_backups(state / "crontab-backups", state / "backups");
  EXPECT_EQ(read_file(state / "backups/etc/cron.d/x.20260101T000000Z"), "old\n");
  EXPECT_EQ(read_file(state / "backups/etc/crontab.20260101T000000Z"), "kept\n");
  EXPECT_FALSE(fs::exists(state / "crontab-backups"));
}

/// In a mount namespace of its own: ROOT/etc read-only, ROOT/etc/crontab and ROOT/etc/cron.d
/// bound read-write on it, as ProtectSystem=full with ReadWritePaths=/etc/crontab /etc/cron.d does.
/// Runs `body` there in a child; returns its exit status (0: all went well).
int in_unit_mounts(const std::string& root, const std::function<int()>& body, bool read_only_etc = true) {
  const pid_t child = ::fork();
  if (child == 0) {
    if (::unshare(CLONE_NEWNS) != 0) ::_exit(90);
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) ::_exit(91);
    const std::string etc = root + "/etc";
    if (::mount(etc.c_str(), etc.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) ::_exit(92);
    if (read_only_etc && ::mount(nullptr, etc.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0)
      ::_exit(93);
    for (const char* rw : {"/etc/crontab", "/etc/cron.d"}) {
      const std::string p = root + rw;
      // A bind mount takes its source mount's read-only flag: clear it, as systemd does.
      if (::mount(p.c_str(), p.c_str(), nullptr, MS_BIND, nullptr) != 0) ::_exit(94);
      if (::mount(nullptr, p.c_str(), nullptr, MS_BIND | MS_REMOUNT, nullptr) != 0) ::_exit(96);
    }
    // The restriction holds: no new file in /etc.
    const int fd = ::open((etc + "/probe").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (read_only_etc && (fd >= 0 || errno != EROFS)) ::_exit(95);
    if (fd >= 0) ::unlink((etc + "/probe").c_str());
    ::_exit(body());
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(CrontabWriter, AUsersCrontabRunWhileTheWrapIsWrittenIsNotLost) {
  // A config tool adds lines with one `crontab` call each. Its second call lands while the agent
  // writes the wrapped text of the first: renaming that over it would drop the user's new line.
  TempTree tree;
  TempTree state;
  const std::string v1 = "*/5 * * * * /usr/local/bin/sync\n";
  const std::string v2 = v1 + "0 3 * * * /usr/local/bin/report\n";
  write_file(tree / "etc/cron.d/jobs", v1, 0644);
  const DiskRoot root(tree.path());
  CrontabWriter w(root, state / "backups");
  w.before_rename = [&] {
    const std::string tmp = tree / "etc/cron.d/.jobs.crontab";
    write_file(tmp, v2, 0644);
    ASSERT_EQ(::rename(tmp.c_str(), (tree / "etc/cron.d/jobs").c_str()), 0);  // as crontab(1) does
  };
  auto r = w.replace("/etc/cron.d/jobs", v1, "*/5 * * * * /usr/bin/cronitor-exec k -- /usr/local/bin/sync\n");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("changed while being rewritten"), std::string::npos) << r.error().message;
  EXPECT_EQ(read_file(tree / "etc/cron.d/jobs"), v2);
  EXPECT_EQ(files_in(tree / "etc/cron.d"), 1u) << "the temp file was left";
  EXPECT_EQ(files_in(state / "backups"), 0u) << "a backup of a rewrite that did not happen";
  // Untouched, the same call goes through.
  CrontabWriter quiet(root, state / "backups");
  ASSERT_TRUE(quiet.replace("/etc/cron.d/jobs", v2, v2 + "# wrapped\n"));
  EXPECT_EQ(read_file(tree / "etc/cron.d/jobs"), v2 + "# wrapped\n");
}

TEST(CrontabWriter, WrapsUnderTheUnitsReadOnlyEtc) {
  if (!root_user()) GTEST_SKIP() << "needs root for a mount namespace";
  PackagedHost h;
  const std::string crontab = read_file(h.tree / "etc/crontab");
  const std::string backup = read_file(h.tree / "etc/cron.d/backup");
  ASSERT_EQ(::chmod((h.tree / "etc/crontab").c_str(), 0640), 0);
  const int st = in_unit_mounts(h.tree.path(), [&] {
    const DiskRoot root(h.tree.path());
    WrapOptions o = h.options();
    o.wrap_package_files = true;
    for (int attempt = 0; attempt < 3; ++attempt) {  // retries leave no pile of backups
      const WrapReport r = run_wrap(root, o);
      for (const auto& w : r.warnings) std::fprintf(stderr, "%s\n", w.to_string().c_str());
      if (!r.warnings.empty()) return 1;
      if (r.lines != (attempt == 0 ? 4 : 0)) return 2;
    }
    WrapOptions u = o;
    u.unwrap = true;
    if (run_wrap(root, u).lines != 4) return 3;
    return run_wrap(root, o).lines == 4 ? 0 : 4;
  });
  ASSERT_EQ(st, 0) << "90-96: the mounts could not be made; 1-4: wrapping under them failed";
  // Rewritten in place (the bind-mounted file could not be renamed over): mode and owner kept.
  const std::string wrapped = read_file(h.tree / "etc/crontab");
  EXPECT_NE(wrapped.find("root /usr/bin/cronitor-exec "), std::string::npos) << wrapped;
  struct stat s {};
  ASSERT_EQ(::stat((h.tree / "etc/crontab").c_str(), &s), 0);
  EXPECT_EQ(s.st_mode & 07777, 0640u);
  EXPECT_NE(read_file(h.tree / "etc/cron.d/backup"), backup);
  EXPECT_EQ(files_in(h.tree / "etc"), 3u) << "a temp file was left in /etc";
  // One backup per original content: crontab, e2scrub_all and backup, each before and after.
  EXPECT_EQ(files_in(h.state / "backups"), 6u);
  bool original_kept = false;
  for (const auto& e : fs::directory_iterator(h.state / "backups/etc"))
    if (e.path().filename().string().starts_with("crontab.")) original_kept |= read_file(e.path()) == crontab;
  EXPECT_TRUE(original_kept);
}

TEST(CrontabWriter, RewritesABindMountedCrontabInPlace) {
  if (!root_user()) GTEST_SKIP() << "needs root for a mount namespace";
  PackagedHost h;
  // /etc writable, /etc/crontab a mount point of its own: a rename onto it fails with EBUSY.
  const int st = in_unit_mounts(
      h.tree.path(),
      [&] {
        WrapOptions o = h.options();
        o.wrap_package_files = true;
        o.files = {"/etc/crontab"};
        const WrapReport r = run_wrap(DiskRoot(h.tree.path()), o);
        for (const auto& w : r.warnings) std::fprintf(stderr, "%s\n", w.to_string().c_str());
        return r.lines == 2 && r.warnings.empty() ? 0 : 1;
      },
      /*read_only_etc=*/false);
  ASSERT_EQ(st, 0);
  EXPECT_NE(read_file(h.tree / "etc/crontab").find("/usr/bin/cronitor-exec "), std::string::npos);
  EXPECT_EQ(files_in(h.tree / "etc"), 3u) << "a temp file was left in /etc";
  EXPECT_EQ(files_in(h.state / "backups"), 1u);
}

}  // namespace
}  // namespace cronitor::discovery
