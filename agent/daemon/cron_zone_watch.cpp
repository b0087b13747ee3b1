// The zone cron runs jobs in (agent/eval/cron_zone.h): the root's /etc/localtime and
// /etc/timezone are watched on the loop (zone_watch_, agent/sources/settled_folder_watch.h);
// cron's process start is read from /proc. While cron still runs in the zone it started with,
// crontab jobs are evaluated in that zone.
#include <spdlog/spdlog.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include <string>

#include "agent/daemon/daemon.h"
#include "agent/eval/cron_zone.h"
#include "agent/sources/host_facts.h"
#include "agent/sources/settled_folder_watch.h"
#include "discovery/scanner.h"

namespace cronitor::agent {
namespace {

constexpr uint64_t kZoneSettleUsec = 200000;  // timedatectl and dpkg-reconfigure write two files

std::optional<Instant> changed_at(const std::string& real_path) {
  struct stat st {};
  if (::lstat(real_path.c_str(), &st) != 0) return std::nullopt;  // a replaced symlink: its own time
  return Instant{} + std::chrono::seconds(st.st_mtim.tv_sec) +
         std::chrono::duration_cast<Instant::duration>(std::chrono::nanoseconds(st.st_mtim.tv_nsec));
}

}  // namespace

void Daemon::watch_zone() {
  if (!root_ || !config_.discovery.crontabs) return;
  SettledFolderWatch::Options o;
  o.folder = root_->real_path("/etc");
  o.names = {"localtime", "timezone"};
  o.events = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE;
  o.settle_usec = kZoneSettleUsec;
  o.act = [this] {
    commit_pending();
    check_cron_zone(now());
  };
  auto w = SettledFolderWatch::create(ev_, std::move(o));
  if (!w) {
    spdlog::info("not watching \"{}\" for time zone changes ({})", root_->real_path("/etc"), w.error().message);
    return;
  }
  zone_watch_ = std::move(*w);
}

void Daemon::check_cron_zone(Instant t) {
  if (!root_ || !config_.discovery.crontabs) return;
  CronZoneObservation obs;
  obs.now = t;
  obs.host = host_;
  obs.host_zone = discovery::read_host_zone(*root_);
  for (const char* f : {"/etc/localtime", "/etc/timezone"})
    if (auto c = changed_at(root_->real_path(f)); c && (!obs.zone_changed_at || *c > *obs.zone_changed_at))
      obs.zone_changed_at = c;
  obs.cron_pid = cron_watch_.pid();
  if (auto stat = read_proc_stat(cron_watch_.pid())) {
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
  if (!scanner_) return;
  const std::string& zone = cron_jobs_zone(now_state);
  if (!scanner_->set_host_zone(zone.empty() ? std::nullopt : std::optional<std::string>(zone))) return;
  spdlog::info("crontab jobs are evaluated in {} (the zone cron runs them in)", zone);
  auto changes = scanner_->scan();
  if (!changes.empty()) apply_discovery(changes, t);
}

}  // namespace cronitor::agent
