// The daemon's watches on what lives outside it: the cron daemon (a pidfd: its exit is seen at
// once, with no polling while it runs) and the config file (a write reloads it, as SIGHUP does).
#include <spdlog/spdlog.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "agent/daemon/daemon.h"
#include "agent/daemon/inotify_names.h"
#include "agent/sources/cron_check.h"
#include "common/file_state.h"

namespace cronitor::agent {
namespace {

constexpr uint64_t kCronCheckUpUsec = 60ull * 1000000;      // cron up but no pidfd of it
constexpr uint64_t kCronCheckDownUsec = 5ull * 1000000;     // while it is down: its return
constexpr uint64_t kCronGoneConfirmUsec = 10ull * 1000000;  // a restart of cron is no outage
constexpr uint64_t kConfigSettleUsec = 200000;              // writes of the config settle this long

}  // namespace

Actions Daemon::observe_cron_daemon(Instant t) {
  if (shutting_down_) return {};  // the shutdown stops cron: no outage of its own
  bool cron_jobs = false;
  if (config_.discovery.crontabs)
    for (const auto& m : monitors_) cron_jobs |= m.from_cron;
  if (!cron_jobs) {
    sd_event_source_set_enabled(cron_timer_src_, SD_EVENT_OFF);
    cron_exit_src_ = sd_event_source_disable_unref(cron_exit_src_);
    cron_pid_ = 0;
    if (proc_watch_) proc_watch_->set_cron(0);
    return {};
  }
  pid_t pid = 0;
  CronObservation obs = observe_cron(config_.discovery.root, t, host_, &pid);
  if (proc_watch_) proc_watch_->set_cron(pid);  // the root of the trees whose runs it follows
  for (size_t i = 0; i < monitors_.size(); ++i)
    obs.cron_jobs += monitors_[i].counts_as_cron_work() && !monitors_[i].paused && !states_[i].removed;
  if (cron_gone_ != 0) obs.gone_since = cron_gone_at_;
  if (cron_gone_ != 0 && obs.running) spdlog::info("the cron daemon runs again, as pid {}", pid);
  cron_gone_ = 0;
  // Its exit wakes us at once (a pidfd); a timer looks again only while cron is down (for its
  // return) or when no pidfd could be had.
  if (pid != cron_pid_ || !cron_exit_src_) {
    cron_exit_src_ = sd_event_source_disable_unref(cron_exit_src_);
    cron_pid_ = pid;
    int fd = pid > 0 ? static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)) : -1;
    if (fd >= 0 && ev_ && sd_event_add_io(ev_, &cron_exit_src_, fd, EPOLLIN, on_cron_exit_cb, this) >= 0)
      sd_event_source_set_io_fd_own(cron_exit_src_, 1);
    else if (fd >= 0)
      ::close(fd);
  }
  // Idle means no wakeups: while the pidfd watches cron, no timer runs.
  if (cron_timer_src_ && !(obs.running && cron_exit_src_)) {
    const uint64_t every = obs.running ? kCronCheckUpUsec : kCronCheckDownUsec;
    sd_event_source_set_time(cron_timer_src_, mono_usec() + every);
    sd_event_source_set_enabled(cron_timer_src_, SD_EVENT_ONESHOT);
  } else if (cron_timer_src_) {
    sd_event_source_set_enabled(cron_timer_src_, SD_EVENT_OFF);
  }
  return evaluate_cron(host_state_, obs);
}

void Daemon::check_cron_daemon() {
  commit_pending();
  const Instant t = now();
  auto actions = observe_cron_daemon(t);
  check_cron_zone(t);  // a cron that (re)started read the host's zone anew
  if (actions.empty()) return;
  if (!store_.begin()) return;
  host_dirty_ = true;
  record_actions(actions, nullptr, t);
  if (!flush_dirty() || !store_.commit()) store_.rollback();
  pump_outbox();
  notify_status();
}

int Daemon::on_cron_timer_cb(sd_event_source*, uint64_t, void* ud) {
  static_cast<Daemon*>(ud)->check_cron_daemon();
  return 0;
}

// cron exited: seen at once, judged a little later, so that a restart (stop, then start) does
// not open an incident. A cron job due meanwhile looks at once (on_deadline).
int Daemon::on_cron_exit_cb(sd_event_source*, int, uint32_t, void* ud) {
  auto* d = static_cast<Daemon*>(ud);
  d->cron_exit_src_ = sd_event_source_disable_unref(d->cron_exit_src_);  // closes the pidfd
  spdlog::info("the cron daemon (pid {}) exited; looking again in {} s", d->cron_pid_, kCronGoneConfirmUsec / 1000000);
  d->cron_gone_ = d->cron_pid_;
  d->cron_gone_at_ = d->now();
  d->cron_pid_ = 0;
  sd_event_source_set_time(d->cron_timer_src_, d->mono_usec() + kCronGoneConfirmUsec);
  sd_event_source_set_enabled(d->cron_timer_src_, SD_EVENT_ONESHOT);
  return 0;
}

// The config's folder is watched (editors replace the file by renaming a new one over it): a
// finished write of the file or a rename onto it reloads it 200 ms later, once, as SIGHUP would.
void Daemon::watch_config() {
  const std::filesystem::path path(options_.config_path);
  config_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  const std::string folder = path.has_parent_path() ? path.parent_path().string() : ".";
  if (config_fd_ < 0 ||
      ::inotify_add_watch(config_fd_, folder.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO | IN_ONLYDIR) < 0) {
    if (config_fd_ >= 0) ::close(config_fd_);
    config_fd_ = -1;
    spdlog::info("not watching \"{}\" for changes ({}); reload with SIGHUP", path.string(), std::strerror(errno));
    return;
  }
  sd_event_add_io(ev_, &config_src_, config_fd_, EPOLLIN, on_config_cb, this);
  sd_event_add_time(ev_, &config_settle_src_, CLOCK_MONOTONIC, UINT64_MAX, 10000, on_config_settle_cb, this);
  sd_event_source_set_enabled(config_settle_src_, SD_EVENT_OFF);
  // Written between the start's read and this watch: no event will tell, so reload as if one had.
  struct stat now {};
  if (config_stat_ && (::stat(path.c_str(), &now) != 0 || !unchanged(*config_stat_, now))) {
    sd_event_source_set_time(config_settle_src_, mono_usec() + kConfigSettleUsec);
    sd_event_source_set_enabled(config_settle_src_, SD_EVENT_ONESHOT);
  }
}

int Daemon::on_config_cb(sd_event_source*, int fd, uint32_t, void* ud) {
  auto* d = static_cast<Daemon*>(ud);
  const std::string name = std::filesystem::path(d->options_.config_path).filename().string();
  const bool ours = drain_inotify(fd, [&](std::string_view file) { return file == name; });
  if (ours) {
    sd_event_source_set_time(d->config_settle_src_, d->mono_usec() + kConfigSettleUsec);
    sd_event_source_set_enabled(d->config_settle_src_, SD_EVENT_ONESHOT);
  }
  return 0;
}

int Daemon::on_config_settle_cb(sd_event_source*, uint64_t, void* ud) {
  auto* d = static_cast<Daemon*>(ud);
  spdlog::info("\"{}\" changed: reloading", d->options_.config_path);
  d->reload();
  d->drain_spool();
  return 0;
}

}  // namespace cronitor::agent
