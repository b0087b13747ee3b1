// The inotify watcher driven step by step: inotify queues events synchronously with the file
// operations, so each test makes a change, calls on_readable() and poll() with chosen times.
#include "discovery/watcher.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>

#include "test_util.h"

namespace cronitor::discovery {
namespace {

using namespace std::chrono_literals;
using testing::TempTree;
using testing::write_file;
using D = Watcher::Duration;

struct Host {
  TempTree tree;
  DiskRoot root{tree.path()};
  Scanner scanner{root};
  std::unique_ptr<Watcher> watcher;
  std::vector<std::string> logged;
  D now{std::chrono::seconds(1000)};

  explicit Host(bool with_cron_d = true) {
    std::filesystem::create_directories(tree / "etc");
    if (with_cron_d) std::filesystem::create_directories(tree / "etc/cron.d");
    scanner.scan();
    Watcher::Options o;
    o.settle = 100ms;
    o.log = [this](std::string_view m) { logged.emplace_back(m); };
    auto w = Watcher::create(scanner, root, o);
    EXPECT_TRUE(w);
    watcher = std::move(*w);
  }
  /// Reads the events and polls once the burst has settled.
  Changes settle() {
    watcher->on_readable(now);
    const auto deadline = watcher->settle_deadline();
    if (!deadline) return {};
    EXPECT_LE(*deadline, now + 100ms);
    EXPECT_TRUE(watcher->poll(*deadline - 1ms).empty());  // not before the burst settles
    now = *deadline;
    return watcher->poll(now);
  }
};

TEST(Watcher, AddEditInPlaceRenameOverDelete) {
  Host h;
  write_file(h.tree / "etc/cron.d/app", "0 1 * * * root /opt/app/report\n");
  Changes c = h.settle();
  ASSERT_EQ(c.added.size(), 1u);
  EXPECT_EQ(c.added[0]->name, "report");
  const std::string key = c.added[0]->key;

  // Edit in place (same inode): the schedule changes, so does the derived key; the same line is
  // the same job, changed (issue 17), with its old key for the state to follow.
  write_file(h.tree / "etc/cron.d/app", "0 2 * * * root /opt/app/report\n");
  c = h.settle();
  EXPECT_TRUE(c.added.empty());
  EXPECT_TRUE(c.removed.empty());
  ASSERT_EQ(c.rekeyed.size(), 1u);
  EXPECT_EQ(c.rekeyed[0].first, key);
  ASSERT_EQ(c.changed.size(), 1u);
  EXPECT_NE(c.changed[0]->key, key);

  // An editor's temp file renamed over the original: only a comment and a MAILTO line change.
  write_file(h.tree / "etc/cron.d/.app.swp", "MAILTO=ops\n# edited\n0 2 * * * root /opt/app/report\n");
  std::filesystem::rename(h.tree / "etc/cron.d/.app.swp", h.tree / "etc/cron.d/app");
  c = h.settle();
  EXPECT_TRUE(c.added.empty());
  ASSERT_EQ(c.changed.size(), 1u);
  EXPECT_EQ(c.changed[0]->env.mailto, "ops");
  EXPECT_EQ(c.changed[0]->line, 3);

  std::filesystem::remove(h.tree / "etc/cron.d/app");
  c = h.settle();
  EXPECT_EQ(c.removed.size(), 1u);
  EXPECT_EQ(h.scanner.job_count(), 0u);
  EXPECT_EQ(h.watcher->full_rescans(), 0u);
}

TEST(Watcher, ChmodThatCronRefusesIsAChange) {
  Host h;
  write_file(h.tree / "etc/cron.d/app", "0 1 * * * root /opt/app/report\n");
  h.settle();
  ::chmod((h.tree / "etc/cron.d/app").c_str(), 0666);
  const Changes c = h.settle();
  ASSERT_EQ(c.changed.size(), 1u);
  EXPECT_TRUE(c.changed[0]->reason);
}

TEST(Watcher, BurstOfFiftyFilesIsOneRescan) {
  Host h;
  for (int i = 0; i < 50; ++i) {
    write_file(h.tree / ("etc/cron.d/pkg" + std::to_string(i)),
               std::to_string(i) + " * * * * root /usr/bin/job" + std::to_string(i) + "\n");
    h.watcher->on_readable(h.now);  // events arrive while the burst goes on
    h.now += 10ms;
    EXPECT_TRUE(h.watcher->poll(h.now).empty());
  }
  const Changes c = h.settle();
  EXPECT_EQ(c.added.size(), 50u);
  EXPECT_EQ(h.watcher->rescans(), 1u);
  EXPECT_EQ(h.watcher->full_rescans(), 0u);
}

TEST(Watcher, SteadyStreamIsStillReportedAfterMaxDelay) {
  Host h;
  for (int i = 0; i < 40; ++i) {
    write_file(h.tree / "etc/cron.d/busy", std::to_string(i % 60) + " * * * * root /usr/bin/busy\n");
    h.watcher->on_readable(h.now);
    h.now += 50ms;  // never quiet for 100 ms
    if (!h.watcher->poll(h.now).empty()) break;
  }
  EXPECT_EQ(h.watcher->rescans(), 1u);
}

TEST(Watcher, FolderCreatedLater) {
  Host h(false);
  EXPECT_FALSE(std::filesystem::exists(h.tree / "etc/cron.d"));
  std::filesystem::create_directories(h.tree / "etc/cron.d");
  write_file(h.tree / "etc/cron.d/early", "0 1 * * * root /usr/bin/early\n");  // before any watch on it
  Changes c = h.settle();
  ASSERT_EQ(c.added.size(), 1u);
  write_file(h.tree / "etc/cron.d/late", "0 2 * * * root /usr/bin/late\n");
  c = h.settle();
  ASSERT_EQ(c.added.size(), 1u);
  EXPECT_EQ(c.added[0]->name, "late");
  // A user crontab folder two levels deep, created later.
  std::filesystem::create_directories(h.tree / "var/spool/cron/crontabs");
  h.settle();
  write_file(h.tree / "var/spool/cron/crontabs/root", "*/5 * * * * /usr/bin/spool-job\n", 0600);
  c = h.settle();
  ASSERT_EQ(c.added.size(), 1u);
  EXPECT_EQ(c.added[0]->user, "root");
}

TEST(Watcher, LostWatchMeansFullRescan) {
  Host h;
  write_file(h.tree / "etc/cron.d/app", "0 1 * * * root /opt/app/report\n");
  h.settle();
  std::filesystem::remove_all(h.tree / "etc/cron.d");
  Changes c = h.settle();
  EXPECT_EQ(c.removed.size(), 1u);
  EXPECT_EQ(h.watcher->full_rescans(), 1u);
  EXPECT_FALSE(h.logged.empty());
  // And the folder coming back is watched again.
  std::filesystem::create_directories(h.tree / "etc/cron.d");
  h.settle();
  write_file(h.tree / "etc/cron.d/again", "0 3 * * * root /usr/bin/again\n");
  c = h.settle();
  EXPECT_EQ(c.added.size(), 1u);
}

TEST(Watcher, QueueOverflowMeansFullRescan) {
  Host h;
  // Fill the queue past fs.inotify.max_queued_events without reading it.
  long max_events = 16384;
  if (FILE* f = std::fopen("/proc/sys/fs/inotify/max_queued_events", "r")) {
    if (std::fscanf(f, "%ld", &max_events) != 1) max_events = 16384;
    std::fclose(f);
  }
  if (max_events > 200000) GTEST_SKIP() << "max_queued_events is " << max_events;
  // Two files in turn: the kernel merges an event identical to the one queued just before it.
  const std::string p = h.tree / "etc/cron.d/churn", q = h.tree / "etc/cron.d/churn2";
  write_file(p, "0 1 * * * root /usr/bin/churn\n");
  write_file(q, "0 1 * * * root /usr/bin/churn2\n");
  for (long i = 0; i < max_events / 2 + 10; ++i) {
    ::chmod(p.c_str(), i % 2 ? 0644 : 0640);
    ::chmod(q.c_str(), i % 2 ? 0644 : 0640);
  }
  write_file(h.tree / "etc/cron.d/after", "0 2 * * * root /usr/bin/after\n");
  const Changes c = h.settle();
  EXPECT_EQ(h.watcher->full_rescans(), 1u);
  EXPECT_EQ(c.added.size(), 3u);
  ASSERT_FALSE(h.logged.empty());
  EXPECT_NE(h.logged[0].find("overflow"), std::string::npos);
}

TEST(Watcher, IrrelevantFilesAreIgnored) {
  Host h;
  write_file(h.tree / "etc/hostname", "box\n");
  h.watcher->on_readable(h.now);
  EXPECT_FALSE(h.watcher->settle_deadline());
}

TEST(Watcher, TimersAndWantsLinks) {
  Host h;
  std::filesystem::create_directories(h.tree / "lib/systemd/system");
  h.settle();
  write_file(h.tree / "lib/systemd/system/t.timer", "[Timer]\nOnCalendar=daily\n");
  Changes c = h.settle();
  ASSERT_EQ(c.added.size(), 1u);
  EXPECT_TRUE(c.added[0]->disabled);
  std::filesystem::create_directories(h.tree / "etc/systemd/system/timers.target.wants");
  std::filesystem::create_symlink("/lib/systemd/system/t.timer",
                                  h.tree / "etc/systemd/system/timers.target.wants/t.timer");
  c = h.settle();
  ASSERT_EQ(c.changed.size(), 1u);
  EXPECT_TRUE(c.changed[0]->timer->enabled);
}

}  // namespace
}  // namespace cronitor::discovery

