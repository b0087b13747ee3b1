// The zone cron runs jobs in (agent/eval/cron_zone.h): the root's /etc/localtime and
// /etc/timezone are watched on the loop; cron's process start is read from /proc. While cron
// still runs in the zone it started with, crontab jobs are evaluated in that zone.
#include <spdlog/spdlog.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "agent/daemon/daemon.h"
#include "agent/daemon/inotify_names.h"
#include "agent/eval/cron_zone.h"
#include "agent/sources/host_facts.h"
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
  const std::string etc = root_->real_path("/etc");
  zone_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (zone_fd_ < 0 || ::inotify_add_watch(zone_fd_, etc.c_str(),
                                          IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_ONLYDIR) < 0) {
    spdlog::info("not watching \"{}\" for time zone changes ({})", etc, std::strerror(errno));
    if (zone_fd_ >= 0) ::close(zone_fd_);
    zone_fd_ = -1;
    return;
  }
  sd_event_add_io(ev_, &zone_src_, zone_fd_, EPOLLIN, on_zone_cb, this);
  sd_event_add_time(ev_, &zone_settle_src_, CLOCK_MONOTONIC, UINT64_MAX, 10000, on_zone_settle_cb, this);
  sd_event_source_set_enabled(zone_settle_src_, SD_EVENT_OFF);
}

int Daemon::on_zone_cb(sd_event_source*, int fd, uint32_t, void* ud) {
  auto* d = static_cast<Daemon*>(ud);
  const bool ours = drain_inotify(fd, [](std::string_view name) { return name == "localtime" || name == "timezone"; });
  if (ours) {
    sd_event_source_set_time(d->zone_settle_src_, d->mono_usec() + kZoneSettleUsec);
    sd_event_source_set_enabled(d->zone_settle_src_, SD_EVENT_ONESHOT);
  }
  return 0;
}

int Daemon::on_zone_settle_cb(sd_event_source*, uint64_t, void* ud) {
  auto* d = static_cast<Daemon*>(ud);
  d->commit_pending();
  d->check_cron_zone(d->now());
  return 0;
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
  obs.cron_pid = cron_pid_;
  if (auto stat = read_proc_stat(cron_pid_)) {
    obs.cron_start = stat->start_ticks;
    obs.cron_started_at = process_started_at(*stat);
  }
  const CronZoneState before = host_state_.cron_zone;
  Actions actions = observe_cron_zone(host_state_.cron_zone, obs);
  for (const auto& a : actions) {
    if (a.type == Action::Type::kOpen)
      spdlog::warn("{}", a.alert.summary);
    else
      spdlog::info("{}", a.alert.summary);
  }
  const CronZoneState& now_state = host_state_.cron_zone;
  const bool changed = !actions.empty() || before.zone != now_state.zone || before.host_zone != now_state.host_zone ||
                       before.cron_pid != now_state.cron_pid || before.cron_start != now_state.cron_start;
  if (changed && store_.begin()) {
    host_dirty_ = true;
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
