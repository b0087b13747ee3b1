#include "agent/state/wal_budget.h"

#include <sys/statvfs.h>

#include <algorithm>

namespace cronitor::agent {

WalBudget wal_budget_for_disk(uint64_t disk_bytes) {
  const int64_t share = static_cast<int64_t>(std::min<uint64_t>(disk_bytes / 128, WalBudget::kMaxBytes));
  WalBudget b;
  b.checkpoint_bytes =
      std::clamp(share / WalBudget::kPage * WalBudget::kPage, WalBudget::kMinBytes, WalBudget::kMaxBytes);
  return b;
}

WalBudget wal_budget_at(const std::string& dir) {
  struct statvfs v {};
  if (::statvfs(dir.empty() ? "." : dir.c_str(), &v) != 0) return wal_budget_for_disk(0);
  return wal_budget_for_disk(static_cast<uint64_t>(v.f_blocks) * v.f_frsize);
}

}  // namespace cronitor::agent