namespace cronitor::discovery {
namespace {

// crontab(1) on the real spool: it writes a temp file there and renames it over the old one.
TEST(Watcher, CrontabCommandOnTheRealSpool) {
  if (::geteuid() != 0 || !std::filesystem::exists("/usr/bin/crontab")) GTEST_SKIP() << "needs root and crontab(1)";
  if (!std::filesystem::exists("/var/spool/cron/crontabs")) GTEST_SKIP() << "no cron spool";
  ASSERT_FALSE(std::filesystem::exists("/var/spool/cron/crontabs/daemon")) << "daemon has a crontab; not touching it";
  struct Cleanup {
    ~Cleanup() { [[maybe_unused]] int rc = std::system("crontab -u daemon -r >/dev/null 2>&1"); }
  } cleanup;
  const DiskRoot root("");
  Scanner scanner(root);
  scanner.scan();
  auto w = Watcher::create(scanner, root, Watcher::Options{});
  ASSERT_TRUE(w);
  // Other tests may touch /etc/cron.d meanwhile: keep daemon's jobs only.
  auto settle = [&] {
    (*w)->on_readable(D(std::chrono::seconds(1)));
    const auto deadline = (*w)->settle_deadline();
    Changes c = deadline ? (*w)->poll(*deadline) : Changes{};
    std::erase_if(c.added, [](const Job* j) { return j->user != "daemon"; });
    std::erase_if(c.changed, [](const Job* j) { return j->user != "daemon"; });
    std::erase_if(c.removed, [](const Job& j) { return j.user != "daemon"; });
    return c;
  };
  ASSERT_EQ(std::system("echo '*/5 * * * * /bin/true cronitor-watch-test' | crontab -u daemon -"), 0);
  Changes c = settle();
  ASSERT_EQ(c.added.size(), 1u);
  EXPECT_EQ(c.added[0]->user, "daemon");
  EXPECT_EQ(c.added[0]->command, "/bin/true cronitor-watch-test");
  EXPECT_FALSE(c.added[0]->reason);  // owned by daemon, mode 0600: cron reads it
  ASSERT_EQ(std::system("echo '*/10 * * * * /bin/true cronitor-watch-test' | crontab -u daemon -"), 0);
  c = settle();
  EXPECT_EQ(c.added.size(), 0u);  // the same line, edited: changed, under a new key (issue 17)
  EXPECT_EQ(c.removed.size(), 0u);
  EXPECT_EQ(c.changed.size(), 1u);
  ASSERT_EQ(std::system("crontab -u daemon -r"), 0);
  c = settle();
  EXPECT_EQ(c.removed.size(), 1u);
}

}  // namespace
}  // namespace cronitor::discovery
