// Runs whose wrapper died without its end event (kill -9, OOM killer): left alone they would stay
// `running` for ever and the next run would be an "overlap". cronitor-exec says it is a wrapper
// (`wrapper_pid` in its run event; over the socket the agent takes the pid from SO_PEERCRED), and
// the run event's pid is the job's process group. The agent follows the wrapper with a pidfd;
// once it is gone without an end event, each live member of the job's group in turn (a pidfd
// again, no polling); when the group is empty, the run is closed as lost.
#include <spdlog/spdlog.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <set>
#include <string_view>

#include "agent/daemon/daemon.h"
#include "agent/sources/host_facts.h"
#include "schedule/iso8601.h"

namespace cronitor::agent {
namespace {

// After the wrapper exits, its last event may still be on its way (socket batch, spool file):
// it gets this long before the run counts as lost.
constexpr uint64_t kSettleUsec = 250000;
constexpr size_t kMaxFollows = 4096;  // one pidfd each
// One user's share: the runs of all the jobs one uid other than root owns (4,200 `run` events of
// one user once took every pidfd, and root's killed wrapper was never noticed). Users together
// leave kRootFollows for root's jobs.
constexpr size_t kMaxFollowsPerUser = 512;
constexpr size_t kRootFollows = 1024;

int pidfd_of(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// A live process of group `pgid` (its leader first), or 0 when the group is empty.
pid_t live_member(pid_t pgid) {
  if (auto s = read_proc_stat(pgid); s && s->alive() && s->pgrp == pgid) return pgid;
  for (pid_t p : proc_pids())
    if (auto s = read_proc_stat(p); s && s->pgrp == pgid && s->alive()) return p;
  return 0;
}

}  // namespace

OpenRun* Daemon::open_run(const std::string& key, const std::string& run_id) {
  auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  for (auto& r : states_[it->second].open_runs)
    if (r.run_id == run_id) return &r;
  return nullptr;
}

void Daemon::note_run_event(uint32_t i, const RunEvent& ev) {
  if (ev.state != RunEvent::State::kRun) {
    unfollow(ev.run_id);
    return;
  }
  if (ev.wrapper_pid <= 0) return;
  // Runs the evaluator let go (a job keeps kMaxOpenRuns open runs) are followed no longer: a
  // key's follows stay within its open runs.
  const auto& open = states_[i].open_runs;
  if (auto it = follows_of_key_.find(monitors_[i].key); it != follows_of_key_.end() && it->second >= open.size()) {
    std::set<std::string_view> ids;
    for (const auto& r : open) ids.insert(r.run_id);
    std::vector<std::string> gone;
    for (const auto& [run_id, f] : follows_)
      if (f->key == monitors_[i].key && !ids.contains(run_id)) gone.push_back(run_id);
    for (const auto& run_id : gone) unfollow(run_id);
  }
  for (auto& r : states_[i].open_runs)
    if (r.run_id == ev.run_id) follow_run(i, r);
}

void Daemon::follow_open_runs() {
  for (uint32_t i = 0; i < states_.size(); ++i)
    for (auto& r : states_[i].open_runs)
      if (r.wrapper_pid > 0) follow_run(i, r);
}

void Daemon::unfollow(const std::string& run_id) {
  auto it = follows_.find(run_id);
  if (it == follows_.end()) return;
  if (auto k = follows_of_key_.find(it->second->key); k != follows_of_key_.end() && --k->second == 0)
    follows_of_key_.erase(k);
  if (auto u = follows_of_uid_.find(it->second->uid); u != follows_of_uid_.end() && --u->second == 0)
    follows_of_uid_.erase(u);
  sd_event_source_disable_unref(it->second->src);
  follows_.erase(it);
}

void Daemon::follow_run(uint32_t i, OpenRun& run) {
  if (follows_.contains(run.run_id) || !ev_) return;
  const int64_t uid = monitors_[i].uid;
  const bool root = uid <= 0;  // root's jobs (-1: a user that does not resolve, only root reports it)
  size_t of_users = follows_.size() - (follows_of_uid_.contains(0) ? follows_of_uid_.at(0) : 0) -
                    (follows_of_uid_.contains(-1) ? follows_of_uid_.at(-1) : 0);
  const size_t of_uid = follows_of_uid_.contains(uid) ? follows_of_uid_.at(uid) : 0;
  if (follows_.size() >= kMaxFollows ||
      (!root && (of_uid >= kMaxFollowsPerUser || of_users >= kMaxFollows - kRootFollows))) {
    // Said once per key and limit, not per run: a flood of runs would flood the log too.
    if (follow_said_.insert(monitors_[i].key).second)
      spdlog::warn("{}: {} runs followed{}; its runs beyond stay open until their end events", monitors_[i].key,
                   root ? std::to_string(follows_.size()) : std::to_string(of_uid) + " of uid " + std::to_string(uid),
                   root ? "" : " (each user's share of the pidfds is bounded)");
    return;
  }
  auto f = std::make_unique<Follow>();
  f->key = monitors_[i].key;
  f->uid = uid;
  ++follows_of_key_[f->key];
  ++follows_of_uid_[uid];
  f->run_id = run.run_id;
  f->pgid = run.pgid;
  f->owner = this;
  Follow& ref = *f;
  follows_.emplace(run.run_id, std::move(f));
  // Is the wrapper still the process that sent the run (pid reuse across an agent restart)?
  const auto wpid = static_cast<pid_t>(run.wrapper_pid);
  const auto same_wrapper = [&](const std::optional<ProcStat>& st) {
    return st && st->alive() && (run.wrapper_start == 0 || run.wrapper_start == st->start_ticks);
  };
  std::optional<ProcStat> st = read_proc_stat(wpid);
  int fd = same_wrapper(st) ? pidfd_of(wpid) : -1;
  // The start time is read again once the pidfd pins the process: the same process or none.
  if (fd >= 0 && same_wrapper(st = read_proc_stat(wpid))) {
    if (run.wrapper_start == 0) {
      run.wrapper_start = st->start_ticks;
      touch(i);
    }
    if (sd_event_add_io(ev_, &ref.src, fd, EPOLLIN, on_follow_exit_cb, &ref) >= 0) {
      sd_event_source_set_io_fd_own(ref.src, 1);
      ref.phase = Follow::Phase::kWrapper;
      ref.watched = wpid;
      return;
    }
  }
  if (fd >= 0) ::close(fd);
  // The wrapper is gone already: its end event may still come (settle), else follow the group.
  ref.phase = Follow::Phase::kSettle;
  sd_event_add_time(ev_, &ref.src, CLOCK_MONOTONIC, mono_usec() + kSettleUsec, 10000, on_follow_settle_cb, &ref);
}

// The wrapper (or the group member we watched) exited.
int Daemon::on_follow_exit_cb(sd_event_source*, int, uint32_t, void* ud) {
  auto* f = static_cast<Follow*>(ud);
  Daemon* d = f->owner;
  f->src = sd_event_source_disable_unref(f->src);  // closes the pidfd
  if (f->phase == Follow::Phase::kWrapper) {
    f->phase = Follow::Phase::kSettle;
    sd_event_add_time(d->ev_, &f->src, CLOCK_MONOTONIC, d->mono_usec() + kSettleUsec, 10000, on_follow_settle_cb, f);
    return 0;
  }
  d->follow_group(*f);  // may close the run and free f
  return 0;
}

// The wrapper is gone and its last event had time to arrive: take what waits, then look.
int Daemon::on_follow_settle_cb(sd_event_source*, uint64_t, void* ud) {
  auto* f = static_cast<Follow*>(ud);
  Daemon* d = f->owner;
  const std::string run_id = f->run_id;
  d->commit_pending();
  d->take_spool_events();
  d->drain_spool();
  auto it = d->follows_.find(run_id);  // an end event unfollowed it meanwhile
  if (it == d->follows_.end()) return 0;
  it->second->src = sd_event_source_disable_unref(it->second->src);
  d->follow_group(*it->second);
  return 0;
}

void Daemon::follow_group(Follow& f) {
  if (!open_run(f.key, f.run_id)) {
    unfollow(f.run_id);
    return;
  }
  // A live member of the job's group: watch it (its pidfd), and look again when it exits.
  for (int attempt = 0; attempt < 8 && f.pgid > 0; ++attempt) {
    const pid_t member = live_member(static_cast<pid_t>(f.pgid));
    if (member <= 0) break;
    int fd = pidfd_of(member);
    if (fd < 0) continue;  // it exited just now: look for another
    const auto st = read_proc_stat(member);
    if (!st || !st->alive() || st->pgrp != f.pgid) {
      ::close(fd);
      continue;
    }
    if (f.phase != Follow::Phase::kGroup)
      spdlog::info("{}: the wrapper of run {} is gone; following its job's process group {}", f.key, f.run_id, f.pgid);
    if (sd_event_add_io(ev_, &f.src, fd, EPOLLIN, on_follow_exit_cb, &f) < 0) {
      ::close(fd);
      break;
    }
    sd_event_source_set_io_fd_own(f.src, 1);
    f.phase = Follow::Phase::kGroup;
    f.watched = member;
    return;
  }
  close_lost_run(f.run_id);
}

// Closes the run as a failure whose exit is unknown, at the moment its group was seen empty.
void Daemon::close_lost_run(const std::string& run_ref) {
  const std::string run_id = run_ref;  // a copy: run_ref may live in the Follow that unfollow() frees
  auto fit = follows_.find(run_id);
  if (fit == follows_.end()) return;
  const std::string key = fit->second->key;
  const int64_t pgid = fit->second->pgid;
  unfollow(run_id);
  commit_pending();  // an end event waiting in the batch wins
  OpenRun* run = open_run(key, run_id);
  if (!run) return;
  const uint32_t i = index_.at(key);
  const Instant t = now();
  RunEvent ev;
  ev.key = key;
  ev.run_id = run_id;
  ev.state = RunEvent::State::kFail;
  ev.ts = t;
  ev.host = host_;
  ev.pid = pgid;
  ev.uid = monitors_[i].uid;
  ev.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - run->started).count();
  ev.message = "wrapper lost (killed); job ended at " +
               schedule::format_iso8601(std::chrono::floor<std::chrono::seconds>(t), monitors_[i].zone) +
               ", exit unknown";
  spdlog::warn("{}: run {}: {}", key, run_id, ev.message);
  if (!store_.begin()) return;
  if (auto r = store_.record_event(ev, t); !r) spdlog::error("storing the lost run of {}: {}", key, r.error().message);
  auto actions = evaluate(monitors_[i], states_[i], &ev, host_state_);
  if (!actions.empty()) host_dirty_ = true;
  record_actions(actions, &monitors_[i], t);
  touch(i);
  if (!flush_dirty() || !store_.commit()) {
    store_.rollback();
    spdlog::error("storing the lost run of {} failed", key);
    return;
  }
  rearm_deadline_timer();
  pump_outbox();
}

}  // namespace cronitor::agent
