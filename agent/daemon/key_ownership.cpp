#include "agent/daemon/key_ownership.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

namespace cronitor::agent {

void KeyOwnership::load(StateStore& store) {
  if (auto o = store.owners()) learnt_ = std::move(*o);
}

std::optional<int64_t> KeyOwnership::owner_of(std::string_view key) const {
  const std::string k(key);
  if (auto i = monitors_.find(k)) return monitors_.config(*i).uid;
  if (auto it = learnt_.find(k); it != learnt_.end()) return it->second;
  return std::nullopt;
}

size_t KeyOwnership::learnt_by(int64_t uid) const {
  size_t n = 0;
  for (const auto& [key, owner] : learnt_) n += owner == uid;
  return n;
}

std::unordered_map<std::string, int64_t> KeyOwnership::holders() const {
  std::unordered_map<std::string, int64_t> out(learnt_.begin(), learnt_.end());
  for (uint32_t i = 0; i < monitors_.size(); ++i)
    if (!monitors_.state(i).removed) out[monitors_.config(i).key] = monitors_.config(i).uid;
  return out;
}

std::vector<RefusedJob> KeyOwnership::refuse_claims(std::vector<DiscoveredJob>& jobs, const Config& config) {
  std::map<std::string, std::string> past_limit;  // file -> one line for all its lines past a limit
  auto refused = take_refused_claims(jobs, config, holders(), &past_limit);
  // Kept for `status`: each refused key, and one entry per file for the lines past a limit (a
  // 20,000-line crontab is one line in the log and in `status`, not 19,500).
  refused_.clear();
  for (const auto& r : refused) {
    if (r.over_limit) continue;
    if (said_.insert(r.key + "\n" + r.where).second)
      spdlog::warn("{}", r.reason);  // the reason names the key, the line and whose the key is
    refused_.push_back(r);
  }
  for (const auto& r : refused)
    if (r.over_limit) {
      const std::string file = r.where.substr(0, r.where.rfind(':'));
      if (auto it = past_limit.find(file); it != past_limit.end()) {
        if (said_.insert("limit\n" + file).second) spdlog::warn("{}", it->second);
        refused_.push_back(RefusedJob{"", r.where, r.user, r.uid, it->second, true});
        past_limit.erase(it);
      }
    }
  // A file back under its limit is warned about again when it goes past it once more.
  std::erase_if(said_, [&](const std::string& s) {
    if (!s.starts_with("limit\n")) return false;
    const std::string file = s.substr(6);
    return std::none_of(refused_.begin(), refused_.end(),
                        [&](const RefusedJob& r) { return r.over_limit && r.where.starts_with(file + ":"); });
  });
  return refused;
}

void KeyOwnership::hand_over(const std::string& key, int64_t old_owner, int64_t new_owner, StateStore& store) {
  spdlog::warn(
      "{}: now owned by uid {} (defined in a file of its or agent.yaml); what uid {} built on it (runs, pause, "
      "incidents) is not carried over",
      key, new_owner, old_owner);
  if (auto r = store.forget_runs(key); !r) spdlog::error("{}: {}", key, r.error().message);
  learnt_[key] = new_owner;
  new_owner_keys_.insert(key);
}

}  // namespace cronitor::agent
