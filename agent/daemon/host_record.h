// HostRecord: the host's row of state.db as the daemon holds it: the evaluator's HostState (the
// cron daemon's incident, the snooze, a shutdown under way, cron's zone, the last sign of life),
// whether it changed since it was written, and the row as the previous run of the agent left it
// (what downtime and the journal's gap recovery are judged from). Every write stamps `last_seen`,
// so a saved host row is a sign of life (agent/eval/downtime.h).
#pragma once

#include "agent/eval/monitor.h"
#include "agent/state/state_store.h"
#include "common/error.h"

namespace cronitor::agent {

class HostRecord {
 public:
  /// At start: the row state.db holds, which is also the previous run's.
  void load(StateStore& store);
  HostState& state() { return state_; }
  const HostState& state() const { return state_; }
  /// The row as the previous run left it (its last_seen, a shutdown), unchanged by this run.
  const HostState& previous_run() const { return previous_run_; }

  /// The state changed (or a sign of life is due): written with the next transaction.
  void changed() { dirty_ = true; }
  bool dirty() const { return dirty_; }
  /// Inside the caller's transaction: if changed, stamps `last_seen` with `now` and writes the row.
  [[nodiscard]] Result<void> flush(StateStore& store, Instant now);
  /// Writes the row as it is, changed or not (a real write that proves the disk has room).
  [[nodiscard]] Result<void> save(StateStore& store) const;
  /// After a rollback: the row as state.db holds it.
  void reread(StateStore& store);

 private:
  HostState state_;
  HostState previous_run_;
  bool dirty_ = false;
};

}  // namespace cronitor::agent
