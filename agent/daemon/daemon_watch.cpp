// The daemon's watches on what lives outside it: the cron daemon (cron_watch_, a pidfd: its exit
// is seen at once, with no polling while it runs; agent/sources/cron_daemon_watch.h) and the config
// file (a write reloads it, as SIGHUP does; agent/sources/settled_folder_watch.h).
#include <spdlog/spdlog.h>
#include <sys/inotify.h>

#include <filesystem>

#include "agent/daemon/daemon.h"
#include "agent/sources/cron_check.h"
#include "agent/sources/settled_folder_watch.h"
#include "common/file_state.h"

namespace cronitor::agent {
namespace {

constexpr uint64_t kConfigSettleUsec = 200000;  // writes of the config settle this long

}  // namespace

Actions Daemon::observe_cron_daemon(Instant t) {
  if (quiet_.shutting_down()) return {};  // the shutdown stops cron: no outage of its own
  bool cron_jobs = false;
  if (config_.discovery.crontabs)
    for (const auto& m : monitors_) cron_jobs |= m.from_cron;
  if (!cron_jobs) {
    cron_watch_.stop();
    if (proc_watch_) proc_watch_->set_cron(0);
    return {};
  }
  pid_t pid = 0;
  CronObservation obs = observe_cron(config_.discovery.root, t, host_, &pid);
  if (proc_watch_) proc_watch_->set_cron(pid);  // the root of the trees whose runs it follows
  for (size_t i = 0; i < monitors_.size(); ++i)
    obs.cron_jobs +=
        monitors_.config(i).counts_as_cron_work() && !monitors_.config(i).paused && !monitors_.state(i).removed;
  if (auto since = cron_watch_.observed(pid, obs.running)) obs.gone_since = *since;
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

// The config's folder is watched (editors replace the file by renaming a new one over it): a
// finished write of the file or a rename onto it reloads it 200 ms later, once, as SIGHUP would.
void Daemon::watch_config() {
  const std::filesystem::path path(options_.config_path);
  SettledFolderWatch::Options o;
  o.folder = path.has_parent_path() ? path.parent_path().string() : ".";
  o.names = {path.filename().string()};
  o.events = IN_CLOSE_WRITE | IN_MOVED_TO;
  o.settle_usec = kConfigSettleUsec;
  o.act = [this] {
    spdlog::info("\"{}\" changed: reloading", options_.config_path);
    reload();
    drain_spool();
  };
  auto w = SettledFolderWatch::create(ev_, std::move(o));
  if (!w) {
    spdlog::info("not watching \"{}\" for changes ({}); reload with SIGHUP", path.string(), w.error().message);
    return;
  }
  config_watch_ = std::move(*w);
  // Written between the start's read and this watch: no event will tell, so reload as if one had.
  struct stat now {};
  if (config_stat_ && (::stat(path.c_str(), &now) != 0 || !unchanged(*config_stat_, now))) config_watch_->act_soon();
}

}  // namespace cronitor::agent
