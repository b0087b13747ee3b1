// A large folder's files are scanned on two threads (discovery/parallel_files.h): the results keep
// the folder's order whichever thread read which file, a small folder stays on the caller's
// thread, an exception of either thread reaches the caller, and a full scan of a folder large
// enough to be split gives the jobs, warnings and order that one file at a time gives.
#include "discovery/parallel_files.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>

#include "discovery/crontab_source.h"
#include "discovery/scanner.h"
#include "memory_root.h"

namespace cronitor::discovery {
namespace {

using testing::MemoryRoot;

TEST(ParallelFiles, ASmallFolderStaysOnTheCallersThread) {
  std::set<std::thread::id> threads;
  auto out = scan_files<std::size_t>(kParallelFilesFrom - 1, [&](std::size_t i) {
    threads.insert(std::this_thread::get_id());
    return i * 3;
  });
  ASSERT_EQ(out.size(), kParallelFilesFrom - 1);
  for (std::size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i], i * 3);
  EXPECT_EQ(threads, std::set<std::thread::id>{std::this_thread::get_id()});
}

TEST(ParallelFiles, ALargeFolderIsSharedByTwoThreadsAndKeepsItsOrder) {
  if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "one core: the scan stays on one thread";
  // The first file's scan waits until a second thread has scanned one: the split is then seen,
  // not hoped for (the helper thread finds chunks left while this one waits).
  std::mutex m;
  std::condition_variable cv;
  std::set<std::thread::id> threads;
  std::set<std::string> names;  // the helper's is scan-helper (top -H, /proc/PID/task/TID/comm)
  constexpr std::size_t n = 1000;
  auto out = scan_files<std::string>(n, [&](std::size_t i) {
    char name[16] = {};
    pthread_getname_np(pthread_self(), name, sizeof name);
    std::unique_lock lock(m);
    threads.insert(std::this_thread::get_id());
    names.insert(name);
    cv.notify_all();
    if (i == 0) cv.wait_for(lock, std::chrono::seconds(10), [&] { return threads.size() >= 2; });
    return "file" + std::to_string(i);
  });
  ASSERT_EQ(out.size(), n);
  for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(out[i], "file" + std::to_string(i));
  EXPECT_EQ(threads.size(), 2u);
  EXPECT_EQ(names.count("scan-helper"), 1u);
  EXPECT_EQ(names.size(), 2u);  // and the caller's own name
}

TEST(ParallelFiles, AnExceptionOfEitherThreadReachesTheCaller) {
  for (std::size_t bad : {std::size_t{0}, std::size_t{7}, std::size_t{500}, std::size_t{999}}) {
    EXPECT_THROW(scan_files<int>(1000,
                                 [&](std::size_t i) {
                                   if (i == bad) throw std::runtime_error("unreadable");
                                   return static_cast<int>(i);
                                 }),
                 std::runtime_error)
        << bad;
  }
}

std::vector<std::string> inventory(Scanner& s) {
  std::vector<std::string> out;
  for (const Job* j : s.jobs())
    out.push_back(j->file + ":" + std::to_string(j->line) + " " + j->key + " " + j->name + " " + j->command);
  for (const auto& w : s.warnings()) out.push_back("warning " + w.to_string());
  return out;
}

TEST(ParallelFiles, AFullScanOfALargeCronDIsTheScanOfEachFileInTurn) {
  MemoryRoot root;
  root.add("/etc/crontab", "SHELL=/bin/sh\n17 * * * * root cd / && run-parts --report /etc/cron.hourly\n");
  constexpr int kFiles = 3 * static_cast<int>(kParallelFilesFrom);
  for (int f = 0; f < kFiles; ++f) {
    std::string text = "SHELL=/bin/sh\n";
    for (int l = 0; l < 3; ++l)
      text += std::to_string((f + l) % 60) + " * * * * root /usr/lib/pkg" + std::to_string(f) + "/job" +
              std::to_string(l) + " --quiet\n";
    if (f % 10 == 3) text += "* * * root /bad/line\n";  // a warning with its file and line
    // The same command in two files: keys and names disambiguated across threads' results.
    if (f % 16 == 5) text += "0 4 * * * root /usr/bin/backup.sh\n";
    root.add("/etc/cron.d/pkg" + std::to_string(1000 + f), text, f % 25 == 7 ? 0666 : 0644);
  }
  Scanner full(root);
  full.scan();
  const auto got = inventory(full);
  ASSERT_GT(got.size(), static_cast<std::size_t>(kFiles * 3));

  // The reference: each file's scan on its own (rescan of one path at a time, in the folder's order).
  Scanner one(root);
  std::vector<std::string> paths{"/etc/crontab"};
  for (int f = 0; f < kFiles; ++f) paths.push_back("/etc/cron.d/pkg" + std::to_string(1000 + f));
  for (const std::string& p : paths) one.rescan({p});
  EXPECT_EQ(got, inventory(one));
}

}  // namespace
}  // namespace cronitor::discovery
