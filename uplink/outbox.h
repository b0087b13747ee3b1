// The durable queue the upstreams are fed from. uplink/ defines it; the agent's state.db
// implements it (agent/state/uplink_outbox.cpp), so a row is stored in the same transaction as the
// event it reports, before the wrapper is answered.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"

namespace cronitor::uplink {

struct QueuedRow {
  int64_t id = 0;  // increasing: the order rows were queued in
  std::string upstream;
  std::string job;   // rows of one job go out one at a time, in id order
  std::string kind;  // "run" (telemetry) or "sync" (monitor upsert)
  int64_t created_us = 0;
  std::string payload;  // JSON
};

class Outbox {
 public:
  virtual ~Outbox() = default;
  /// Queues a row; part of the caller's transaction when one is open.
  [[nodiscard]] virtual Result<void> push(const QueuedRow& row) = 0;
  /// Queues a row in place of the rows of the same upstream, job and kind still queued (the
  /// agent's heartbeat: only the newest beat matters, an outage must not pile them up).
  [[nodiscard]] virtual Result<void> replace(const QueuedRow& row) = 0;
  /// The oldest `limit` rows of `upstream`, in id order, leaving out the rows of `skip_jobs` (jobs
  /// an upstream refused: their rows wait without hiding the others').
  [[nodiscard]] virtual Result<std::vector<QueuedRow>> head(const std::string& upstream, int limit,
                                                            const std::vector<std::string>& skip_jobs) = 0;
  /// Deletes delivered (or rejected) rows, in a transaction of its own unless one is open.
  [[nodiscard]] virtual Result<void> remove(const std::vector<int64_t>& ids) = 0;
  [[nodiscard]] virtual Result<int64_t> depth(const std::string& upstream) = 0;
  /// Deletes the rows of `upstream` beyond the newest `max_rows` or created before
  /// `min_created_us`; returns how many went.
  [[nodiscard]] virtual Result<int64_t> trim(const std::string& upstream, int64_t max_rows, int64_t min_created_us) = 0;
};

}  // namespace cronitor::uplink
