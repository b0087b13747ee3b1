// How much write-ahead log state.db may gather between checkpoints, from the size of its disk.
//
// Every checkpoint costs two fsyncs on the checkpoint thread, and every time the log starts over
// the writer (the event loop, whose commits wrappers wait for) fsyncs the log's new header and,
// when the file is longer than journal_size_limit, truncates it. With 256 KiB between checkpoints
// that was every 3 or 4 commits of the event benchmark and halved its events/s (issue 20); with
// 4,000 KiB (2ef338d's 1,000 pages) it is once in about 50. A small state disk cannot hold that
// much log (a 3 MiB disk filled after about 45 runs), so the budget is a share of the disk: the
// log at its largest (the writer checkpoints itself at 4 x the budget) stays within 1/32 of it.
#pragma once

#include <cstdint>
#include <string>

namespace cronitor::agent {

struct WalBudget {
  static constexpr int64_t kPage = 4096;
  static constexpr int64_t kMinBytes = 64 * kPage;    // 256 KiB: a 3 MiB disk holds thousands of runs
  static constexpr int64_t kMaxBytes = 1000 * kPage;  // 4,000 KiB: 2ef338d's 1,000 pages

  // Past this many times the mark the writer checkpoints the log itself (agent/state/checkpointer.h).
  static constexpr int kWriterTakesOver = 4;

  int64_t checkpoint_bytes = kMinBytes;  // the checkpoint thread copies the log once it holds this
  /// journal_size_limit: the log's largest size by design, where the writer checkpoints it itself,
  /// so only a log that overshot that is cut back when it starts over. Under a steady stream of
  /// commits the thread's checkpoints never catch up with the writer (the log starts over only
  /// when one did between two commits), so the log grows to that size; a limit of twice the mark
  /// had each start over truncate it on the event loop (23 ms each, twice in 3 s of agent_bench
  /// events) and the filesystem allocate its blocks again as it regrew (issue 20).
  int64_t limit_bytes() const { return kWriterTakesOver * checkpoint_bytes; }
  int checkpoint_pages() const { return static_cast<int>(checkpoint_bytes / kPage); }
};

/// The budget for a disk of `disk_bytes` (0: unknown, the smallest): 1/128 of it, in whole pages,
/// between kMinBytes and kMaxBytes.
WalBudget wal_budget_for_disk(uint64_t disk_bytes);

/// The budget for the disk holding the folder `dir` (statvfs); the smallest when it cannot be read.
WalBudget wal_budget_at(const std::string& dir);

}  // namespace cronitor::agent
