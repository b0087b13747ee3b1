#include "agent/eval/user_limits.h"

#include <unordered_map>

namespace cronitor::agent {
namespace {

constexpr const char* kUserCrontabs = "/var/spool/cron/crontabs/";

std::string file_of(const std::string& where) {
  const auto colon = where.rfind(':');
  return colon == std::string::npos ? where : where.substr(0, colon);
}

}  // namespace

OverLimit over_limit_claims(const std::vector<KeyClaim>& claims, const std::map<size_t, std::string>& refused,
                            const UserLimits& limits, const std::unordered_map<std::string, int64_t>& holders) {
  OverLimit out;
  std::unordered_map<std::string, size_t> of_user;  // monitors kept per user
  size_t all = 0;
  struct Past {
    size_t count = 0;
    std::string first, user, reason;
  };
  std::map<std::string, Past> past;  // file -> the lines past a limit
  std::vector<size_t> order;         // lines of keys held already first, then the rest in file order
  order.reserve(claims.size());
  auto held = [&](const KeyClaim& c) {
    auto it = holders.find(c.key);
    return it != holders.end() && it->second == c.uid;
  };
  for (size_t i = 0; i < claims.size(); ++i)
    if (claims[i].users_file && !refused.contains(i) && held(claims[i])) order.push_back(i);
  for (size_t i = 0; i < claims.size(); ++i)
    if (claims[i].users_file && !refused.contains(i) && !held(claims[i])) order.push_back(i);
  for (const size_t i : order) {
    const KeyClaim& c = claims[i];
    size_t& mine = of_user[c.user];
    std::string why;
    if (limits.per_user > 0 && mine >= limits.per_user)
      why = "past the limit of " + std::to_string(limits.per_user) +
            " monitors per user crontab (discovery.max_monitors_per_user)";
    else if (limits.all_users > 0 && all >= limits.all_users)
      why = "past the limit of " + std::to_string(limits.all_users) +
            " monitors from users' crontabs on this host (discovery.max_user_monitors)";
    if (why.empty()) {
      ++mine, ++all;
      continue;
    }
    out.lines[i] = "key \"" + c.key + "\" of " + c.where + " (" + c.user + "'s crontab) is " + why +
                   ": this line is not monitored";
    Past& p = past[file_of(c.where)];
    if (p.count++ == 0) p.first = c.where, p.user = c.user, p.reason = why;
  }
  for (const auto& [file, p] : past)
    out.files[file] = file + " (" + p.user + "'s crontab): " + std::to_string(p.count) + " job" +
                      (p.count == 1 ? " is " : "s are ") + p.reason + ", from " + p.first + " on: not monitored";
  return out;
}

bool users_own_job(const MonitorConfig& m) {
  if (m.uid == 0) return false;
  return m.source_file.empty() || m.source_file.starts_with(kUserCrontabs);
}

bool users_own_key(const MonitorConfig& m) { return m.uid != 0 && m.source_file.empty(); }

bool metrics_view(const MonitorConfig& m, const std::string& user_jobs, std::string& name, std::string& source) {
  if (user_jobs == "all" || !users_own_job(m)) return true;
  if (user_jobs == "none") return false;
  name = m.key;
  source.clear();
  return true;
}

std::string owned_summary(const MonitorConfig& m, const std::string& summary) {
  if (!users_own_job(m)) return summary;
  return "user " + (m.user.empty() ? "uid " + std::to_string(m.uid) : m.user) + ": " + summary;
}

}  // namespace cronitor::agent
