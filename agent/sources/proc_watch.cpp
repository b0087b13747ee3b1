#include "agent/sources/proc_watch.h"

#include <spdlog/spdlog.h>
#include <string.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <utility>

#include "agent/sources/anacron_roots.h"
#include "agent/sources/proc_adopt.h"
#include "common/event_source.h"
#include "common/run_id.h"

namespace cronitor::agent {
namespace {

constexpr size_t kMaxRoundsPerStep = 16;  // x 4,096 datagrams: then the loop serves the others first

uint64_t mono_ns() {
  timespec t{};
  ::clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<uint64_t>(t.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(t.tv_nsec);
}

int64_t unix_ms(Instant t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

Instant wall_now() { return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()); }

int64_t mono_ms() { return static_cast<int64_t>(mono_ns() / 1'000'000); }

}  // namespace

ProcWatch::ProcWatch(std::string host, Handler& handler, Options options)
    : host_(std::move(host)),
      handler_(handler),
      options_(options),
      tracker_(ProcessTracker::Matcher{
          .job = [this](uid_t uid, std::string_view cmd) { return matcher_.job(uid, cmd, wall_now()); },
          .script = [this](uid_t uid, std::string_view key,
                           std::string_view script) { return matcher_.script(uid, key, script); }}) {
  since_ms_ = unix_ms(wall_now());
  read_at_ = wall_now();
  const pid_t init[] = {1};  // anacron.service's anacron, started later, is followed from its exec
  tracker_.set_spawners(init);
  auto c = ProcConnector::open(options_.connector);
  if (c)
    connector_.emplace(std::move(*c));
  else
    why_not_ = c.error().message;
}

ProcWatch::~ProcWatch() = default;

Result<void> ProcWatch::attach(sd_event* ev) {
  if (!connector_) return {};
  ev_ = ev;
  int r = sd_event_add_io(ev, out_ptr(io_src_), connector_->fd(), EPOLLIN, on_io, this);
  if (r >= 0) r = sd_event_add_time(ev, out_ptr(batch_src_), CLOCK_MONOTONIC, UINT64_MAX, 1000, on_batch, this);
  if (r >= 0) r = sd_event_add_time(ev, out_ptr(held_src_), CLOCK_MONOTONIC, UINT64_MAX, 100000, on_held, this);
  if (r < 0) return std::unexpected(Error::from_errno("sd_event_add_io", "process events", -r));
  sd_event_source_set_enabled(batch_src_.get(), SD_EVENT_OFF);
  sd_event_source_set_enabled(held_src_.get(), SD_EVENT_OFF);
  return {};
}

void ProcWatch::set_cron(pid_t pid) {
  auto anacron = connector_ ? running_anacrons() : std::vector<pid_t>{};
  if (pid == cron_ && anacron == anacron_) return;
  cron_ = pid;
  anacron_ = std::move(anacron);
  std::vector<pid_t> roots = anacron_;
  if (pid > 0) roots.push_back(pid);
  tracker_.set_roots(roots);
}

nlohmann::json ProcWatch::status_json() const {
  using nlohmann::json;
  const auto& n = tracker_.counters();
  return {{"live", live()},
          {"why_not", live() ? json() : json(why_not_)},
          {"cron_pid", cron_},
          {"runs", stats_.runs},
          {"events", stats_.events},
          {"wakeups", stats_.wakeups},
          {"timer_wakeups", stats_.timer_wakeups},
          {"idle_wakeups", stats_.idle_wakeups},
          {"losses", stats_.losses},
          {"unreadable", n.unreadable},
          {"named_from_cron_log", stats_.named_from_log},
          {"from_cron_log", stats_.from_log},
          {"unnamed", stats_.unnamed},
          {"ended_unknown", n.ended_unknown},
          {"not_followed", n.not_followed}};
}

void ProcWatch::arm(sd_event_source* s, uint64_t usec) { arm_once_in(ev_, s, usec); }

// Readable: at once when an exec in cron's trees is due (its argv must be read while the process
// lives), else 5 ms later, so that a host starting thousands of processes a second costs one
// wake-up per batch, not one per event. With no process starting, nothing wakes the agent.
int ProcWatch::on_io(sd_event_source*, int, uint32_t, void* ud) {
  auto* w = static_cast<ProcWatch*>(ud);
  if (w->tracker_.awaits_exec() || w->options_.batch_usec == 0) {
    w->step();
    return 0;
  }
  sd_event_source_set_enabled(w->io_src_.get(), SD_EVENT_OFF);
  w->batching_ = true;
  w->arm(w->batch_src_.get(), w->options_.batch_usec);
  return 0;
}

int ProcWatch::on_batch(sd_event_source*, uint64_t, void* ud) {
  auto* w = static_cast<ProcWatch*>(ud);
  if (!std::exchange(w->batching_, false)) ++w->stats_.timer_wakeups;  // a re-read of /proc after a loss
  w->step();
  sd_event_source_set_enabled(w->io_src_.get(), SD_EVENT_ON);
  return 0;
}

int ProcWatch::on_held(sd_event_source*, uint64_t, void* ud) {
  auto* w = static_cast<ProcWatch*>(ud);
  uint64_t now = 0;
  sd_event_now(w->ev_, CLOCK_MONOTONIC, &now);
  ++w->stats_.timer_wakeups;
  const auto join_due = w->join_.next_due_ms();
  if ((w->held_.empty() || w->held_.front().due_usec > now) && (!join_due || *join_due > mono_ms()))
    ++w->stats_.idle_wakeups;
  w->check_held(now);
  return 0;
}

void ProcWatch::step() {
  if (!connector_) return;
  ++stats_.wakeups;
  const auto began = static_cast<int64_t>(mono_ns());
  auto feed = [this](const ProcEvent& e) { tracker_.feed(e, read_exec_facts); };
  size_t losses = 0, events = 0;
  for (size_t round = 0; round < kMaxRoundsPerStep; ++round) {
    auto d = connector_->drain(feed);
    if (!d) {
      spdlog::warn("process events: {}", d.error().message);
      break;
    }
    stats_.events += d->events;
    events += d->events;
    stats_.foreign += d->foreign;
    stats_.malformed += d->malformed;
    losses += d->losses;
    if (!d->more) break;
    if (round + 1 == kMaxRoundsPerStep && batch_src_) {  // more: the next turn of the loop
      batching_ = true;
      arm(batch_src_.get(), 0);
    }
  }
  const Instant read_at = wall_now();
  if (losses > 0) {
    stats_.losses += losses;
    tracker_.lost(losses);
    settle_loss();
    adopt_due_ = true;
    handler_.events_lost(read_at_, read_at);
  }
  read_at_ = read_at;
  const bool reread = adopt_due_ && adopt_lost_forks(began);
  if (events == 0 && losses == 0 && !reread) ++stats_.idle_wakeups;
  handle(tracker_.take_runs());
}

// Jobs cron started while events were dropped (their forks lost) are adopted from /proc, so that
// their runs are not missed: the processes of cron's trees not followed that started before this
// step's first read (a younger one's events are still to come; it is judged at a later read). One scan of /proc per 100
// ms at most: a host that overruns the queue again and again does not make the agent scan it each time.
bool ProcWatch::adopt_lost_forks(int64_t began_ns) {
  constexpr int64_t kEvery = 100'000'000;
  if (adopted_at_ns_ != 0 && began_ns - adopted_at_ns_ < kEvery) {
    if (batch_src_) arm(batch_src_.get(), static_cast<uint64_t>(adopted_at_ns_ + kEvery - began_ns) / 1000);
    return false;
  }
  adopt_due_ = false;
  adopted_at_ns_ = began_ns;
  if (cron_ <= 0) return true;
  const pid_t roots[] = {cron_};
  const auto follows = [this](pid_t p) { return tracker_.follows(p); };
  const auto found = lost_forks(roots, follows, began_ns);
  for (const auto& f : found.forks) {
    tracker_.fork(f.parent, f.pid, f.pid, f.start_ns);
    if (f.exec) tracker_.exec(f.pid, f.start_ns, f.exec);
  }
  if (found.judge_again_ns != 0) {  // one started as the kernel dropped: read again once it can be judged
    adopt_due_ = true;
    const int64_t wait_ns = std::max(found.judge_again_ns, adopted_at_ns_ + kEvery) - began_ns;
    if (batch_src_) arm(batch_src_.get(), static_cast<uint64_t>(std::max<int64_t>(wait_ns, 0)) / 1000);
  }
  return true;
}

// The kernel dropped events: every followed process may have ended unseen. Those gone from /proc
// now end as "outcome unknown"; an exit queued before the check is read first (the drain between).
void ProcWatch::settle_loss() {
  const auto suspects = tracker_.suspects();
  std::vector<pid_t> gone;
  for (const auto& [pid, ticks] : suspects.processes)
    if (!process_still_alive(pid, ticks)) gone.push_back(pid);
  if (auto d = connector_->drain([this](const ProcEvent& e) { tracker_.feed(e, read_exec_facts); }); d)
    stats_.events += d->events;
  const uint64_t before = tracker_.counters().ended_unknown;
  tracker_.settle_loss(suspects.generation, gone, static_cast<int64_t>(mono_ns()));
  if (auto line = loss_report_.loss(static_cast<int64_t>(mono_ns()), suspects.processes.size(),
                                    tracker_.counters().ended_unknown - before))
    spdlog::warn("process events: {}", *line);
}

cronitor::RunEvent ProcWatch::event(const ProcRun& r, const std::string& run_id, bool end) const {
  cronitor::RunEvent e;
  e.key = r.key;
  e.run_id = run_id;
  e.host = host_;
  e.pid = r.pid > 0 ? r.pid : 1;
  e.uid = r.uid;
  const auto start = wall_time_of(static_cast<uint64_t>(r.start_ns));
  if (!end) {
    e.state = cronitor::RunState::kRun;
    e.ts = cronitor::format_timestamp_ms(unix_ms(start));
    return e;
  }
  // The end's wall time from the start's and the kernel's own durations: a clock set meanwhile
  // does not stretch the run.
  const int64_t duration_ms = std::max<int64_t>(0, (r.end_ns - r.start_ns) / 1'000'000);
  e.ts = cronitor::format_timestamp_ms(unix_ms(start) + duration_ms);
  e.duration_ms = duration_ms;
  switch (r.outcome) {
    case ProcRun::Outcome::exited:
      e.state = r.exit_code == 0 ? cronitor::RunState::kComplete : cronitor::RunState::kFail;
      e.exit_code = r.exit_code;
      break;
    case ProcRun::Outcome::signaled:
      e.state = cronitor::RunState::kFail;
      e.exit_code = 128 + r.signal;
      if (const char* abbrev = ::sigabbrev_np(r.signal)) e.signal = std::string("SIG") + abbrev;
      break;
    case ProcRun::Outcome::unknown:
    case ProcRun::Outcome::running:
      e.state = cronitor::RunState::kUnknown;
      break;
  }
  return e;
}

void ProcWatch::cron_cmd(pid_t pid, std::string_view user, std::string_view command, int64_t unix_ms) {
  if (!connector_ || pid <= 0 || unix_ms < since_ms_) return;  // older lines: the gap's, read by the backfill
  const auto uid = matcher_.uid_of_user(user);
  if (!uid) return;
  auto key = matcher_.job(*uid, command, Instant(std::chrono::milliseconds(unix_ms)));
  if (!key) return;
  join_.cmd(ProcLogJoin::CmdLine{pid, std::move(*key), *uid, unix_ms}, mono_ms());
  handle({});
}

// What the join of nameless runs and cron's CMD lines settled by `now_ms`, as runs to hand on;
// each use of cron's log is said.
std::vector<ProcRun> ProcWatch::settle_join(int64_t now_ms) {
  auto out = join_.take(now_ms);
  std::vector<ProcRun> runs;
  for (auto& r : out.named) {
    if (r.phase == ProcRun::Phase::ended) {
      ++stats_.named_from_log;
      if (named_said_.insert(r.key).second)
        spdlog::info(
            "process events: {}'s run (pid {}) was gone before its command was read; named from cron's CMD line "
            "(said once per job; status counts them)",
            r.key, r.pid);
    }
    runs.push_back(std::move(r));
  }
  const int64_t mono_now = static_cast<int64_t>(mono_ns());
  const int64_t wall_ms = unix_ms(wall_now());
  for (auto& l : out.log_only) {
    ++stats_.from_log;
    spdlog::warn(
        "process events: no run seen for cron's CMD line of {} (pid {}): recorded from cron's log, outcome unknown",
        l.key, l.pid);
    ProcRun r;
    r.key = std::move(l.key);
    r.pid = l.pid;
    r.uid = l.uid;
    r.start_ns = r.end_ns = mono_now - std::max<int64_t>(0, wall_ms - l.unix_ms) * 1'000'000;
    runs.push_back(r);
    r.phase = ProcRun::Phase::ended;
    r.outcome = ProcRun::Outcome::unknown;
    runs.push_back(std::move(r));
  }
  for (const auto& r : out.unnamed) {
    ++stats_.unnamed;
    spdlog::warn(
        "process events: a process cron started (pid {}) was gone before its command was read and no CMD line of "
        "cron's log named it; if it was a job, its run is not recorded (cron's log: discovery.cron_log)",
        r.pid);
  }
  return runs;
}

void ProcWatch::arm_held(uint64_t now_usec) {
  if (!held_src_) return;
  std::optional<uint64_t> due;
  if (!held_.empty()) due = held_.front().due_usec;
  if (auto j = join_.next_due_ms()) {
    const uint64_t usec = static_cast<uint64_t>(std::max<int64_t>(0, *j)) * 1000;
    due = due ? std::min(*due, usec) : usec;
  }
  if (due)
    arm(held_src_.get(), *due > now_usec ? *due - now_usec : 0);
  else  // what it was armed for was settled early (a CMD line's run came): no wake-up for nothing
    sd_event_source_set_enabled(held_src_.get(), SD_EVENT_OFF);
}

bool ProcWatch::timers_armed() const {
  int held = SD_EVENT_OFF;
  if (held_src_) sd_event_source_get_enabled(held_src_.get(), &held);
  return held != SD_EVENT_OFF || adopt_due_;
}

void ProcWatch::handle(std::vector<ProcRun> nameable) {
  // Runs without a name wait for cron's CMD line of their pid; named ones cover theirs.
  const int64_t now_ms = mono_ms();
  std::vector<ProcRun> runs;
  for (auto& r : nameable) {
    if (r.key.empty()) {
      join_.nameless(std::move(r), now_ms);
      continue;
    }
    if (r.phase == ProcRun::Phase::started) join_.named(r.pid, r.key, now_ms);
    runs.push_back(std::move(r));
  }
  for (auto& r : settle_join(now_ms)) runs.push_back(std::move(r));
  std::vector<cronitor::RunEvent> out;
  for (auto& r : runs) {
    const std::pair id{r.pid, r.start_ns};
    if (matcher_.wrapped(r.key)) {  // the wrapper reports it; held until it is clear it did
      if (r.phase == ProcRun::Phase::started) {
        held_starts_.insert_or_assign(id, r);
        continue;
      }
      auto it = held_starts_.find(id);
      ProcRun start = it != held_starts_.end() ? it->second : r;
      if (it != held_starts_.end()) held_starts_.erase(it);
      uint64_t now = 0;
      if (ev_) sd_event_now(ev_, CLOCK_MONOTONIC, &now);
      held_.push_back(Held{std::move(start), std::move(r), now + options_.wrapper_wait_usec});
      continue;
    }
    ++stats_.runs;
    if (r.phase == ProcRun::Phase::started) {
      auto [it, fresh] = run_ids_.insert_or_assign(id, cronitor::new_run_id());
      out.push_back(event(r, it->second, false));
      continue;
    }
    auto it = run_ids_.find(id);
    if (it == run_ids_.end()) continue;  // its start was not handed on (cannot be: the tracker pairs them)
    out.push_back(event(r, it->second, true));
    run_ids_.erase(it);
  }
  uint64_t now_usec = 0;
  if (ev_) sd_event_now(ev_, CLOCK_MONOTONIC, &now_usec);
  arm_held(now_usec);
  if (!out.empty()) handler_.proc_runs(std::move(out));
}

// A wrapped line whose wrapper reported nothing (deleted, not executable, crashed before its first
// report): the run is recorded from here, with the shell's real exit code (127: not found).
void ProcWatch::check_held(uint64_t now_usec) {
  handle({});  // the join's waits that ran out
  std::vector<cronitor::RunEvent> out;
  while (!held_.empty() && held_.front().due_usec <= now_usec) {
    Held h = std::move(held_.front());
    held_.pop_front();
    const Instant started = wall_time_of(static_cast<uint64_t>(h.start.start_ns));
    if (handler_.wrapper_reported(h.end.key, started - std::chrono::seconds(1))) continue;
    const std::string run_id = cronitor::new_run_id();
    out.push_back(event(h.start, run_id, false));
    out.push_back(event(h.end, run_id, true));
    ++stats_.runs;
    spdlog::warn(
        "process events: the wrapper of {} did not report its run (pid {}, exit code {}): recorded from the "
        "process events",
        h.end.key, h.end.pid, out.back().exit_code);
  }
  arm_held(now_usec);
  if (!out.empty()) handler_.proc_runs(std::move(out));
}

}  // namespace cronitor::agent
