// Runs the scheduler skipped (agent/eval/skipped_run.h) in the runs table, beside real runs: one
// row, started and ended at the skip, its status the skip with its condition, so `history` shows
// it. No schema change: a skip has no exit code, signal or output.
#pragma once

#include <string>

#include "agent/state/sqlite.h"
#include "common/error.h"
#include "schedule/zone.h"

namespace cronitor::agent {

/// A run id for the skip of `unit` at `at_usec`, the same each time it is seen (a resync, a
/// restart), in the UUID form of real runs.
std::string skip_run_id(const std::string& unit, uint64_t at_usec);

/// Stores the skip; false when that run id is stored already (seen before).
[[nodiscard]] Result<bool> record_skipped_run(sql::Db& db, const std::string& key, const std::string& run_id,
                                              schedule::Instant at, const std::string& status, const std::string& host);

}  // namespace cronitor::agent
