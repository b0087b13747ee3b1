// Runs whose wrapper died without its end event: the follower (agent/sources/run_follower.h)
// follows the wrapper, then the job's process group, with pidfds; here the core tells it which
// runs to follow and closes a run it reports lost.
#include <spdlog/spdlog.h>

#include <string_view>

#include "agent/daemon/daemon.h"
#include "schedule/iso8601.h"

namespace cronitor::agent {

OpenRun* Daemon::open_run(const std::string& key, const std::string& run_id) {
  auto it = monitors_.find(key);
  if (!it) return nullptr;
  for (auto& r : monitors_.state(*it).open_runs)
    if (r.run_id == run_id) return &r;
  return nullptr;
}

void Daemon::note_run_event(uint32_t i, const RunEvent& ev) {
  if (ev.state != RunEvent::State::kRun) {
    follower().unfollow(ev.run_id);
    return;
  }
  if (ev.wrapper_pid <= 0) return;
  // Runs the evaluator let go (a job keeps kMaxOpenRuns open runs) are followed no longer: a
  // key's follows stay within its open runs.
  const auto& open = monitors_.state(i).open_runs;
  follower().retain(monitors_.config(i).key, open.size(), [&](std::string_view run_id) {
    for (const auto& r : open)
      if (r.run_id == run_id) return true;
    return false;
  });
  for (auto& r : monitors_.state(i).open_runs)
    if (r.run_id == ev.run_id) follow_run(i, r);
}

void Daemon::follow_open_runs() {
  for (uint32_t i = 0; i < monitors_.size(); ++i)
    for (auto& r : monitors_.state(i).open_runs)
      if (r.wrapper_pid > 0) follow_run(i, r);
}

void Daemon::follow_run(uint32_t i, OpenRun& run) {
  const uint64_t start = follower().follow(
      {monitors_.config(i).key, run.run_id, monitors_.config(i).uid, run.pgid, run.wrapper_pid, run.wrapper_start});
  if (start != 0 && run.wrapper_start == 0) {  // the wrapper's start, to know it again after a restart
    run.wrapper_start = start;
    monitors_.touch(i);
  }
}

// The wrapper is gone and its last event had time to arrive: take what waits.
void Daemon::take_waiting_events() {
  commit_pending();
  take_spool_events();
  drain_spool();
}

bool Daemon::run_open(const std::string& key, const std::string& run_id) { return open_run(key, run_id) != nullptr; }

// Closes the run as a failure whose exit is unknown, at the moment its group was seen empty.
void Daemon::run_lost(const std::string& key, const std::string& run_id, int64_t pgid) {
  commit_pending();  // an end event waiting in the batch wins
  OpenRun* run = open_run(key, run_id);
  if (!run) return;
  const uint32_t i = *monitors_.find(key);  // open_run found it
  const Instant t = now();
  RunEvent ev;
  ev.key = key;
  ev.run_id = run_id;
  ev.state = RunEvent::State::kFail;
  ev.ts = t;
  ev.host = host_;
  ev.pid = pgid;
  ev.uid = monitors_.config(i).uid;
  ev.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - run->started).count();
  ev.message = "wrapper lost (killed); job ended at " +
               schedule::format_iso8601(std::chrono::floor<std::chrono::seconds>(t), monitors_.config(i).zone) +
               ", exit unknown";
  spdlog::warn("{}: run {}: {}", key, run_id, ev.message);
  if (!store_.begin()) return;
  if (auto r = store_.record_event(ev, t); !r) spdlog::error("storing the lost run of {}: {}", key, r.error().message);
  auto actions = evaluate(monitors_.config(i), monitors_.state(i), &ev, host_record_.state());
  if (!actions.empty()) host_record_.changed();
  record_actions(actions, &monitors_.config(i), t);
  monitors_.touch(i);
  if (!flush_dirty() || !store_.commit()) {
    store_.rollback();
    spdlog::error("storing the lost run of {} failed", key);
    return;
  }
  rearm_deadline_timer();
  pump_outbox();
}

}  // namespace cronitor::agent
