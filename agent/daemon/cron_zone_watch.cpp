// The zone cron runs jobs in (agent/eval/cron_zone.h): the root's /etc/localtime and
// /etc/timezone are watched on the loop (discovery_, agent/sources/job_discovery.h);
// cron's process start is read from /proc. While cron still runs in the zone it started with,
// crontab jobs are evaluated in that zone.
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <string>

#include "agent/daemon/daemon.h"
#include "agent/eval/cron_zone.h"
#include "agent/sources/host_facts.h"
#include "discovery/scanner.h"

namespace cronitor::agent {
namespace {

std::optional<Instant> changed_at(const std::string& real_path) {
  struct stat st {};
  if (::lstat(real_path.c_str(), &st) != 0) return std::nullopt;  // a replaced symlink: its own time
  return Instant{} + std::chrono::seconds(st.st_mtim.tv_sec) +
         std::chrono::duration_cast<Instant::duration>(std::chrono::nanoseconds(st.st_mtim.tv_nsec));
}

}  // namespace

void Daemon::check_cron_zone(Instant t) {
  const discovery::DiskRoot* root = discovery_.root();
  if (!root || !config_.discovery.crontabs) return;
  CronZoneObservation obs;
  obs.now = t;
  obs.host = host_;
  obs.host_zone = discovery::read_host_zone(*root);
  for (const char* f : {"/etc/localtime", "/etc/timezone"})
    if (auto c = changed_at(root->real_path(f)); c && (!obs.zone_changed_at || *c > *obs.zone_changed_at))
      obs.zone_changed_at = c;
  obs.cron_pid = cron_watch().pid();
  if (auto stat = read_proc_stat(cron_watch().pid())) {
    obs.cron_start = stat->start_ticks;
    obs.cron_started_at = process_started_at(*stat);
  }
  const CronZoneState before = host_record_.state().cron_zone;
  Actions actions = observe_cron_zone(host_record_.state().cron_zone, obs);
  for (const auto& a : actions) {
    if (a.type == Action::Type::kOpen)
      spdlog::warn("{}", a.alert.summary);
    else
      spdlog::info("{}", a.alert.summary);
  }
  const CronZoneState& now_state = host_record_.state().cron_zone;
  const bool changed = !actions.empty() || before.zone != now_state.zone || before.host_zone != now_state.host_zone ||
                       before.cron_pid != now_state.cron_pid || before.cron_start != now_state.cron_start;
  if (changed && store_.begin()) {
    host_record_.changed();
    record_actions(actions, nullptr, t);
    if (!flush_dirty() || !store_.commit()) store_.rollback();
    pump_outbox();
  }
  // Crontab jobs follow cron's zone; jobs with a zone of their own (a comment, the config) keep it.
  auto changes = discovery_.follow_zone(cron_jobs_zone(now_state));
  if (!changes.empty()) apply_discovery(changes, t);
}

}  // namespace cronitor::agent
