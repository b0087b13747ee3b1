// The daemon and the process events source (agent/sources/proc_watch.h): opened before the first
// build of the monitors (the jobs it reports are fed like wrapped ones), its runs ingested as the
// agent's own, like those of cron's log.
#include <spdlog/spdlog.h>

#include "agent/daemon/daemon.h"
#include "agent/eval/unobserved_slot.h"
#include "agent/sources/proc_run_source.h"

namespace cronitor::agent {

std::unique_ptr<ProcRunSource> Daemon::proc_source() {
  // Two lines with one command and user: the one whose slot is in the minute cron started it.
  return std::make_unique<ProcRunSource>(
      static_cast<ProcWatch::Handler&>(*this), [this](const std::string& key, Instant start) {
        auto it = monitors_.find(key);
        if (!it || !monitors_.config(*it).schedule) return false;
        const auto minute = std::chrono::time_point_cast<std::chrono::minutes>(start);
        const auto slot = monitors_.config(*it).next_slot(minute - std::chrono::seconds(1));
        return slot && *slot <= start;
      });
}

void Daemon::proc_runs(std::vector<cronitor::RunEvent> events) {
  for (auto& e : events) {
    if (e.state == RunState::kUnknown)
      spdlog::warn("process events: {}'s run (pid {}) ends with its outcome unknown (its end was not seen)", e.key,
                   e.pid);
    batch_.push(Pending{std::move(e), -1, 0, true});
  }
  batch_.schedule();
}

// A slot that came while the kernel dropped events is unobserved, not missed, when nothing else
// names the gap's runs (cron's CMD lines do: agent/sources/proc_log_join.h records each as a run of
// unknown outcome).
void Daemon::events_lost(Instant from, Instant to) {
  if (cron_log()) return;
  std::vector<uint32_t> changed;
  for (uint32_t i = 0; i < monitors_.size(); ++i)
    if (monitors_.config(i).reported_by == kReportedByProcessEvents &&
        absorb_unobserved_slot(monitors_.config(i), monitors_.state(i), from, to))
      changed.push_back(i);
  if (changed.empty()) return;
  for (uint32_t i : changed) {
    spdlog::warn(
        "process events: {}'s slot came while the kernel dropped events and cron's log is not followed: whether it "
        "ran is unknown (not told as missed)",
        monitors_.config(i).key);
    monitors_.touch(i);
  }
  save_dirty();
}

bool Daemon::wrapper_reported(const std::string& key, Instant since) const {
  auto it = monitors_.find(key);
  if (!it) return false;
  const auto& s = monitors_.state(*it);
  if (s.last_start && *s.last_start >= since) return true;
  for (const auto& r : s.open_runs)
    if (r.started >= since) return true;
  // Still waiting in this turn's batch (the socket or the spool): not stored yet, but reported.
  for (const auto& p : batch_.events())
    if (p.ev.key == key && p.conn_fd >= 0) return true;
  return false;
}

}  // namespace cronitor::agent
