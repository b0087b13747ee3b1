// A source of job definitions (crontabs, run-parts folders, systemd units; later the live
// systemd manager over D-Bus). The Scanner asks each source what a changed path means to it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "discovery/fs_root.h"
#include "discovery/job.h"
#include "discovery/warning.h"

namespace cronitor::discovery {

/// What the sources share during one scan.
struct ScanContext {
  const FsRoot& root;
  Limits limits;
  std::string host_zone;           // the zone cron and systemd run in ("Europe/Berlin", "UTC")
  bool systemd_running = false;    // /run/systemd/system exists under the root
  bool anacron_installed = false;  // /usr/sbin/anacron exists under the root
};

/// The jobs one definition file yields (a file cron does not read yields a not-a-job entry).
struct FileScan {
  std::string path;       // host path; the unit of caching and change reports
  std::vector<Job> jobs;  // Job::key holds the derived (not yet disambiguated) key
  std::vector<Warning> warnings;
};

class JobSource {
 public:
  enum class Scope { kNone, kFile, kAll };

  virtual ~JobSource() = default;
  /// "crontab", "periodic", "systemd-units", ...
  virtual std::string_view name() const = 0;
  /// Host folders to watch; a folder that does not exist yet is watched through its parent.
  virtual std::vector<std::string> watch_dirs() const = 0;
  /// Reads every definition of the source.
  virtual std::vector<FileScan> scan_all(const ScanContext& ctx) = 0;
  /// What a change at host path `p` (a file, or a watched folder itself) requires.
  virtual Scope scope_of(std::string_view p) const = 0;
  /// Re-reads one file after a kFile change; nullopt when it no longer yields anything.
  virtual std::optional<FileScan> scan_file(const ScanContext& ctx, std::string_view p) = 0;
};

}  // namespace cronitor::discovery
