// JobDiscovery: the jobs the daemon finds under discovery.root, kept up to date while it runs. It
// owns the root, the scanner and its inventory, the jobs the config monitors (discovered_jobs),
// the auto_wrap policy with the refusals it said once, the inotify watcher with its settle timer
// (a burst of writes is one rescan, counted for /metrics) and the watch on the root's zone files
// (/etc/localtime, /etc/timezone: crontab jobs run in the zone cron runs in). What a change
// means (monitors added, changed, removed), who may claim a key and which lines may be wrapped
// are the daemon's, through its hooks: the part holds no reference to the daemon.
#pragma once

#include <systemd/sd-event.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "agent/config/config.h"
#include "agent/config/monitor_set.h"
#include "agent/config/wrap_policy.h"
#include "common/event_source.h"
#include "discovery/fs_root.h"
#include "discovery/scanner.h"

namespace cronitor::discovery {
class Watcher;
}  // namespace cronitor::discovery

namespace cronitor::agent {

class SettledFolderWatch;

class JobDiscovery {
 public:
  struct Hooks {
    /// Takes out of `jobs` the users' lines that may not define their key, and returns them.
    std::function<std::vector<RefusedJob>(std::vector<DiscoveredJob>&)> refuse_claims;
    /// Whether auto_wrap may rewrite this line (may_auto_wrap against the key's monitor).
    std::function<bool(const discovery::Job&)> may_wrap;
    /// A burst of writes settled and the rescan found these changes (never empty).
    std::function<void(const discovery::Changes&)> changed;
    /// The root's zone files were written (settled).
    std::function<void()> zone_files_changed;
  };

  explicit JobDiscovery(Hooks hooks);
  ~JobDiscovery();
  JobDiscovery(const JobDiscovery&) = delete;
  JobDiscovery& operator=(const JobDiscovery&) = delete;

  /// Reads the jobs under config.discovery.root when crontabs or systemd are discovered (else
  /// the part stays off); the scan's warnings are logged.
  void start(const Config& config);
  /// Crontabs or systemd are discovered: root(), scanner() and the watches exist.
  bool on() const { return scanner_ != nullptr; }
  const discovery::DiskRoot* root() const { return root_.get(); }
  const discovery::Scanner* scanner() const { return scanner_.get(); }
  /// Reads every source again (after auto_wrap rewrote lines: the inventory holds them wrapped).
  discovery::Changes scan();

  /// The jobs of the scanner's inventory that `config` discovers, claims refused, the wrap
  /// policy loaded afresh and applied; kept as jobs(), returned for the caller to mark
  /// (the process events' jobs). Empty when off.
  std::vector<DiscoveredJob>& rediscover(const Config& config, std::vector<std::string>& warnings);
  const std::vector<DiscoveredJob>& jobs() const { return discovered_; }
  /// The added and changed jobs of `changes`, less the claims refused (judged against every
  /// job found), with the wrap policy loaded afresh (a package may have brought the file).
  std::vector<DiscoveredJob> jobs_of(const discovery::Changes& changes, const Config& config,
                                     std::vector<std::string>& warnings);
  const WrapPolicy& wrap_policy() const { return wrap_policy_; }

  /// auto_wrap: rewrites the crontab lines of `files` so that they report their runs. A refused
  /// policy and package files left alone are each said once.
  void auto_wrap(const Config& config, const std::vector<std::string>& files);
  /// Crontab jobs run in `zone` (cron's; empty: the host's): true, said, and the jobs read again
  /// when it differs from the zone they were read in. Empty changes when off or unchanged.
  discovery::Changes follow_zone(const std::string& zone);

  /// The inotify watcher of the sources' folders on `ev` (said when it cannot: read at start and
  /// on SIGHUP only). Off: nothing.
  void watch(sd_event* ev);
  /// The root's /etc zone files on `ev`, when crontabs are discovered.
  void watch_zone(sd_event* ev, const Config& config);
  /// A write was seen and its rescan is still to run.
  bool settling() const;
  /// Settled bursts that changed jobs (`inotify_rescans` on /metrics).
  uint64_t rescans() const { return rescans_; }

 private:
  void arm_settle();
  static int on_watch_cb(sd_event_source*, int, uint32_t, void*);
  static int on_settle_cb(sd_event_source*, uint64_t, void*);

  Hooks hooks_;
  // The scanner reads under the root, the watcher watches for the scanner: declared in that order.
  std::unique_ptr<discovery::DiskRoot> root_;
  std::unique_ptr<discovery::Scanner> scanner_;
  std::unique_ptr<discovery::Watcher> watcher_;
  std::vector<DiscoveredJob> discovered_;  // the jobs the config discovers, as the last rebuild found them
  WrapPolicy wrap_policy_;
  std::set<std::string> wrap_said_;  // auto_wrap refusals already logged (said once)
  uint64_t rescans_ = 0;
  // Declared after the watcher whose fd they watch: released first.
  EventSource watch_src_;
  EventSource settle_src_;
  std::unique_ptr<SettledFolderWatch> zone_watch_;  // the root's /etc: the zone files
};

}  // namespace cronitor::agent
