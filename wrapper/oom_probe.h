// Tells whether the kernel's OOM killer struck during a run, from the job's memory cgroup
// counter (v1 memory.oom_control or v2 memory.events "oom_kill"), else /proc/vmstat.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace cronitor::wrapper {

/// A snapshot source for OOM kill counts covering the wrapper's (hence the job's) cgroup.
class OomProbe {
 public:
  /// Locates the counter from /proc/self/cgroup. `cgroup_root` is /sys/fs/cgroup except in tests.
  static OomProbe locate(const std::string& cgroup_root = "/sys/fs/cgroup");

  /// The current count of OOM kills, or nothing when no counter can be read.
  std::optional<uint64_t> kills() const;

  /// The count read by locate(): the "before" value, without reading the file a second time.
  std::optional<uint64_t> kills_at_locate() const { return kills_at_locate_; }

  /// Peak memory of the cgroup (v1 memory.max_usage_in_bytes, v2 memory.peak), if any.
  std::optional<int64_t> cgroup_peak_bytes() const;

  /// True when the counter is the job's cgroup's (not the whole system's).
  bool cgroup_scoped() const { return kind_ != Kind::kVmstat; }

  /// The file the counter comes from (for messages and tests).
  const std::string& counter_file() const { return counter_file_; }

 private:
  enum class Kind { kV1, kV2, kVmstat };
  Kind kind_ = Kind::kVmstat;
  std::string dir_;
  std::string counter_file_ = "/proc/vmstat";
  std::optional<uint64_t> kills_at_locate_;
};

}  // namespace cronitor::wrapper
