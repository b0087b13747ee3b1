#include "agent/state/skipped_runs.h"

#include <chrono>
#include <cstdio>

namespace cronitor::agent {

std::string skip_run_id(const std::string& unit, uint64_t at_usec) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a of the unit's name: the first half
  for (unsigned char c : unit) h = (h ^ c) * 1099511628211ull;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(h >> 32),
                static_cast<unsigned>((h >> 16) & 0xffff), static_cast<unsigned>(h & 0xffff),
                static_cast<unsigned>((at_usec >> 48) & 0xffff),
                static_cast<unsigned long long>(at_usec & 0xffffffffffffull));
  return buf;
}

Result<bool> record_skipped_run(sql::Db& db, const std::string& key, const std::string& run_id, schedule::Instant at,
                                const std::string& status, const std::string& host) {
  const int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
  auto st = db.prepare(
      "INSERT INTO runs(key, run_id, status, started_ms, ended_ms, duration_ms, host, uid, received_ms, has_run, "
      "has_end) VALUES(?1, ?2, ?3, ?4, ?4, 0, ?5, 0, ?4, 1, 1) ON CONFLICT(run_id) DO NOTHING");
  if (!st) return std::unexpected(st.error());
  st->bind(1, key).bind(2, run_id).bind(3, status).bind(4, ms).bind(5, host);
  if (auto r = st->step(); !r) return std::unexpected(r.error());
  return db.changes() > 0;
}

}  // namespace cronitor::agent
