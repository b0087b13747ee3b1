// Which discovered crontab lines auto_wrap may rewrite, and how the runs of the others reach
// the agent: the wrapper must be root's alone (discovery/wrapper_path.h), and files a package
// owns are left to the package (their jobs are observed from cron's log instead).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/config/config.h"
#include "agent/config/monitor_set.h"
#include "discovery/fs_root.h"
#include "discovery/job.h"
#include "discovery/package_files.h"

namespace cronitor::agent {

inline constexpr std::string_view kReportedByWrapper = "wrapper";
inline constexpr std::string_view kReportedByCronLog = "cron log";
/// The kernel's process events (agent/sources/proc_job_matcher.h): set only while that source is live.
inline constexpr std::string_view kReportedByProcessEvents = "process events";

struct WrapPolicy {
  /// Why no line is wrapped (the wrapper path fails its check, or auto_wrap is off); nullopt: wrapping is on.
  std::optional<std::string> refused;
  discovery::PackageFiles packages;
  bool wrap_package_files = false;

  /// Checks the config's wrapper path under `root` and reads dpkg's file lists.
  static WrapPolicy load(const Config& config, const discovery::DiskRoot& root);
  /// The package that keeps `file` from being wrapped, if any.
  std::optional<std::string> package_of(const std::string& file) const;
  /// Sets `wrappable` (auto_wrap will wrap it) and `reported_by` on each job.
  void apply(std::vector<DiscoveredJob>& jobs) const;
};

/// Whether auto_wrap may rewrite `job`: a line of a user's own crontab only when it is the
/// monitor of its key (`monitor_file`: the file of the monitor that holds the key now, nullptr
/// when none). A user's line refused for its key (root's, agent.yaml's, another user's) or past
/// discovery.max_monitors_per_user reports nothing: wrapped, it would report runs the agent
/// refuses, or more monitors than root allows. Root's files are wrapped as they are.
bool may_auto_wrap(const discovery::Job& job, const std::string* monitor_file);

}  // namespace cronitor::agent
