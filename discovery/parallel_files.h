// The files of one large folder read and parsed on two cores. A full scan (the daemon's start, a
// SIGHUP, a new folder) reads every file of /etc/cron.d, and each file's scan is independent of the
// others: its bytes, its lines, its jobs' keys and names. The folder's list is made first, in name
// order; the caller's thread and one more take the files by small chunks from a shared counter
// (the one that is not preempted takes more), each result lands in its file's slot, so the order
// is the list's whatever thread read which file. Small folders stay on the caller's thread: a
// thread's start and join cost about what 20 files' scans do.
#pragma once

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <system_error>
#include <thread>
#include <vector>

namespace cronitor::discovery {

/// The folder size from which a second thread helps.
inline constexpr std::size_t kParallelFilesFrom = 64;

/// `scan(i)` for i in [0, n), on this thread and one more when n is large and the machine has
/// a second core; the results in the order of i. `scan` reads only what it is given (a const
/// FsRoot, the scan's context): it runs on two threads at once. An exception of either thread is
/// rethrown here, after both stopped.
template <class Result, class Scan>
std::vector<Result> scan_files(std::size_t n, Scan&& scan) {
  std::vector<Result> out(n);
  if (n < kParallelFilesFrom || std::thread::hardware_concurrency() < 2) {
    for (std::size_t i = 0; i < n; ++i) out[i] = scan(i);
    return out;
  }
  constexpr std::size_t kChunk = 8;
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  auto work = [&]() -> std::exception_ptr {
    try {
      for (std::size_t from;
           !failed.load(std::memory_order_relaxed) && (from = next.fetch_add(kChunk, std::memory_order_relaxed)) < n;) {
        for (std::size_t i = from; i < std::min(n, from + kChunk); ++i) out[i] = scan(i);
      }
      return nullptr;
    } catch (...) {
      failed = true;
      return std::current_exception();
    }
  };
  std::exception_ptr theirs;
  std::thread helper;
  try {
    helper = std::thread([&] {
      pthread_setname_np(pthread_self(), "scan-helper");  // top -H, /proc/PID/task/TID/comm
      theirs = work();
    });
  } catch (const std::system_error&) {
    // No thread to be had (a process at its task limit): this one reads them all.
  }
  std::exception_ptr mine = work();
  if (helper.joinable()) helper.join();
  if (mine) std::rethrow_exception(mine);
  if (theirs) std::rethrow_exception(theirs);
  return out;
}

}  // namespace cronitor::discovery
