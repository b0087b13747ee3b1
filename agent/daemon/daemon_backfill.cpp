// The runs of the gap: at start, what the journal holds of the time the agent was not running
// (cron's lines, the manager's messages about timers' services) is recorded at its own times
// before the downtime and miss judgement (agent/sources/journal_backfill.h).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "agent/daemon/daemon.h"
#include "agent/sources/cron_log_watch.h"
#include "agent/sources/journal_backfill.h"
#include "discovery/scanner.h"

namespace cronitor::agent {
namespace {

constexpr int kMaxCronPolls = 100;  // 10,000 events each: the rest is read by the loop, as live lines
constexpr int kRecordedPerKey = 1000;
constexpr char kRecoveredNote[] = "recovered from the journal: the agent was not running then";

}  // namespace

void Daemon::recover_gap(Instant t) {
  const auto since = gap_since_usec(host_record_.previous_run().last_seen, t);
  if (!since) return;
  std::vector<cronitor::RunEvent> events;
  // cron: its journal source was opened at the gap's start (cron_log_run_source.h), so its first reads
  // are the gap's lines, through the live tracker (which keeps a run still going at its END).
  const auto files = journal_files_setting();
  if (CronLogWatch* log = cron_log(); log && files) {
    // Jobs the kernel's process events report had no observer while the agent was down: cron's
    // lines are their record of the gap, read here and not after (the process events take over).
    std::vector<std::string> lent;
    for (const auto& j : discovery_.jobs())
      if (j.reported_by == kReportedByProcessEvents) {
        int64_t uid = j.uid;
        if (auto it = monitors_.find(j.key)) uid = monitors_.config(*it).uid;
        log->set_job(j.key, j.user, uid, j.command);
        lent.push_back(j.key);
      }
    for (int n = 0; n < kMaxCronPolls && log->poll(); ++n) {
    }
    for (const auto& key : lent) log->forget_job(key);
    for (auto& p : batch_.events())
      if (p.conn_fd < 0) events.push_back(std::move(p.ev));
    std::erase_if(batch_.events(), [](const Pending& p) { return p.conn_fd < 0; });
  }
  const size_t cron_events = events.size();
  // Timers: their services, by the unit files discovery read (the manager answers later).
  std::map<std::string, std::string> services;
  if (discovery_.on() && config_.discovery.systemd)
    for (const discovery::Job* j : discovery_.scanner()->jobs())
      if (j->timer && !j->timer->service.empty() && monitors_.contains(j->key)) services[j->timer->service] = j->key;
  size_t timer_runs = 0;
  if (files && !services.empty()) {
    auto read = read_manager_entries(*files, *since, to_realtime_usec(t));
    if (!read) {
      spdlog::warn("journal: {}; runs of timers while the agent was not running are not recovered",
                   read.error().message);
    } else {
      if (read->cut)
        spdlog::warn("journal: more than {} manager messages since the agent last ran; the rest are not read",
                     read->entries.size());
      std::map<std::string, uint64_t> open;  // runs the agent saw start, by run id
      for (const auto& [service, key] : services)
        for (const auto& r : monitors_.state(*monitors_.find(key)).open_runs)
          open[r.run_id] = to_realtime_usec(r.started);
      auto runs = manager_runs(read->entries, services, host_, open, [&](const std::string& id) {
        auto it = read->tails.find(id);
        return it == read->tails.end() ? std::string() : it->second;
      });
      timer_runs = runs.runs;
      for (auto& e : runs.events) events.push_back(std::move(e));
    }
  }
  if (events.empty()) return;
  std::map<std::string, std::vector<RecordedRun>> recorded;
  for (const auto& e : events) {
    if (recorded.contains(e.key)) continue;
    auto& runs = recorded[e.key];
    if (auto rows = store_.history(e.key, kRecordedPerKey, 1))
      for (const auto& r : *rows)
        if (r.started_ms) runs.push_back({r.run_id, *r.started_ms});
  }
  const size_t twins = drop_recorded(events, recorded);
  mark_recovered(events, kRecoveredNote);
  std::stable_sort(events.begin(), events.end(), [](const auto& a, const auto& b) { return a.ts < b.ts; });
  std::set<std::string> fresh, failed;  // run ids with an event new to state.db
  if (!events.empty() && store_.begin()) {
    for (const auto& e : events) {
      const uint64_t before = retention_.events_stored();
      if (auto why = ingest(e, 0, t, false)) spdlog::warn("journal: a run of \"{}\": {}, ignoring", e.key, *why);
      if (retention_.events_stored() == before) continue;  // stored before (the same run id)
      fresh.insert(e.run_id);
      if (e.state == cronitor::RunState::kFail) failed.insert(e.run_id);
    }
    end_transaction();
  }
  spdlog::info(
      "journal: {} run(s) of the time the agent was not running recovered ({} timer run(s) and {} cron "
      "event(s) read), {} failed; {} recorded before under another id",
      fresh.size(), timer_runs, cron_events, failed.size(), twins);
}

}  // namespace cronitor::agent
