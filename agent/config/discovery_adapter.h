// The one place that knows discovery's Job struct: turns discovered jobs into DiscoveredJob.
#pragma once

#include <string>
#include <vector>

#include "agent/config/monitor_set.h"
#include "discovery/fs_root.h"
#include "discovery/job.h"

namespace cronitor::agent {

/// Jobs worth monitoring (not disabled, not a twin, no reason to skip), with the settings of a
/// `# cronitor: ...` comment on the line above (read through `root`). Bad comments are reported
/// in `warnings` with file:line and ignored.
std::vector<DiscoveredJob> discovered_jobs(const std::vector<const discovery::Job*>& jobs,
                                           const discovery::FsRoot& root, std::vector<std::string>& warnings);

/// One job (no comment lookup). Timer settings that are not time spans go to `warnings` if given.
DiscoveredJob to_discovered(const discovery::Job& job, std::vector<std::string>* warnings = nullptr);

/// Discovery's change lists hold jobs or pointers to them; either reads the same here.
inline const discovery::Job& job_ref(const discovery::Job& j) { return j; }
inline const discovery::Job& job_ref(const discovery::Job* j) { return *j; }

/// True when the job should get a monitor.
bool monitorable(const discovery::Job& job);

}  // namespace cronitor::agent
