// The daemon and discovery: jobs added, changed and removed while it runs (or while it was
// stopped), and auto_wrap.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "agent/config/discovery_adapter.h"
#include "agent/daemon/daemon.h"
#include "agent/eval/key_owners.h"
#include "agent/eval/user_limits.h"
#include "agent/sources/cron_log_run_source.h"
#include "agent/sources/cron_log_watch.h"
#include "agent/sources/cron_logging.h"
#include "agent/sources/journal_backfill.h"
#include "agent/sources/live_timer_job.h"
#include "discovery/fs_root.h"
#include "discovery/scanner.h"

namespace cronitor::agent {

void Daemon::apply_discovery(const discovery::Changes& ch, Instant t) {
  std::vector<std::string> warnings;
  if (!store_.begin()) return;
  // An unwrapped line edited in place (package files: their keys are derived from schedule and
  // command): the same monitor under its new key, with its state, runs and incidents.
  std::set<std::string> edited;  // new keys of lines edited in place: unwrapped before and after
  for (const auto& [old_key, jp] : ch.rekeyed) {
    edited.insert(jp->key);
    auto it = monitors_.find(old_key);
    if (!it || !monitors_.rekey(*it, jp->key)) continue;
    const uint32_t i = *it;
    if (auto r = store_.rekey_job(old_key, jp->key); !r) spdlog::error("state.db: {}", r.error().message);
    if (CronLogWatch* log = cron_log()) log->forget_job(old_key);
    spdlog::info("discovery: {} in {} line {} was edited: it is {} now (was {}), with its state and runs",
                 monitors_.config(i).name, jp->file, jp->line, jp->key, old_key);
  }
  for (const auto& jr : ch.removed) {
    const discovery::Job& j = job_ref(jr);
    auto it = monitors_.find(j.key);
    if (!it) continue;
    // A user's line that was refused (root's key, or another's) takes nothing with it when it goes.
    if (j.origin == discovery::JobOrigin::kUserCrontab && j.user != "root" &&
        monitors_.config(*it).source_file != j.file)
      continue;
    bool by_unwrap = false;
    if (j.wrapped)
      for (const auto& ar : ch.added) {
        const discovery::Job& a = job_ref(ar);
        if (a.file == j.file && a.line == j.line && !a.wrapped) by_unwrap = true;
      }
    // The line as people see it: a user crontab's as `crontab -l` lists it.
    const RemovedInput removed{t, j.file, j.line - j.header_lines, by_unwrap};
    auto actions = evaluate(monitors_.config(*it), monitors_.state(*it), removed, host_record_.state());
    record_actions(actions, &monitors_.config(*it), t);
    monitors_.touch(*it);
  }
  // The added and changed jobs, less the claims refused, the wrap policy applied (job_discovery.h).
  auto jobs = discovery_.jobs_of(ch, config_, warnings);
  if (ProcWatch* proc = live_proc_watch()) {
    mark_process_observed(jobs, discovery_.jobs());
    std::vector<std::string> gone;
    for (const auto& [old_key, jp] : ch.rekeyed) gone.push_back(old_key);
    for (const auto& jr : ch.removed) gone.push_back(job_ref(jr).key);
    proc->update_jobs(jobs, gone);
  }
  observe_from_cron_log(jobs);
  for (auto& dj : jobs) {
    const MonitorEntry* entry = nullptr;
    for (const auto& e : config_.monitors)
      if (e.key == dj.key) entry = &e;
    auto m = resolve_monitor(config_, &dj, entry, zones_);
    if (!m) {
      warnings.push_back(m.error().message);
      continue;
    }
    if (auto it = monitors_.find(dj.key)) {
      uint32_t i = *it;
      if (owner_changed(monitors_.config(i).uid, m->uid)) {  // e.g. root defines a key a user reported first
        start_fresh(dj.key, monitors_.config(i).uid, m->uid);
        monitors_.config(i) = std::move(*m);
        monitors_.state(i) = initial_state(monitors_.config(i), t);
        monitors_.config_changed(i);
        monitors_.touch(i);
        continue;
      }
      // A known line that lost its wrapper (`unwrap`): auto_wrap leaves it so, and nothing reports
      // its runs any more. It becomes unreported (no deadline) until a run arrives, never missed.
      if (!entry && dj.wrappable && !dj.wrapped && !edited.contains(dj.key) &&
          dj.reported_by != kReportedByProcessEvents) {
        m->awaits_first_run = true;
        if (!monitors_.config(i).awaits_first_run) monitors_.state(i) = initial_state(*m, t);
      }
      // Another zone (cron restarted in the host's new one): the next slot is that zone's.
      if (m->zone.name() != monitors_.config(i).zone.name() && monitors_.state(i).expected &&
          *monitors_.state(i).expected > t)
        monitors_.state(i).expected = m->next_slot(t);
      // Another schedule: the slot waited for is the new schedule's.
      if (m->schedule_text() != monitors_.config(i).schedule_text() && monitors_.state(i).expected)
        monitors_.state(i).expected = m->schedule ? m->next_slot(t) : std::nullopt;
      monitors_.config(i) = std::move(*m);
      monitors_.config_changed(i);
      if (monitors_.state(i).removed) monitors_.state(i) = initial_state(monitors_.config(i), t);
      monitors_.touch(i);
    } else {
      if (auto prev = owners_.owner_of(dj.key); owner_changed(prev, m->uid)) start_fresh(dj.key, *prev, m->uid);
      MonitorState s = initial_state(*m, t);
      monitors_.add(std::move(*m), std::move(s));
    }
  }
  for (const auto& w : warnings) spdlog::warn("{}", w);
  end_transaction();
  rearm_deadline_timer();
  pump_outbox();
  // A job discovered under the name of a timer known only from the manager: that one yields.
  // A timer discovered anew (unmasked, say) that the manager does not run: stopped, not awaited.
  if (systemd() && (!ch.added.empty() || !ch.changed.empty())) {
    apply_live_timers();
    save_dirty();
  }
  // Lines that only moved (an edit above them) or that the agent wrapped are no news to the admin.
  const size_t changed = ch.changed.size() - std::min(ch.moved, ch.changed.size());
  if (ch.added.empty() && changed == 0 && ch.removed.empty())
    spdlog::debug("discovery: {} jobs moved to other lines or (un)wrapped", ch.moved);
  else
    spdlog::info("discovery: {} added, {} changed, {} removed", ch.added.size(), changed, ch.removed.size());
  if (!ch.added.empty() || !ch.removed.empty()) check_cron_daemon();  // the first or the last cron job
  // Jobs that appeared are wrapped; a job that lost its wrapper (unwrap) is "changed": left alone.
  std::set<std::string> files;
  for (const auto& a : ch.added) {
    const discovery::Job& j = job_ref(a);
    if (j.source == discovery::SourceKind::kCrontab && !j.wrapped && j.line > 0 && monitorable(j)) files.insert(j.file);
  }
  discovery_.auto_wrap(config_, {files.begin(), files.end()});
}

// A discovered job that was in state.db but is gone from its crontab or unit now was removed
// while the agent was not running: it alerts once, as a removal seen live does.
void Daemon::alert_removed_while_stopped(const std::vector<JobRow>& stored, Instant t) {
  if (!discovery_.on() || stored.empty()) return;
  std::set<std::string> found;  // discovered now, monitored or not (a schedule may have broken)
  for (const auto& j : discovery_.jobs()) found.insert(j.key);
  bool began = false;
  for (const auto& row : stored) {
    if (monitors_.contains(row.key) || found.contains(row.key) || row.state.removed || row.source.empty()) continue;
    auto colon = row.source.rfind(':');
    std::string file = row.source;
    int line = 0;
    if (colon != std::string::npos && colon + 1 < row.source.size() &&
        row.source.find_first_not_of("0123456789", colon + 1) == std::string::npos) {
      file = row.source.substr(0, colon);
      line = std::atoi(row.source.c_str() + colon + 1);
    }
    // Only jobs of the places discovery reads (a monitor taken out of the config is the user's doing).
    const bool unit = file.ends_with(".timer") || file.find("/systemd/") != std::string::npos;
    if (is_live_timer_source(file)) continue;  // known from the manager only: the manager tells what became of it
    const bool cron = file.starts_with("/etc/cron") || file.starts_with("/var/spool/cron/") ||
                      file == "/etc/anacrontab" || file == "/etc/crontab";
    if (file == config_.source || !(unit ? config_.discovery.systemd : cron && config_.discovery.crontabs)) continue;
    const std::string real = discovery_.root()->real_path(file);
    if (::access(real.c_str(), F_OK) == 0 && ::access(real.c_str(), R_OK) != 0) continue;  // unreadable, not gone
    if (!began && !(began = static_cast<bool>(store_.begin()))) return;
    MonitorConfig m = monitor_from_defaults(config_.defaults);
    m.key = row.key;
    m.name = row.name.empty() ? row.key : row.name;
    m.source_file = file;
    m.source_line = line;
    MonitorState s = row.state;
    auto actions = evaluate(m, s, RemovedInput{t, file, line, false}, host_record_.state());
    for (auto& a : actions) a.alert.detail += " (it was removed while the agent was not running)";
    record_actions(actions, &m, t);
    if (auto r = store_.save_job_state(row.key, s); !r) spdlog::error("{}", r.error().message);
  }
  if (began && !store_.commit()) store_.rollback();
}

JobDiscovery::Hooks Daemon::discovery_hooks() {
  JobDiscovery::Hooks h;
  h.refuse_claims = [this](std::vector<DiscoveredJob>& jobs) { return owners_.refuse_claims(jobs, config_); };
  h.may_wrap = [this](const discovery::Job& j) {
    auto it = monitors_.find(j.key);
    const bool held = it && !monitors_.state(*it).removed;
    return may_auto_wrap(j, held ? &monitors_.config(*it).source_file : nullptr);
  };
  h.changed = [this](const discovery::Changes& changes) {
    apply_discovery(changes, now());
    upstreams_.sync_monitors();  // a new or changed job appears upstream before it runs
  };
  h.zone_files_changed = [this] {
    commit_pending();
    check_cron_zone(now());
  };
  return h;
}

std::unique_ptr<CronLogRunSource> Daemon::cron_log_source() {
  return std::make_unique<CronLogRunSource>(CronLogRunSource::Hooks{
      .host_root = [this]() -> std::optional<std::string> {
        if (!discovery_.on()) return std::nullopt;
        return config_.discovery.root == "/" ? std::string() : discovery_.root()->root();
      },
      .last_seen = [this] { return host_record_.previous_run().last_seen; },
      .on_cmd =
          [this](int64_t pid, const std::string& user, const std::string& cmd, int64_t ms) {
            if (ProcWatch* proc = proc_watch(); proc && pid > 0 && pid < (int64_t{1} << 22))
              proc->cron_cmd(static_cast<pid_t>(pid), user, cmd, ms);
          },
      .opened = [this](CronLogWatch&) { observe_from_cron_log(discovery_.jobs()); },
  });
}

void Daemon::observe_from_cron_log(const std::vector<DiscoveredJob>& jobs) {
  CronLogWatch* log = cron_log();
  if (!log) return;
  if (&jobs == &discovery_.jobs()) log->clear_jobs();
  for (const auto& j : jobs)
    if (j.reported_by == kReportedByCronLog) {
      int64_t uid = j.uid;
      if (auto it = monitors_.find(j.key)) uid = monitors_.config(*it).uid;
      log->set_job(j.key, j.user, uid, j.command);
    }
}

}  // namespace cronitor::agent

namespace cronitor::agent {

// auto_wrap wraps only lines new to the agent: a line it knew and that is unwrapped now was
// unwrapped on purpose (`unwrap`), so nothing reports its runs; it waits for a first run, as
// unreported jobs do, instead of being missed at every slot.
void Daemon::mark_unwrapped(std::vector<MonitorConfig>& built) {
  std::set<std::string> known;
  for (const auto& m : monitors_) known.insert(m.key);
  if (monitors_.empty())
    if (auto rows = store_.jobs())
      for (const auto& r : *rows) known.insert(r.key);
  std::set<std::string> configured;
  for (const auto& e : config_.monitors) configured.insert(e.key);
  std::set<std::string> unwrapped;
  for (const auto& j : discovery_.jobs())
    if (j.wrappable && !j.wrapped && j.reported_by != kReportedByProcessEvents && known.contains(j.key) &&
        !configured.contains(j.key) && !owners_.owner_changed(j.key))  // another owner's line now: new to the agent
      unwrapped.insert(j.key);
  for (auto& m : built)
    if (unwrapped.contains(m.key)) m.awaits_first_run = true;
}

}  // namespace cronitor::agent
