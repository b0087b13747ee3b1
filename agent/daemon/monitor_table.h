// MonitorTable: the daemon's monitors, one row each: its config, its evaluator state, its place in
// the set of deadlines and whether state.db's row is behind. It owns the index by key, the set
// that says which monitor is due next (the deadline timer's one question), and the dirty list a
// transaction saves, so that no other part keeps a parallel vector in step with the monitors: a
// row is added, rekeyed or given a new config here, and its deadline and dirty mark follow.
// Exports and Upstreams read it through a const reference.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "agent/eval/evaluator.h"
#include "agent/state/state_store.h"

namespace cronitor::agent {

class MonitorTable {
 public:
  size_t size() const { return configs_.size(); }
  bool empty() const { return configs_.empty(); }
  /// Iterates the configs (in index order), as a range of MonitorConfig.
  auto begin() const { return configs_.begin(); }
  auto end() const { return configs_.end(); }

  const MonitorConfig& config(uint32_t i) const { return configs_[i]; }
  /// A config edited in place: call config_changed(i) so its row is written in full.
  MonitorConfig& config(uint32_t i) { return configs_[i]; }
  const MonitorState& state(uint32_t i) const { return states_[i]; }
  /// A state changed in place: call touch(i) to save it and recompute its deadline.
  MonitorState& state(uint32_t i) { return states_[i]; }
  std::span<const MonitorConfig> configs() const { return configs_; }
  std::span<const MonitorState> states() const { return states_; }
  std::span<MonitorState> states() { return states_; }

  /// The index of the monitor with `key`.
  std::optional<uint32_t> find(const std::string& key) const;
  bool contains(const std::string& key) const { return index_.contains(key); }

  /// Appends a monitor (dirty, its deadline set); `adhoc`: a key nothing defines (counted).
  uint32_t add(MonitorConfig c, MonitorState s, bool adhoc = false);
  /// Drops every monitor (a rebuild adds them again).
  void clear();
  /// Room for `n` monitors (a rebuild knows how many it adds).
  void reserve(size_t n);
  /// Monitor `i` is `key` from now on; false if another monitor holds `key`.
  bool rekey(uint32_t i, const std::string& key);
  /// Monitor `i`'s config was replaced or edited: its jobs row is written in full next time.
  void config_changed(uint32_t i) { row_saved_[i] = 0; }
  /// Monitor `i` changed: its deadline is recomputed and it is saved with the next transaction.
  void touch(uint32_t i);

  /// The nearest deadline of all monitors, if any.
  std::optional<Instant> next_due() const;
  /// The monitors whose deadline is at or before `t`, nearest first.
  std::vector<uint32_t> due(Instant t) const;
  /// Monitor `i`'s deadline as last computed by touch().
  std::optional<Instant> deadline_of(uint32_t i) const { return deadline_of_[i]; }
  /// Monitors of keys nothing defines (made by a run of a key of its own).
  size_t adhoc_count() const { return adhoc_count_; }
  /// Monitors waiting to be saved.
  size_t dirty_count() const { return dirty_.size(); }

  /// Writes the changed monitors to `store` (inside the caller's transaction): only the state
  /// when its row holds the current config, else the whole row. On an error it stops there: the
  /// caller rolls back and calls reread(), which sets the marks from what state.db holds.
  [[nodiscard]] Result<void> flush(StateStore& store);
  /// After a rollback: the states as state.db holds them (`rows`), their deadlines recomputed;
  /// a monitor without a row there (or whose row is behind) stays to be written.
  void reread(std::vector<JobRow> rows);

 private:
  std::vector<MonitorConfig> configs_;
  std::vector<MonitorState> states_;
  std::unordered_map<std::string, uint32_t> index_;
  std::vector<std::optional<Instant>> deadline_of_;
  std::set<std::pair<Instant, uint32_t>> deadlines_;
  std::vector<uint8_t> dirty_flag_;
  std::vector<uint8_t> row_saved_;  // the jobs row holds this monitor's current config
  std::vector<uint32_t> dirty_;
  size_t adhoc_count_ = 0;
};

}  // namespace cronitor::agent
