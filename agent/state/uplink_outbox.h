// The upstream outbox in state.db (table uplink_outbox): uplink::Outbox over the state store's
// connection, so rows are queued in the transaction that stores their event.
#pragma once

#include "agent/state/sqlite.h"
#include "uplink/outbox.h"

namespace cronitor::agent {

class SqlOutbox final : public uplink::Outbox {
 public:
  [[nodiscard]] static Result<std::unique_ptr<SqlOutbox>> open(sql::Db& db);

  [[nodiscard]] Result<void> push(const uplink::QueuedRow& row) override;
  [[nodiscard]] Result<void> replace(const uplink::QueuedRow& row) override;
  [[nodiscard]] Result<std::vector<uplink::QueuedRow>> head(const std::string& upstream, int limit,
                                                            const std::vector<std::string>& skip_jobs) override;
  [[nodiscard]] Result<void> remove(const std::vector<int64_t>& ids) override;
  [[nodiscard]] Result<int64_t> depth(const std::string& upstream) override;
  [[nodiscard]] Result<int64_t> trim(const std::string& upstream, int64_t max_rows, int64_t min_created_us) override;

 private:
  explicit SqlOutbox(sql::Db& db) : db_(db) {}
  sql::Db& db_;
  sql::Stmt push_, drop_kind_, head_, head_skip_, remove_, depth_, trim_;
};

}  // namespace cronitor::agent
