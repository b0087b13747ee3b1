#include "agent/config/wrap_policy.h"

#include "discovery/wrapper_path.h"

namespace cronitor::agent {

WrapPolicy WrapPolicy::load(const Config& config, const discovery::DiskRoot& root) {
  WrapPolicy p;
  p.wrap_package_files = config.discovery.wrap_package_files;
  if (!config.discovery.auto_wrap) {
    p.refused = "auto_wrap is off";
  } else if (auto ok = discovery::check_wrapper_path(root, config.discovery.wrapper_path); !ok) {
    p.refused = "wrapper_path " + config.discovery.wrapper_path + ": " + ok.error().message;
  }
  if (!p.wrap_package_files) p.packages = discovery::PackageFiles::load(root);
  return p;
}

std::optional<std::string> WrapPolicy::package_of(const std::string& file) const {
  if (wrap_package_files) return std::nullopt;
  return packages.owner(file);
}

void WrapPolicy::apply(std::vector<DiscoveredJob>& jobs) const {
  for (DiscoveredJob& j : jobs) {
    if (j.wrapped) {
      j.reported_by = kReportedByWrapper;
      continue;
    }
    if (!j.wrappable) continue;
    if (package_of(j.file)) {
      j.wrappable = false;
      j.reported_by = kReportedByCronLog;
    } else if (refused) {
      j.wrappable = false;
    } else {
      j.reported_by = kReportedByWrapper;  // auto_wrap wraps it now
    }
  }
}

bool may_auto_wrap(const discovery::Job& job, const std::string* monitor_file) {
  if (job.origin != discovery::JobOrigin::kUserCrontab || job.user == "root") return true;
  return monitor_file != nullptr && *monitor_file == job.file;
}

}  // namespace cronitor::agent
