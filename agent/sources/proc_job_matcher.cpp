#include "agent/sources/proc_job_matcher.h"

#include <pwd.h>

#include <algorithm>

#include "agent/config/wrap_policy.h"
#include "discovery/cron_command.h"
#include "discovery/crontab_source.h"

namespace cronitor::agent {
namespace {

// cron gives the shell the command with its trailing blanks; the parser may keep or drop them.
std::string_view trim_end(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool crontab_line(const DiscoveredJob& j) { return j.from_cron && j.line > 0 && !j.command.empty(); }

// A line of root's in a system crontab that runs a folder: its scripts are jobs of their own.
std::string runner_folder(const DiscoveredJob& j) {
  if (!crontab_line(j) || !j.runs_folder || j.users_file || j.user != "root") return {};
  return discovery::run_parts_dir_of(j.command);
}

// The uid cron runs the line as: the job's, else its user's (the password database, as cron reads it).
std::optional<uid_t> uid_of(const DiscoveredJob& j) {
  if (j.uid >= 0) return static_cast<uid_t>(j.uid);
  if (j.user == "root") return 0;
  if (struct passwd* pw = j.user.empty() ? nullptr : ::getpwnam(j.user.c_str())) return pw->pw_uid;
  return std::nullopt;
}

}  // namespace

std::string script_folder(const DiscoveredJob& j) {
  if (!j.from_cron || j.line != 0 || j.file.empty() || j.runs_folder) return {};
  const auto slash = j.file.rfind('/');
  return slash == 0 || slash == std::string::npos ? std::string() : j.file.substr(0, slash);
}

void ProcJobMatcher::set_jobs(std::span<const DiscoveredJob> jobs) {
  jobs_.clear();
  update(jobs, {});
}

void ProcJobMatcher::update(std::span<const DiscoveredJob> jobs, std::span<const std::string> removed) {
  for (const auto& k : removed) jobs_.erase(k);
  for (const auto& j : jobs)
    if (crontab_line(j) || !script_folder(j).empty()) jobs_.insert_or_assign(j.key, j);
  rebuild();
}

void ProcJobMatcher::rebuild() {
  lines_.clear();
  runner_dir_.clear();
  runner_dirs_.clear();
  scripts_.clear();
  wrapped_.clear();
  users_.clear();
  std::map<std::string, std::optional<uid_t>> uids;  // the password database read once per user
  for (const auto& [key, j] : jobs_) {
    if (!crontab_line(j)) continue;
    auto known = uids.find(j.user);
    if (known == uids.end() || j.uid >= 0) known = uids.insert_or_assign(j.user, uid_of(j)).first;
    const auto uid = known->second;
    if (!uid) continue;
    users_.insert_or_assign(j.user.empty() ? std::string("root") : j.user, *uid);
    const std::string cmd(trim_end(discovery::shell_command(j.command)));
    lines_[{*uid, cmd}].push_back(Line{j.file, j.line, j.key, j.wrapped});
    if (j.wrapped) wrapped_.insert(j.key);
    if (auto dir = runner_folder(j); !dir.empty()) {
      runner_dir_[j.key] = dir;
      runner_dirs_.insert(dir);
    }
  }
  for (auto& [uc, lines] : lines_) std::sort(lines.begin(), lines.end());  // file order
  for (const auto& [key, j] : jobs_)
    if (auto dir = script_folder(j); !dir.empty() && runner_dirs_.contains(dir)) scripts_[j.file] = j.key;
}

std::optional<std::string> ProcJobMatcher::job(uid_t uid, std::string_view command, Instant start) const {
  auto it = lines_.find(std::pair{uid, std::string(trim_end(command))});
  if (it == lines_.end()) return std::nullopt;
  const auto& lines = it->second;
  if (lines.size() > 1 && due_)
    for (const auto& l : lines)
      if (due_(l.key, start)) return l.key;
  return lines.front().key;
}

std::optional<uid_t> ProcJobMatcher::uid_of_user(std::string_view user) const {
  auto it = users_.find(user);
  if (it == users_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> ProcJobMatcher::script(uid_t job_uid, std::string_view job_key,
                                                  std::string_view script) const {
  if (job_uid != 0) return std::nullopt;  // a user's own run-parts over root's folder is not root's run
  auto runner = runner_dir_.find(job_key);
  if (runner == runner_dir_.end()) return std::nullopt;
  auto it = scripts_.find(script);
  if (it == scripts_.end()) return std::nullopt;
  const std::string& dir = runner->second;
  if (script.size() <= dir.size() || !script.starts_with(dir) || script[dir.size()] != '/') return std::nullopt;
  return it->second;
}

void mark_process_observed(std::vector<DiscoveredJob>& jobs, std::span<const DiscoveredJob> all) {
  std::set<std::string> runner_dirs;
  for (const auto& j : all)
    if (auto dir = runner_folder(j); !dir.empty()) runner_dirs.insert(dir);
  for (const auto& j : jobs)
    if (auto dir = runner_folder(j); !dir.empty()) runner_dirs.insert(dir);
  for (auto& j : jobs) {
    if (j.wrapped || j.reported_by == kReportedByWrapper || !j.from_cron) continue;  // anacron's too (followed)
    const bool line = crontab_line(j) && !j.user.empty();
    const auto dir = script_folder(j);
    if (line || (!dir.empty() && runner_dirs.contains(dir))) j.reported_by = kReportedByProcessEvents;
  }
}

}  // namespace cronitor::agent
