// state.db: jobs and their evaluator state, run history, incidents, alerts and the alert outbox.
// SQLite in WAL mode; the caller groups writes in transactions (one per batch of events) and
// acknowledges events only after commit() returned (WAL, synchronous=NORMAL: survives kill -9;
// CRONITOR_STATE_SYNC=full for power loss too).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/eval/evaluator.h"
#include "agent/eval/monitor.h"
#include "agent/eval/run_event.h"
#include "agent/eval/run_row.h"
#include "agent/state/checkpointer.h"
#include "agent/state/sqlite.h"
#include "agent/state/wal_budget.h"
#include "common/event.h"
#include "uplink/alert.h"

namespace cronitor::agent {

using uplink::Alert;

inline constexpr int kSchemaVersion = 6;

/// A job row: what status shows when the daemon is down.
struct JobRow {
  std::string key, name, schedule, timezone, source;
  MonitorState state;
};

/// One pending send: an alert for one target.
struct OutboxItem {
  int64_t id = 0;
  int64_t alert_id = 0;
  std::string target;  // "slack:URL"
  int attempts = 0;
  std::string alert_json;
};

class StateStore {
 public:
  /// Opens or creates `path`; a corrupt or future-version file is moved aside (reported in
  /// `warnings`) and a new one created.
  [[nodiscard]] static Result<StateStore> open(const std::string& path, std::vector<std::string>* warnings);
  /// Opens an existing file read-only (for status while the daemon is down).
  [[nodiscard]] static Result<StateStore> open_readonly(const std::string& path);

  [[nodiscard]] Result<void> begin();
  [[nodiscard]] Result<void> commit();
  void rollback();

  /// Stores one event; false when it was already stored (same run_id and state).
  /// For a complete/fail, `merged_metrics` receives the run's metrics merged with earlier
  /// metric events.
  [[nodiscard]] Result<bool> record_event(const RunEvent& ev, Instant received,
                                          std::map<std::string, double>* merged_metrics = nullptr);
  /// Merges a metric event into its run (metric events are idempotent).
  [[nodiscard]] Result<void> record_metrics(const std::string& key, const std::string& run_id,
                                            const std::map<std::string, double>& metrics, const std::string& host,
                                            int64_t uid, Instant received);
  /// The metrics merged into a run so far (metric events and the end event).
  [[nodiscard]] Result<std::map<std::string, double>> run_metrics(const std::string& run_id);
  [[nodiscard]] Result<void> save_job(const MonitorConfig& c, const MonitorState& s);
  [[nodiscard]] Result<std::vector<JobRow>> jobs();
  /// Every stored job's owner uid (the keys first learnt from runs among them).
  [[nodiscard]] Result<std::unordered_map<std::string, int64_t>> owners();
  [[nodiscard]] Result<void> save_host(const HostState& h);
  [[nodiscard]] Result<HostState> host();
  /// Records the incident change and the alert; queues one outbox row per target unless suppressed.
  [[nodiscard]] Result<int64_t> record_action(const Action& a, const std::vector<std::string>& targets, Instant now);
  [[nodiscard]] Result<std::vector<OutboxItem>> due_outbox(Instant now, int limit);
  [[nodiscard]] Result<std::optional<Instant>> next_outbox_time();
  [[nodiscard]] Result<void> outbox_sent(int64_t id);
  /// At start nothing is being sent: pending rows are due at once.
  [[nodiscard]] Result<void> outbox_release_all(Instant now);
  /// Holds a pending row back until `until` while it is being sent.
  [[nodiscard]] Result<void> outbox_lease(int64_t id, Instant until);
  /// A run that ended well by its exit but that the job's rules count as failed (an assertion,
  /// such as the max runtime of a hung run): history says failed, as the alerts count it.
  [[nodiscard]] Result<void> mark_run_failed(const std::string& run_id);
  /// A job's key changed (an unwrapped crontab line edited in place): its row, runs, incidents
  /// and alerts go to `to`, replacing a row `to` may have left.
  [[nodiscard]] Result<void> rekey_job(const std::string& from, const std::string& to);
  /// Replaces the state of an existing job row (pause/resume while the daemon is down).
  [[nodiscard]] Result<bool> save_job_state(const std::string& key, const MonitorState& s);
  [[nodiscard]] Result<void> outbox_retry(int64_t id, Instant next, const std::string& error, bool give_up);
  /// The last `limit` runs of `key`, newest first; an output tail longer than `max_tail` bytes
  /// keeps its last `max_tail` bytes (`tail_cut` set), so a listing's size has a bound; 0: no tails
  /// (none read, none marked cut).
  [[nodiscard]] Result<std::vector<RunRow>> history(const std::string& key, int limit,
                                                    size_t max_tail = cronitor::kMaxOutputTailBytes);
  /// Deletes the runs of `key` beyond its newest `keep` by start, in history()'s order (runs
  /// without a start, a metric before its end, go first).
  [[nodiscard]] Result<int64_t> prune_key(const std::string& key, int keep);
  /// Deletes every run of `key` (its owner changed: the runs were another user's).
  [[nodiscard]] Result<void> forget_runs(const std::string& key);
  /// Deletes runs beyond `keep_runs` per job (newest by start kept, as prune_key) or older than
  /// `keep_days`; sent outbox rows too.
  [[nodiscard]] Result<int64_t> prune(int keep_runs, int keep_days, Instant now);
  /// Incidents, newest first: key, kind, opened, resolved.
  [[nodiscard]] Result<std::vector<std::map<std::string, std::string>>> incidents(const std::string& key, int limit);

  const std::string& path() const { return db_.path(); }
  /// The connection, for tables with a logic of their own (agent/state/uplink_outbox.cpp).
  sql::Db& db() { return db_; }
  /// True right after a statement or commit failed because the disk (or its quota) is full.
  bool out_of_space() const;

  /// From now on the log is checkpointed on a thread of its own (the daemon: commits then never
  /// wait for a checkpoint's fsyncs). Without it, SQLite checkpoints inside commits.
  [[nodiscard]] Result<void> checkpoint_in_background();
  /// Checkpoints the background thread has run (0 without one).
  uint64_t background_checkpoints() const { return checkpointer_ ? checkpointer_->done() : 0; }
  /// How much log gathers between checkpoints on this disk.
  const WalBudget& wal_budget() const { return wal_; }

 private:
  [[nodiscard]] Result<void> migrate();
  [[nodiscard]] Result<void> prepare_all();

  sql::Db db_;
  sql::Stmt ins_run_, upd_end_, upd_metric_, get_metrics_, save_job_, save_state_, ins_alert_, ins_outbox_, open_inc_,
      upd_inc_, resolve_inc_, find_inc_, count_key_runs_, prune_key_, history_, history_started_, has_unstarted_;
  WalBudget wal_;
  std::unique_ptr<Checkpointer> checkpointer_;  // declared last: stops before the statements and db_ close
};

}  // namespace cronitor::agent
