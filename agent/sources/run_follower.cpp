#include "agent/sources/run_follower.h"

#include <spdlog/spdlog.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <optional>
#include <vector>

#include "agent/sources/host_facts.h"
#include "common/unique_fd.h"

namespace cronitor::agent {
namespace {

UniqueFd pidfd_of(pid_t pid) { return UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))); }

// A live process of group `pgid` (its leader first), or 0 when the group is empty.
pid_t live_member(pid_t pgid) {
  if (auto s = read_proc_stat(pgid); s && s->alive() && s->pgrp == pgid) return pgid;
  for (pid_t p : proc_pids())
    if (auto s = read_proc_stat(p); s && s->pgrp == pgid && s->alive()) return p;
  return 0;
}

// Watches `fd` (a pidfd) on `ev`; the source owns the fd from then on. False: `fd` stays ours.
bool watch_pidfd(sd_event* ev, UniqueFd& fd, EventSource& src, sd_event_io_handler_t cb, void* ud) {
  sd_event_source* s = nullptr;
  if (sd_event_add_io(ev, &s, fd.get(), EPOLLIN, cb, ud) < 0) return false;
  sd_event_source_set_io_fd_own(s, 1);
  fd.release();
  src.reset(s);
  return true;
}

}  // namespace

size_t RunFollower::followed_of_key(const std::string& key) const {
  auto it = of_key_.find(key);
  return it == of_key_.end() ? 0 : it->second;
}

pid_t RunFollower::watched(const std::string& run_id) const {
  auto it = follows_.find(run_id);
  return it == follows_.end() || it->second->phase == Follow::Phase::kSettle ? 0 : it->second->watched;
}

void RunFollower::unfollow(const std::string& run_id) {
  auto it = follows_.find(run_id);
  if (it == follows_.end()) return;
  if (auto k = of_key_.find(it->second->key); k != of_key_.end() && --k->second == 0) of_key_.erase(k);
  if (auto u = of_uid_.find(it->second->uid); u != of_uid_.end() && --u->second == 0) of_uid_.erase(u);
  follows_.erase(it);  // its source, and the pidfd the source owns, with it
}

void RunFollower::unfollow_key(const std::string& key) {
  std::vector<std::string> runs;
  for (const auto& [run_id, f] : follows_)
    if (f->key == key) runs.push_back(run_id);
  for (const auto& run_id : runs) unfollow(run_id);
}

uint64_t RunFollower::follow(const Run& run) {
  if (follows_.contains(run.run_id) || !ev_) return 0;
  const int64_t uid = run.uid;
  const bool root = uid <= 0;  // root's jobs (-1: a user that does not resolve, only root reports it)
  size_t of_users =
      follows_.size() - (of_uid_.contains(0) ? of_uid_.at(0) : 0) - (of_uid_.contains(-1) ? of_uid_.at(-1) : 0);
  const size_t of_uid = of_uid_.contains(uid) ? of_uid_.at(uid) : 0;
  if (follows_.size() >= kMaxFollows ||
      (!root && (of_uid >= kMaxFollowsPerUser || of_users >= kMaxFollows - kRootFollows))) {
    // Said once per key and limit, not per run: a flood of runs would flood the log too.
    if (said_.insert(run.key).second)
      spdlog::warn("{}: {} runs followed{}; its runs beyond stay open until their end events", run.key,
                   root ? std::to_string(follows_.size()) : std::to_string(of_uid) + " of uid " + std::to_string(uid),
                   root ? "" : " (each user's share of the pidfds is bounded)");
    return 0;
  }
  auto f = std::make_unique<Follow>();
  f->key = run.key;
  f->uid = uid;
  ++of_key_[f->key];
  ++of_uid_[uid];
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
  UniqueFd fd = same_wrapper(st) ? pidfd_of(wpid) : UniqueFd();
  // The start time is read again once the pidfd pins the process: the same process or none.
  if (fd && same_wrapper(st = read_proc_stat(wpid))) {
    const uint64_t learnt = run.wrapper_start == 0 ? st->start_ticks : 0;
    if (watch_pidfd(ev_, fd, ref.src, on_exit_cb, &ref)) {
      ref.phase = Follow::Phase::kWrapper;
      ref.watched = wpid;
      return learnt;
    }
    // No source for it: the run is followed from the settle on, its wrapper's start still kept.
    settle(ref);
    return learnt;
  }
  // The wrapper is gone already: its end event may still come (settle), else follow the group.
  settle(ref);
  return 0;
}

void RunFollower::settle(Follow& f) {
  f.phase = Follow::Phase::kSettle;
  sd_event_source* s = nullptr;
  if (sd_event_add_time(ev_, &s, CLOCK_MONOTONIC, loop_mono_usec(ev_) + kSettleUsec, 10000, on_settle_cb, &f) >= 0)
    f.src.reset(s);
}

// The wrapper (or the group member we watched) exited.
int RunFollower::on_exit_cb(sd_event_source*, int, uint32_t, void* ud) {
  auto* f = static_cast<Follow*>(ud);
  f->src.reset();  // closes the pidfd
  if (f->phase == Follow::Phase::kWrapper) {
    f->owner->settle(*f);
    return 0;
  }
  f->owner->follow_group(*f);  // may end the follow and free f
  return 0;
}

// The wrapper is gone and its last event had time to arrive: take what waits, then look.
int RunFollower::on_settle_cb(sd_event_source*, uint64_t, void* ud) {
  auto* f = static_cast<Follow*>(ud);
  RunFollower* self = f->owner;
  const std::string run_id = f->run_id;
  self->handler_.take_waiting_events();
  auto it = self->follows_.find(run_id);  // an end event unfollowed it meanwhile
  if (it == self->follows_.end()) return 0;
  it->second->src.reset();
  self->follow_group(*it->second);
  return 0;
}

void RunFollower::follow_group(Follow& f) {
  if (!handler_.run_open(f.key, f.run_id)) {
    unfollow(f.run_id);
    return;
  }
  // A live member of the job's group: watch it (its pidfd), and look again when it exits.
  for (int attempt = 0; attempt < 8 && f.pgid > 0; ++attempt) {
    const pid_t member = live_member(static_cast<pid_t>(f.pgid));
    if (member <= 0) break;
    UniqueFd fd = pidfd_of(member);
    if (!fd) continue;  // it exited just now: look for another
    const auto st = read_proc_stat(member);
    if (!st || !st->alive() || st->pgrp != f.pgid) continue;
    if (f.phase != Follow::Phase::kGroup)
      spdlog::info("{}: the wrapper of run {} is gone; following its job's process group {}", f.key, f.run_id, f.pgid);
    if (!watch_pidfd(ev_, fd, f.src, on_exit_cb, &f)) break;
    f.phase = Follow::Phase::kGroup;
    f.watched = member;
    return;
  }
  lost(f.run_id);
}

// The run's group was seen empty: the follow ends, and the core closes the run.
void RunFollower::lost(const std::string& run_ref) {
  const std::string run_id = run_ref;  // a copy: run_ref may live in the Follow that unfollow() frees
  auto it = follows_.find(run_id);
  if (it == follows_.end()) return;
  const std::string key = it->second->key;
  const int64_t pgid = it->second->pgid;
  unfollow(run_id);
  handler_.run_lost(key, run_id, pgid);
}

}  // namespace cronitor::agent
