#include "agent/sources/cron_run_tracker.h"

#include "common/run_id.h"

namespace cronitor::agent {

namespace {

constexpr std::size_t kMaxOpen = 4096;  // cron children at once; beyond, the oldest is dropped
constexpr int64_t kForgetMs = 24 * 3600 * 1000;

}  // namespace

CronRunTracker::CronRunTracker(std::string host, Matcher matcher)
    : host_(std::move(host)), matcher_(std::move(matcher)) {}

cronitor::RunEvent CronRunTracker::event(const Open& o, cronitor::RunState state, int64_t unix_ms, int64_t pid) const {
  cronitor::RunEvent e;
  e.key = o.match.key;
  e.run_id = o.run_id;
  e.state = state;
  e.ts = cronitor::format_timestamp_ms(unix_ms);
  e.host = host_;
  e.pid = pid > 0 ? pid : 1;
  e.uid = o.match.uid;
  if (cronitor::is_terminal(state)) e.duration_ms = std::max<int64_t>(0, unix_ms - o.started_ms);
  return e;
}

std::map<int64_t, CronRunTracker::Open>::iterator CronRunTracker::run_of_child(int64_t child, int64_t job_pid,
                                                                               const CronLogLine* end) {
  if (auto it = open_.find(child); it != open_.end()) return it;  // -L 8: the child logged the CMD
  if (job_pid > 0)
    if (auto it = open_.find(job_pid); it != open_.end()) return it;  // "grandchild #job", "[job]"
  for (auto it = open_.begin(); it != open_.end(); ++it)
    if (it->second.child_pid == child) return it;  // linked by an earlier failure line
  if (!end) return open_.end();
  // Only an END names its user and command: among the runs of that line whose child is not
  // known, the one whose shell came first after the child (a child forks its shell at once), else
  // the oldest.
  auto best = open_.end();
  for (auto it = open_.begin(); it != open_.end(); ++it) {
    const Open& o = it->second;
    if (o.child_pid != 0 || o.user != end->user || o.command != end->command) continue;
    if (best == open_.end()) {
      best = it;
      continue;
    }
    const bool after = o.job_pid > child, best_after = best->second.job_pid > child;
    if (after != best_after ? after
                            : (after ? o.job_pid < best->second.job_pid : o.started_ms < best->second.started_ms))
      best = it;
  }
  return best;
}

std::vector<cronitor::RunEvent> CronRunTracker::feed(const CronLogLine& line, int64_t unix_ms, Logs logs) {
  std::vector<cronitor::RunEvent> out;
  switch (line.kind) {
    case CronLogLine::Kind::kCmd: {
      auto match = matcher_(line.user, std::string(trim_blanks(line.command)));
      if (!match) return out;
      const int64_t pid = line.job_pid > 0 ? line.job_pid : line.cron_pid;
      Open o{std::move(*match),
             cronitor::new_run_id(),
             unix_ms,
             line.user,
             line.command,
             pid,
             line.job_pid > 0 ? line.cron_pid : 0,
             std::nullopt};
      out.push_back(event(o, cronitor::RunState::kRun, unix_ms, pid));
      if (!logs.ends) {
        // No END will come: the run is closed at once, as ended with its outcome unknown (no exit
        // status, end or duration), never as a success (issue 17).
        out.push_back(event(o, cronitor::RunState::kUnknown, unix_ms, pid));
        return out;
      }
      if (open_.size() >= kMaxOpen) open_.erase(open_.begin());
      open_.insert_or_assign(line.cron_pid, std::move(o));
      return out;
    }
    case CronLogLine::Kind::kError: {
      auto it = run_of_child(line.cron_pid, line.job_pid, nullptr);
      if (it != open_.end()) {
        it->second.error = line;
        it->second.child_pid = line.cron_pid;
      }
      return out;
    }
    case CronLogLine::Kind::kEnd: {
      auto it = run_of_child(line.cron_pid, line.job_pid, &line);
      if (it == open_.end()) return out;
      const Open& o = it->second;
      const int64_t pid = o.job_pid;
      if (o.error) {
        cronitor::RunEvent e = event(o, cronitor::RunState::kFail, unix_ms, pid);
        e.exit_code = o.error->exit_status;
        if (!o.error->signal.empty()) e.signal = o.error->signal;
        out.push_back(std::move(e));
      } else {
        // A success only when cron would have said a failure; else ended, outcome unknown.
        out.push_back(
            event(o, logs.failures ? cronitor::RunState::kComplete : cronitor::RunState::kUnknown, unix_ms, pid));
      }
      open_.erase(it);
      return out;
    }
  }
  return out;
}

void CronRunTracker::forget_before(int64_t unix_ms) {
  std::erase_if(open_, [&](const auto& kv) { return kv.second.started_ms < unix_ms - kForgetMs; });
}

}  // namespace cronitor::agent
