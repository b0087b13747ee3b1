// RunRetention: how many runs state.db keeps, applied as runs come and once a day. It owns the
// count of run events stored by this process (the agent's events_received series and status), the
// runs each key stored since its runs were last pruned, and the daily timer. A key's runs beyond
// `retention.runs` are deleted every kPruneEveryRuns runs it stores, a key nothing defines of a
// user other than root keeps at most kAdhocRunsPerKey (agent/README.md "Security model"), and
// every day runs beyond `retention.runs` per job or older than `retention.days` go.
#pragma once

#include <systemd/sd-event.h>

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>

#include "agent/config/config.h"
#include "agent/eval/monitor.h"
#include "agent/state/state_store.h"
#include "common/event_source.h"

namespace cronitor::agent {

class RunRetention {
 public:
  /// A key's runs are pruned to what it may keep every this many runs stored (and daily).
  static constexpr uint32_t kPruneEveryRuns = 64;
  /// Runs kept of a key nothing defines, reported by a user other than root: with the 100 such
  /// keys a user may have, 10,000 runs per user at most.
  static constexpr int kAdhocRunsPerKey = 100;
  static constexpr uint64_t kPruneEveryUsec = 24ull * 3600 * 1000000;

  /// Reads `config`'s retention when it prunes (a reload changes it in place).
  RunRetention(const Config& config, StateStore& store, std::function<Instant()> now);
  RunRetention(const RunRetention&) = delete;
  RunRetention& operator=(const RunRetention&) = delete;

  /// The daily pruning on `ev`, a day from now.
  void attach(sd_event* ev);
  /// A run event of monitor `m` was stored (inside the caller's transaction): counted, and
  /// every kPruneEveryRuns of its key the key's runs beyond what it may keep are deleted.
  void stored(const MonitorConfig& m);
  /// Run events stored by this process.
  uint64_t events_stored() const { return events_stored_; }
  /// Every job's runs beyond retention, in a transaction of its own (the daily timer's).
  void prune_all();

 private:
  static int on_prune_cb(sd_event_source*, uint64_t, void*);

  const Config& config_;
  StateStore& store_;
  std::function<Instant()> now_;
  sd_event* ev_ = nullptr;
  EventSource timer_;                                           // daily
  std::unordered_map<std::string, uint32_t> runs_since_prune_;  // key -> runs stored since its pruning
  uint64_t events_stored_ = 0;
};

}  // namespace cronitor::agent
