#include "agent/eval/key_owners.h"

#include <unordered_set>

namespace cronitor::agent {
namespace {

bool same_user(const KeyClaim& c, const ConfigClaim& e) {
  if (!e.user) return false;
  if (*e.user == c.user) return true;
  return e.uid >= 0 && e.uid == c.uid;
}

std::string who(int64_t uid) {
  if (uid == 0) return "root";
  return uid < 0 ? "a user that does not resolve" : "uid " + std::to_string(uid);
}

}  // namespace

std::map<size_t, std::string> refused_claims(const std::vector<KeyClaim>& claims,
                                             const std::vector<ConfigClaim>& config,
                                             const std::unordered_map<std::string, int64_t>& holders) {
  std::unordered_map<std::string, const KeyClaim*> root_files;  // the first of root's definitions of a key
  for (const auto& c : claims)
    if (!c.users_file) root_files.try_emplace(c.key, &c);
  std::unordered_map<std::string, const ConfigClaim*> in_config;
  for (const auto& e : config) in_config.try_emplace(e.key, &e);
  std::unordered_map<std::string, const KeyClaim*> first_user;  // users' crontabs, in order
  std::map<size_t, std::string> out;
  for (size_t i = 0; i < claims.size(); ++i) {
    const KeyClaim& c = claims[i];
    if (!c.users_file) continue;
    const std::string head = "key \"" + c.key + "\" of " + c.where + " (" + c.user + "'s crontab)";
    if (auto it = root_files.find(c.key); it != root_files.end()) {
      out[i] = head + " is defined by root's " + it->second->where + ": this line reports nothing";
      continue;
    }
    if (auto it = in_config.find(c.key); it != in_config.end() && !same_user(c, *it->second)) {
      out[i] = head + " is defined in agent.yaml" +
               (it->second->user ? " for user " + *it->second->user : std::string(" (root's)")) +
               ": this line reports nothing";
      continue;
    }
    if (auto it = holders.find(c.key); it != holders.end() && it->second != c.uid) {
      out[i] =
          head + " belongs to " + who(it->second) + ", who defined or reported it first: this line reports nothing";
      continue;
    }
    auto [first, fresh] = first_user.try_emplace(c.key, &c);
    if (!fresh && first->second->user != c.user)
      out[i] = head + " is defined first by " + first->second->where + " (" + first->second->user +
               "'s crontab): this line reports nothing";
  }
  return out;
}

}  // namespace cronitor::agent
