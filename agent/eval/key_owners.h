// Who may define a key (agent/README.md, "Security model"). A key belongs to whoever's file
// defines it: root's files (/etc/crontab, /etc/cron.d, root's crontab, systemd units, anacrontab)
// and agent.yaml define it for root (an agent.yaml entry's `user:` names who else may report), a
// user's own crontab for that user. A user's crontab never takes a key that root's files or
// agent.yaml define, nor one that another user holds already (defined first, or reported first
// as a key nothing defines): such a line is listed with the reason and reports nothing. Pure: the
// caller resolves user names and says who holds which key today.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace cronitor::agent {

/// One definition of a key found by discovery.
struct KeyClaim {
  std::string key;
  std::string where;        // "file:line" (or the unit), for the reason
  std::string user;         // the user the job runs as
  int64_t uid = -1;         // `user`'s uid, -1 when it does not resolve
  bool users_file = false;  // a user's own crontab (not root's): the weaker claim
};

/// An agent.yaml monitor: root's; `user` (if any) is the one other user whose file may define it.
struct ConfigClaim {
  std::string key;
  std::optional<std::string> user;  // as written: a name or a uid
  int64_t uid = -1;                 // `user` resolved (-1: none or it does not resolve)
};

/// Claims of users' crontabs that may not define their key: index into `claims` -> the reason.
/// `holders`: keys someone holds today (a monitor of a user's crontab, a key reported first
/// that nothing defines, root's too) -> that uid. Among users'
/// crontabs found together, the one first in `claims` (discovery's file order) holds the key.
std::map<size_t, std::string> refused_claims(const std::vector<KeyClaim>& claims,
                                             const std::vector<ConfigClaim>& config,
                                             const std::unordered_map<std::string, int64_t>& holders);

/// True when state built under `old_owner` must not carry over to a monitor of `new_owner`: the
/// owner changed (e.g. root now defines a key a user had reported first). -1 (no known owner)
/// carries nothing over from nobody.
inline bool owner_changed(std::optional<int64_t> old_owner, int64_t new_owner) {
  return old_owner && *old_owner != new_owner;
}

}  // namespace cronitor::agent
