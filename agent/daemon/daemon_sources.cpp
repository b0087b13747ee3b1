// The daemon's sources of runs and host facts (agent/sources/run_sources.h): the list they are
// registered in, once, in the order each lifecycle step reaches them (configure, attach, start,
// stop); the sink their runs come in through; and the typed lookups of the few calls the core
// makes on one source alone. A new source is one line of register_sources().
#include <spdlog/spdlog.h>

#include "agent/daemon/daemon.h"
#include "agent/sources/cron_daemon_watch.h"
#include "agent/sources/cron_log_run_source.h"
#include "agent/sources/oom_watch.h"
#include "agent/sources/proc_run_source.h"
#include "agent/sources/systemd_run_source.h"

namespace cronitor::agent {

void Daemon::register_sources() {
  sources_.add(std::make_unique<RunFollower>(static_cast<RunFollower::Handler&>(*this)));  // killed wrappers' runs
  sources_.add(std::make_unique<CronDaemonWatch>([this] { check_cron_daemon(); }, [this] { return now(); }));
  sources_.add(cron_log_source());                                     // cron's log: jobs of package files
  sources_.add(proc_source());                                         // the kernel's process events
  sources_.add(std::make_unique<OomWatch>([this] { return now(); }));  // OOM kills: which run's process died
  sources_.add(systemd_source());                                      // systemd timers over D-Bus
}

void Daemon::take_runs(std::vector<cronitor::RunEvent> events) {
  for (auto& e : events) batch_.push(Pending{std::move(e), -1});
  batch_.schedule();
}

CronLogWatch* Daemon::cron_log() const { return sources_.find<CronLogRunSource>()->watch(); }
ProcWatch* Daemon::proc_watch() const { return sources_.find<ProcRunSource>()->watch(); }
ProcWatch* Daemon::live_proc_watch() const { return sources_.find<ProcRunSource>()->live(); }
SystemdWatch* Daemon::systemd() const { return sources_.find<SystemdRunSource>()->watch(); }
SystemdWatch* Daemon::live_systemd() const { return sources_.find<SystemdRunSource>()->live(); }
OomWatch& Daemon::oom() const { return *sources_.find<OomWatch>(); }
RunFollower& Daemon::follower() const { return *sources_.find<RunFollower>(); }
CronDaemonWatch& Daemon::cron_watch() const { return *sources_.find<CronDaemonWatch>(); }

}  // namespace cronitor::agent
