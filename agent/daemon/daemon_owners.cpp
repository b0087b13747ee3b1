// Who owns a key (agent/eval/key_owners.h, agent/README.md "Security model"): users' crontab
// lines that may not define their key are listed and monitor nothing; a key whose owner changes
// (root defines a key a user reported first) starts fresh.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

#include "agent/daemon/daemon.h"
#include "agent/eval/key_owners.h"

namespace cronitor::agent {

std::unordered_map<std::string, int64_t> Daemon::key_holders() const {
  std::unordered_map<std::string, int64_t> out(owners_.begin(), owners_.end());
  for (uint32_t i = 0; i < monitors_.size(); ++i)
    if (!monitors_.state(i).removed) out[monitors_.config(i).key] = monitors_.config(i).uid;
  return out;
}

std::vector<RefusedJob> Daemon::refuse_claims(std::vector<DiscoveredJob>& jobs) {
  std::map<std::string, std::string> past_limit;  // file -> one line for all its lines past a limit
  auto refused = take_refused_claims(jobs, config_, key_holders(), &past_limit);
  // Kept for `status`: each refused key, and one entry per file for the lines past a limit (a
  // 20,000-line crontab is one line in the log and in `status`, not 19,500).
  refused_jobs_.clear();
  for (const auto& r : refused) {
    if (r.over_limit) continue;
    if (refused_said_.insert(r.key + "\n" + r.where).second)
      spdlog::warn("{}", r.reason);  // the reason names the key, the line and whose the key is
    refused_jobs_.push_back(r);
  }
  for (const auto& r : refused)
    if (r.over_limit) {
      const std::string file = r.where.substr(0, r.where.rfind(':'));
      if (auto it = past_limit.find(file); it != past_limit.end()) {
        if (refused_said_.insert("limit\n" + file).second) spdlog::warn("{}", it->second);
        refused_jobs_.push_back(RefusedJob{"", r.where, r.user, r.uid, it->second, true});
        past_limit.erase(it);
      }
    }
  // A file back under its limit is warned about again when it goes past it once more.
  std::erase_if(refused_said_, [&](const std::string& s) {
    if (!s.starts_with("limit\n")) return false;
    const std::string file = s.substr(6);
    return std::none_of(refused_jobs_.begin(), refused_jobs_.end(),
                        [&](const RefusedJob& r) { return r.over_limit && r.where.starts_with(file + ":"); });
  });
  return refused;
}

std::optional<int64_t> Daemon::previous_owner(const std::string& key) const {
  if (auto it = monitors_.find(key)) return monitors_.config(*it).uid;
  if (auto it = owners_.find(key); it != owners_.end()) return it->second;
  return std::nullopt;
}

void Daemon::start_fresh(const std::string& key, int64_t old_owner, int64_t new_owner) {
  spdlog::warn(
      "{}: now owned by uid {} (defined in a file of its or agent.yaml); what uid {} built on it (runs, pause, "
      "incidents) is not carried over",
      key, new_owner, old_owner);
  if (auto r = store_.forget_runs(key); !r) spdlog::error("{}: {}", key, r.error().message);
  follower_.unfollow_key(key);  // the old owner's open runs
  owners_[key] = new_owner;
  new_owner_keys_.insert(key);
}

}  // namespace cronitor::agent
