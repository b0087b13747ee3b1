#include "agent/sources/job_discovery.h"

#include <spdlog/spdlog.h>
#include <sys/inotify.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "agent/config/discovery_adapter.h"
#include "agent/eval/user_limits.h"
#include "agent/sources/settled_folder_watch.h"
#include "discovery/auto_wrapper.h"
#include "discovery/watcher.h"

namespace cronitor::agent {
namespace {

constexpr uint64_t kZoneFilesSettleUsec = 200000;  // timedatectl and dpkg-reconfigure write two files

// A user's crontab is read as far as 4 times the lines the agent may monitor of it: the lines
// past the limit are listed, a flood past that is not held (issue 18).
size_t discovery_read_limit(const Config& config) {
  return crontab_read_limit({static_cast<size_t>(std::max(config.discovery.max_monitors_per_user, 0)),
                             static_cast<size_t>(std::max(config.discovery.max_user_monitors, 0))});
}

}  // namespace

JobDiscovery::JobDiscovery(Hooks hooks) : hooks_(std::move(hooks)) {}
JobDiscovery::~JobDiscovery() = default;

void JobDiscovery::start(const Config& config) {
  if (!config.discovery.crontabs && !config.discovery.systemd) return;
  root_ = std::make_unique<discovery::DiskRoot>(config.discovery.root);
  discovery::Scanner::Options scan;
  scan.limits.max_jobs_per_user_crontab = discovery_read_limit(config);
  scanner_ = std::make_unique<discovery::Scanner>(*root_, scan);
  scanner_->scan();
  for (const auto& w : scanner_->warnings()) spdlog::info("discovery: {}", w.to_string());
}

discovery::Changes JobDiscovery::scan() { return scanner_ ? scanner_->scan() : discovery::Changes{}; }

std::vector<DiscoveredJob>& JobDiscovery::rediscover(const Config& config, std::vector<std::string>& warnings) {
  discovered_.clear();
  if (!scanner_) return discovered_;
  std::vector<const discovery::Job*> jobs;
  for (const discovery::Job* j : scanner_->jobs()) {
    bool cron = j->source == discovery::SourceKind::kCrontab;
    if ((cron && config.discovery.crontabs) || (!cron && config.discovery.systemd)) jobs.push_back(j);
  }
  discovered_ = discovered_jobs(jobs, *root_, warnings);
  (void)hooks_.refuse_claims(discovered_);  // users' lines that may not define their key, or past the limits
  wrap_policy_ = WrapPolicy::load(config, *root_);
  wrap_policy_.apply(discovered_);
  return discovered_;
}

std::vector<DiscoveredJob> JobDiscovery::jobs_of(const discovery::Changes& ch, const Config& config,
                                                 std::vector<std::string>& warnings) {
  std::vector<const discovery::Job*> upd;
  for (const auto& j : ch.added) upd.push_back(&job_ref(j));
  for (const auto& j : ch.changed) upd.push_back(&job_ref(j));
  auto jobs = discovered_jobs(upd, *root_, warnings);
  // Users' lines that may not define their key, judged against every job found (not only these).
  {
    std::vector<DiscoveredJob> all;
    for (const discovery::Job* j : scanner_->jobs()) {
      const bool cron = j->source == discovery::SourceKind::kCrontab;
      if (monitorable(*j) && ((cron && config.discovery.crontabs) || (!cron && config.discovery.systemd)))
        all.push_back(to_discovered(*j));
    }
    std::set<std::string> refused;
    for (const auto& r : hooks_.refuse_claims(all)) refused.insert(r.key + "\n" + r.where);
    std::erase_if(jobs, [&](const DiscoveredJob& d) {
      return refused.contains(d.key + "\n" + (d.line > 0 ? d.file + ":" + std::to_string(d.line) : d.file));
    });
  }
  // Fresh: a package may have brought the file (or installed the wrapper) since the last look.
  wrap_policy_ = WrapPolicy::load(config, *root_);
  wrap_policy_.apply(jobs);
  return jobs;
}

void JobDiscovery::auto_wrap(const Config& config, const std::vector<std::string>& files) {
  if (!config.discovery.auto_wrap || !config.discovery.crontabs || !root_ || files.empty()) return;
  // Only an installed wrapper that only root can change goes into crontabs (never the one beside
  // a build tree's binary): otherwise the jobs stay unwrapped and unreported, said once.
  if (wrap_policy_.refused) {
    if (wrap_said_.insert(*wrap_policy_.refused).second)
      spdlog::warn("auto_wrap: not wrapping any crontab line: {}; those jobs are monitored unwrapped (unreported)",
                   *wrap_policy_.refused);
    return;
  }
  discovery::WrapOptions o;
  o.exec_path = config.discovery.wrapper_path;
  o.wrap_package_files = config.discovery.wrap_package_files;
  o.backup_dir = config.state_dir + "/backups";
  o.files = files;
  o.max_jobs_per_user_crontab = discovery_read_limit(config);
  o.may_wrap = hooks_.may_wrap;
  std::error_code ec;
  std::filesystem::create_directories(o.backup_dir, ec);
  std::filesystem::permissions(o.backup_dir, std::filesystem::perms::owner_all, ec);
  discovery::migrate_backups(config.state_dir + "/crontab-backups", o.backup_dir);
  auto report = discovery::run_wrap(*root_, o);
  for (const auto& w : report.warnings) spdlog::warn("auto_wrap: {}", w.to_string());
  for (const auto& [path, package] : report.package_files)
    if (wrap_said_.insert(path).second)
      spdlog::info(
          "auto_wrap: {} belongs to package {}: not rewritten (wrap_package_files: false); its jobs are observed "
          "from cron's log",
          path, package);
  if (report.lines > 0)
    spdlog::info("auto_wrap: {} job lines now run through {} ({} files)", report.lines, o.exec_path,
                 report.written.size());
}

discovery::Changes JobDiscovery::follow_zone(const std::string& zone) {
  if (!scanner_) return {};
  if (!scanner_->set_host_zone(zone.empty() ? std::nullopt : std::optional<std::string>(zone))) return {};
  spdlog::info("crontab jobs are evaluated in {} (the zone cron runs them in)", zone);
  return scanner_->scan();
}

void JobDiscovery::watch(sd_event* ev) {
  if (!scanner_) return;
  discovery::Watcher::Options wo;
  wo.log = [](std::string_view m) { spdlog::warn("discovery: {}", m); };
  auto w = discovery::Watcher::create(*scanner_, *root_, wo);
  if (!w) {
    spdlog::warn("discovery watcher: {}; jobs are read at start and on SIGHUP only", w.error().message);
    return;
  }
  watcher_ = std::move(*w);
  sd_event_source* s = nullptr;
  sd_event_add_io(ev, &s, watcher_->fd(), EPOLLIN, on_watch_cb, this);
  watch_src_.reset(s);
  s = nullptr;
  sd_event_add_time(ev, &s, CLOCK_MONOTONIC, UINT64_MAX, 10000, on_settle_cb, this);
  settle_src_.reset(s);
  sd_event_source_set_enabled(settle_src_.get(), SD_EVENT_OFF);
}

// The zone cron runs jobs in (agent/eval/cron_zone.h) follows the root's /etc/localtime and
// /etc/timezone: a settled write of either is the daemon's to judge.
void JobDiscovery::watch_zone(sd_event* ev, const Config& config) {
  if (!root_ || !config.discovery.crontabs) return;
  SettledFolderWatch::Options o;
  o.folder = root_->real_path("/etc");
  o.names = {"localtime", "timezone"};
  o.events = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE;
  o.settle_usec = kZoneFilesSettleUsec;
  o.act = [this] { hooks_.zone_files_changed(); };
  auto w = SettledFolderWatch::create(ev, std::move(o));
  if (!w) {
    spdlog::info("not watching \"{}\" for time zone changes ({})", root_->real_path("/etc"), w.error().message);
    return;
  }
  zone_watch_ = std::move(*w);
}

bool JobDiscovery::settling() const {
  int on = SD_EVENT_OFF;
  return settle_src_ && sd_event_source_get_enabled(settle_src_.get(), &on) >= 0 && on != SD_EVENT_OFF;
}

// The watcher's settle deadline (steady clock, the loop's CLOCK_MONOTONIC) as the timer's time.
void JobDiscovery::arm_settle() {
  if (auto when = watcher_->settle_deadline()) {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(*when).count();
    sd_event_source_set_time(settle_src_.get(), static_cast<uint64_t>(std::max<int64_t>(us, 1)));
    sd_event_source_set_enabled(settle_src_.get(), SD_EVENT_ONESHOT);
  }
}

int JobDiscovery::on_watch_cb(sd_event_source*, int, uint32_t, void* ud) {
  auto* d = static_cast<JobDiscovery*>(ud);
  d->watcher_->on_readable();
  d->arm_settle();
  return 0;
}

int JobDiscovery::on_settle_cb(sd_event_source*, uint64_t, void* ud) {
  auto* d = static_cast<JobDiscovery*>(ud);
  auto changes = d->watcher_->poll(discovery::Watcher::Clock::now().time_since_epoch());
  if (!changes.empty()) {
    d->hooks_.changed(changes);
    ++d->rescans_;
  }
  d->arm_settle();
  return 0;
}

}  // namespace cronitor::agent
