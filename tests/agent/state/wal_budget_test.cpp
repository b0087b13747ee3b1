#include "agent/state/wal_budget.h"

#include <gtest/gtest.h>

namespace cronitor::agent {
namespace {

constexpr uint64_t kMiB = 1 << 20;

TEST(WalBudget, ASmallDiskKeepsTheSmallestLog) {
  // A 3 MiB state disk (reliability.disk_full_test): 64 pages between checkpoints, as before.
  EXPECT_EQ(wal_budget_for_disk(3 * kMiB).checkpoint_bytes, 256 * 1024);
  EXPECT_EQ(wal_budget_for_disk(3 * kMiB).checkpoint_pages(), 64);
  EXPECT_EQ(wal_budget_for_disk(0).checkpoint_bytes, WalBudget::kMinBytes);  // unknown: the smallest
}

TEST(WalBudget, ALargeDiskGathersAThousandPagesBetweenCheckpoints) {
  EXPECT_EQ(wal_budget_for_disk(252ull << 30).checkpoint_pages(), 1000);
  EXPECT_EQ(wal_budget_for_disk(512 * kMiB).checkpoint_pages(), 1000);
  EXPECT_EQ(wal_budget_for_disk(uint64_t(-1)).checkpoint_pages(), 1000);
}

TEST(WalBudget, BetweenThemAShareOfTheDiskInWholePages) {
  const auto b = wal_budget_for_disk(64 * kMiB);  // 1/128: 512 KiB
  EXPECT_EQ(b.checkpoint_bytes, 512 * 1024);
  EXPECT_EQ(b.checkpoint_bytes % WalBudget::kPage, 0);
  EXPECT_EQ(wal_budget_for_disk(64 * kMiB + 12345).checkpoint_bytes, 512 * 1024);
  // The log at its largest (the writer checkpoints itself at 4 x) is within 1/32 of the disk.
  for (uint64_t disk : {40 * kMiB, 64 * kMiB, 100 * kMiB, 300 * kMiB, 600 * kMiB})
    EXPECT_LE(4 * static_cast<uint64_t>(wal_budget_for_disk(disk).checkpoint_bytes), disk / 32) << disk;
}

// A log that grew to where the writer checkpoints itself (a steady stream of commits) is not cut
// back when it starts over: twice the mark truncated and regrew it on the event loop (issue 20).
TEST(WalBudget, TheLimitIsTheLogsLargestSizeByDesign) {
  for (uint64_t disk : {3 * kMiB, 64 * kMiB, uint64_t{252} << 30}) {
    const auto b = wal_budget_for_disk(disk);
    EXPECT_EQ(b.limit_bytes(), WalBudget::kWriterTakesOver * b.checkpoint_bytes) << disk;
  }
  EXPECT_EQ(wal_budget_for_disk(uint64_t{252} << 30).limit_bytes(), 4000 * 4096);
}

TEST(WalBudget, AFolderWhoseDiskCannotBeSizedGetsTheSmallest) {
  // /proc's statvfs says 0 blocks: the smallest; a missing folder too.
  EXPECT_EQ(wal_budget_at("/proc").checkpoint_bytes, WalBudget::kMinBytes);
  EXPECT_EQ(wal_budget_at("/nonexistent/folder").checkpoint_bytes, WalBudget::kMinBytes);
}

}  // namespace
}  // namespace cronitor::agent
