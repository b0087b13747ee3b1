// The daemon's watch on the cron daemon (cron_watch(), a pidfd: its exit is seen at once, with no
// polling while it runs; agent/sources/cron_daemon_watch.h). The config file's own watch is
// config_file_ (agent/sources/config_file_watch.h).
#include <spdlog/spdlog.h>

#include "agent/daemon/daemon.h"
#include "agent/sources/cron_check.h"
#include "agent/sources/cron_daemon_watch.h"

namespace cronitor::agent {

Actions Daemon::observe_cron_daemon(Instant t) {
  if (quiet_.shutting_down()) return {};  // the shutdown stops cron: no outage of its own
  bool cron_jobs = false;
  if (config_.discovery.crontabs)
    for (const auto& m : monitors_) cron_jobs |= m.from_cron;
  if (!cron_jobs) {
    cron_watch().stop();
    if (ProcWatch* proc = proc_watch()) proc->set_cron(0);
    return {};
  }
  pid_t pid = 0;
  CronObservation obs = observe_cron(config_.discovery.root, t, host_, &pid);
  if (ProcWatch* proc = proc_watch()) proc->set_cron(pid);  // the root of the trees whose runs it follows
  for (size_t i = 0; i < monitors_.size(); ++i)
    obs.cron_jobs +=
        monitors_.config(i).counts_as_cron_work() && !monitors_.config(i).paused && !monitors_.state(i).removed;
  if (auto since = cron_watch().observed(pid, obs.running)) obs.gone_since = *since;
  return evaluate_cron(host_record_.state(), obs);
}

void Daemon::check_cron_daemon() {
  commit_pending();
  const Instant t = now();
  auto actions = observe_cron_daemon(t);
  check_cron_zone(t);  // a cron that (re)started read the host's zone anew
  if (actions.empty()) return;
  if (!store_.begin()) return;
  host_record_.changed();
  record_actions(actions, nullptr, t);
  if (!flush_dirty() || !store_.commit()) store_.rollback();
  pump_outbox();
  notify_status();
}

}  // namespace cronitor::agent
