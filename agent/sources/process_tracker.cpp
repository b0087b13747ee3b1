#include "agent/sources/process_tracker.h"

#include <sys/wait.h>

#include <utility>

namespace cronitor::agent {
namespace {

std::string_view basename_of(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// The script a run-parts child runs: the argument under its folder (argv[0] for a binary, argv[1]
// or later behind a `#!` interpreter and its options), else argv[0].
std::string script_of(const std::vector<std::string>& argv, const std::string& folder) {
  if (!folder.empty()) {
    std::string prefix = folder;
    while (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
    prefix += '/';
    for (const auto& a : argv)
      if (a.size() > prefix.size() && a.starts_with(prefix)) return a;
  }
  return argv.empty() ? std::string() : argv.front();
}

}  // namespace

bool is_anacron(std::span<const std::string> argv, uid_t uid) {
  return uid == 0 && !argv.empty() && basename_of(argv[0]) == "anacron";
}

std::string run_parts_folder(std::span<const std::string> argv) {
  for (size_t i = argv.size(); i > 1; --i)
    if (!argv[i - 1].starts_with('-')) return argv[i - 1];
  return {};
}

ProcessTracker::ProcessTracker(Matcher matcher, Limits limits) : matcher_(std::move(matcher)), limits_(limits) {}

void ProcessTracker::set_roots(std::span<const pid_t> roots) { roots_ = {roots.begin(), roots.end()}; }

void ProcessTracker::feed(const ProcEvent& e, const std::function<std::optional<ExecFacts>(pid_t)>& read_exec) {
  const auto t = static_cast<int64_t>(e.timestamp_ns);
  switch (e.kind) {
    case ProcEvent::Kind::fork:
      fork(e.parent_tgid, e.pid, e.tgid, t);
      break;
    case ProcEvent::Kind::exec:
      if (follows(e.tgid)) exec(e.tgid, t, read_exec(e.tgid));
      break;
    case ProcEvent::Kind::exit:
      exit(e.pid, e.tgid, e.exit_code, t);
      break;
    case ProcEvent::Kind::uid:  // the uid that counts is the one at exec, read with the argv
    case ProcEvent::Kind::ack:
      break;
  }
}

void ProcessTracker::fork(pid_t parent_tgid, pid_t child_pid, pid_t child_tgid, int64_t) {
  if (child_pid != child_tgid) return;  // a new thread, not a process
  Node child;
  if (roots_.contains(parent_tgid)) {
    child.role = Role::cron_child;
  } else if (spawners_.contains(parent_tgid)) {
    child.role = Role::spawned;  // looked at once, at its exec: anacron.service's anacron, or dropped
  } else {
    auto parent = nodes_.find(parent_tgid);
    if (parent == nodes_.end()) return;  // the common case: a process outside cron's trees
    // cron's per-job process forks the job's shell first; its mailer, if any, only after output.
    child.job_shell = parent->second.role == Role::cron_child && !parent->second.anacron && !parent->second.forked;
    parent->second.forked = true;
    if (parent->second.anacron) {  // a job of anacron's (or anacron going to the background)
      child.role = Role::cron_child;
      child.anacron = true;
      if (nodes_.size() >= limits_.max_followed) {
        ++counters_.not_followed;
        return;
      }
      nodes_.insert_or_assign(child_tgid, std::move(child));
      return;
    }
    child.role = parent->second.role;
    child.job_uid = parent->second.job_uid;
    child.job_key = parent->second.job_key;
    if (parent->second.run_parts) {
      child.script_pending = true;
      child.run_parts_dir = parent->second.run_parts_dir;
    }
  }
  if (nodes_.size() >= limits_.max_followed) {
    ++counters_.not_followed;
    return;
  }
  // A pid reused while its exit was lost: the newer process replaces what was known of it.
  nodes_.insert_or_assign(child_tgid, std::move(child));
}

void ProcessTracker::exec(pid_t tgid, int64_t t, const std::optional<ExecFacts>& facts) {
  auto it = nodes_.find(tgid);
  if (it == nodes_.end()) return;
  Node& n = it->second;
  if (n.role == Role::spawned) {  // a spawner's child: only anacron is followed
    if (!facts || !is_anacron(facts->argv, facts->uid)) {
      nodes_.erase(it);
      return;
    }
    n.role = Role::job;  // no run of its own: its forks are its jobs
    n.anacron = true;
    n.start_ticks = facts->start_ticks;
    return;
  }
  const bool was_anacron = std::exchange(n.anacron, false);  // what it execs now is what it is
  if (!facts) {
    // Gone before /proc was read: its run (if it was one) cannot be named. Its tree is still
    // followed as a job's, so that what it started is not taken for cron's own work.
    ++counters_.unreadable;
    if (n.role == Role::cron_child) {
      n.job_uid = static_cast<uid_t>(-1);  // nobody's: its run-parts scripts are no one's jobs
      n.job_key.clear();
      // cron's job shell (or its mailer): a run all the same, nameless until cron's log names it,
      // so that a job faster than the reader is never taken for a missed one.
      if (!n.forked && !was_anacron) {  // anacron logs no CMD lines that could name it
        ++counters_.nameless;
        start_run(n, ProcRun::Kind::job, std::string(), tgid, static_cast<uid_t>(-1), t);
      }
    }
    n.role = Role::job;
    n.script_pending = false;
    n.run_parts = false;
    return;
  }
  n.start_ticks = facts->start_ticks;
  const auto& argv = facts->argv;
  if (is_anacron(argv, facts->uid)) {  // started by a job of cron's (/etc/cron.d/anacron): a root
    n.role = Role::job;
    n.anacron = true;
    n.script_pending = n.run_parts = false;
    return;
  }
  if (n.role == Role::cron_child) {
    // cron runs a line as execle(shell, shell, "-c", cmd): anything else cron's child runs (the
    // mailer) is not a job, and neither it nor what it starts is followed.
    const bool shell_line = argv.size() >= 3 && argv[1] == "-c";
    if (!shell_line && !n.job_shell) {
      nodes_.erase(it);
      return;
    }
    n.role = Role::job;
    n.job_uid = facts->uid;
    // The job's shell read only after it exec'd what its line runs (dash execs a line that is one
    // simple command; `cd /srv && exec ./backup` does so itself): its argv is that line when the
    // line was that simple, else the run is nameless until cron's log names it, never dropped.
    std::string line;
    if (shell_line) {
      line = argv[2];
    } else {
      for (const auto& word : argv) line += (line.empty() ? "" : " ") + word;
    }
    if (auto key = matcher_.job ? matcher_.job(facts->uid, line) : std::nullopt) {
      n.job_key = *key;
      start_run(n, ProcRun::Kind::job, std::move(*key), tgid, facts->uid, t);
    } else if (!shell_line) {
      ++counters_.nameless;
      start_run(n, ProcRun::Kind::job, std::string(), tgid, facts->uid, t);
    }
    if (shell_line) return;  // a shell is not run-parts; `sh -c 'run-parts ...'` forks or execs it next
  }
  if (n.script_pending) {
    n.script_pending = false;
    const auto script = script_of(argv, n.run_parts_dir);
    if (auto key = matcher_.script ? matcher_.script(n.job_uid, n.job_key, script) : std::nullopt)
      start_run(n, ProcRun::Kind::script, std::move(*key), tgid, facts->uid, t);
  }
  n.run_parts = !argv.empty() && basename_of(argv[0]) == "run-parts";
  n.run_parts_dir = n.run_parts ? run_parts_folder(argv) : std::string();
}

void ProcessTracker::exit(pid_t pid, pid_t tgid, uint32_t wait_status, int64_t t) {
  if (pid != tgid) return;  // a thread: the process goes on (its leader's exit ends it)
  roots_.erase(tgid);
  auto it = nodes_.find(tgid);
  if (it == nodes_.end()) return;
  end_run(it->second, t, wait_status);
  nodes_.erase(it);
}

void ProcessTracker::lost(uint64_t reports) {
  counters_.losses += reports;
  ++generation_;
  for (auto& [pid, n] : nodes_) n.suspect = true;
}

ProcessTracker::Suspects ProcessTracker::suspects() const {
  Suspects s{generation_, {}};
  for (const auto& [pid, n] : nodes_)
    if (n.suspect) s.processes.emplace_back(pid, n.start_ticks);
  return s;
}

void ProcessTracker::settle_loss(uint64_t generation, std::span<const pid_t> gone, int64_t t) {
  for (pid_t pid : gone) {
    auto it = nodes_.find(pid);
    if (it == nodes_.end() || !it->second.suspect) continue;  // its exit came meanwhile, or a new process
    end_run(it->second, t, std::nullopt);
    nodes_.erase(it);
  }
  if (generation != generation_) return;  // events were lost again since: all stay suspect
  for (auto& [pid, n] : nodes_) n.suspect = false;
}

bool ProcessTracker::awaits_exec() const {
  // anacron's own forks wait minutes before they exec (its delays): read with the batch.
  for (const auto& [pid, n] : nodes_)
    if ((n.role == Role::cron_child && !n.forked && !n.anacron) || n.script_pending || n.run_parts) return true;
  return false;
}

size_t ProcessTracker::open_runs() const {
  size_t count = 0;
  for (const auto& [pid, n] : nodes_) count += n.run.has_value();
  return count;
}

void ProcessTracker::start_run(Node& n, ProcRun::Kind kind, std::string key, pid_t pid, uid_t uid, int64_t t) {
  ProcRun r;
  r.phase = ProcRun::Phase::started;
  r.kind = kind;
  r.key = std::move(key);
  r.pid = pid;
  r.uid = uid;
  r.start_ns = t;
  runs_.push_back(r);
  n.run = std::move(r);
}

void ProcessTracker::end_run(Node& n, int64_t t, std::optional<uint32_t> wait_status) {
  if (!n.run) return;
  ProcRun r = std::move(*n.run);
  n.run.reset();
  r.phase = ProcRun::Phase::ended;
  r.end_ns = t;
  if (!wait_status) {
    r.outcome = ProcRun::Outcome::unknown;
    ++counters_.ended_unknown;
  } else if (WIFSIGNALED(*wait_status)) {
    r.outcome = ProcRun::Outcome::signaled;
    r.signal = WTERMSIG(*wait_status);
    r.core_dumped = WCOREDUMP(*wait_status);
  } else {
    r.outcome = ProcRun::Outcome::exited;
    r.exit_code = WEXITSTATUS(*wait_status);
  }
  runs_.push_back(std::move(r));
}

}  // namespace cronitor::agent
