// KeyOwnership: who owns each key, as the daemon keeps it (agent/README.md "Security model",
// the pure rules in agent/eval/key_owners.h and user_limits.h). It owns the keys learnt from runs
// (a key nothing defines belongs to the uid that reported it first; state.db keeps them), the
// users' crontab lines refused for their key or past the limits (listed by `status`, each said
// once in the log), and the keys whose owner the last rebuild changed (they start fresh and are
// new to auto_wrap). A monitor's own uid comes from the monitor table, which it reads.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "agent/config/config.h"
#include "agent/config/monitor_set.h"
#include "agent/daemon/monitor_table.h"
#include "agent/state/state_store.h"

namespace cronitor::agent {

class KeyOwnership {
 public:
  explicit KeyOwnership(const MonitorTable& monitors) : monitors_(monitors) {}
  KeyOwnership(const KeyOwnership&) = delete;
  KeyOwnership& operator=(const KeyOwnership&) = delete;

  /// At start: the owners state.db keeps.
  void load(StateStore& store);
  /// The owner of `key`: its monitor's uid, else the uid that reported it first.
  std::optional<int64_t> owner_of(std::string_view key) const;
  /// `key`, which nothing defines, was first reported by `uid`: it is theirs.
  void learn(const std::string& key, int64_t uid) { learnt_[key] = uid; }
  /// Keys learnt from runs that `uid` owns.
  size_t learnt_by(int64_t uid) const;
  /// Keys users hold today: the monitors' (but removed ones) and the keys reported first.
  std::unordered_map<std::string, int64_t> holders() const;

  /// Takes out of `jobs` the users' lines that may not define their key or are past the limits
  /// of monitors per user, and returns them; keeps refused() (one entry per file past a limit),
  /// each said once in the log (a file back under its limit is said again when it goes past).
  std::vector<RefusedJob> refuse_claims(std::vector<DiscoveredJob>& jobs, const Config& config);
  /// The lines refused by the last refuse_claims, for `status`.
  const std::vector<RefusedJob>& refused() const { return refused_; }

  /// A rebuild of the monitors begins: no key has changed owner in it yet.
  void begin_rebuild() { new_owner_keys_.clear(); }
  /// `key` is `new_owner`'s now: said in the log, and what `old_owner` built (its runs in
  /// `store`) is dropped. The caller stops following the old owner's open runs.
  void hand_over(const std::string& key, int64_t old_owner, int64_t new_owner, StateStore& store);
  /// Keys whose owner changed since begin_rebuild.
  const std::set<std::string>& new_owner_keys() const { return new_owner_keys_; }
  bool owner_changed(const std::string& key) const { return new_owner_keys_.contains(key); }

 private:
  const MonitorTable& monitors_;
  std::unordered_map<std::string, int64_t> learnt_;  // keys learnt from runs -> owner uid (state.db)
  std::vector<RefusedJob> refused_;                  // users' lines that may not define their key
  std::set<std::string> said_;                       // ... already logged (key and where)
  std::set<std::string> new_owner_keys_;             // keys whose owner the last rebuild changed
};

}  // namespace cronitor::agent
