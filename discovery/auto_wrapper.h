// `wrap` and `unwrap` over a host: which crontab files to touch, with which keys, and how.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "discovery/fs_root.h"
#include "discovery/job.h"
#include "discovery/warning.h"

namespace cronitor::discovery {

struct WrapOptions {
  bool unwrap = false;
  bool dry_run = false;
  std::string exec_path = "/usr/bin/cronitor-exec";
  std::string backup_dir;          // real path; where originals are saved before a rewrite
  std::vector<std::string> files;  // host paths to limit to; empty: every crontab
  /// Also wrap files a package owns (dpkg); by default they are left alone (`package_files`).
  bool wrap_package_files = false;
  /// Also rewrite lines an upstream's own tool runs (`wrap --adopt`), keeping their identity.
  bool adopt = false;
  /// Which jobs may be wrapped (or adopted); empty: all. A job it refuses is left as it is and
  /// counted in `refused`: the agent passes its own judgement (a user's line that may not define
  /// its key, or past discovery.max_monitors_per_user, reports nothing and is never wrapped).
  std::function<bool(const Job&)> may_wrap;
  /// Job lines read from one crontab of a user other than root (the agent's read limit, so
  /// that what is wrapped is what it read).
  std::size_t max_jobs_per_user_crontab = Limits{}.max_jobs_per_user_crontab;
};

struct WrapReport {
  std::string diff;                  // --dry-run: the unified diff of every file
  std::vector<std::string> written;  // host paths rewritten
  std::vector<std::string> backups;  // real paths of the backups
  int lines = 0;                     // job lines wrapped or unwrapped
  int instrumented = 0;              // lines an upstream's tool runs, left alone (no --adopt)
  int refused = 0;                   // jobs `may_wrap` refused, left alone
  std::vector<Warning> warnings;     // lines or files left alone, with why
  /// Files with lines to wrap that were left alone because a package owns them: path, package.
  std::vector<std::pair<std::string, std::string>> package_files;
};

/// Moves the backups of an older folder (the daemon's "crontab-backups") into `new_dir`, keeping
/// their relative paths; a name already taken stays where it was. Backups live in one folder.
void migrate_backups(const std::string& old_dir, const std::string& new_dir);

/// Wraps (or unwraps) the crontab lines of the host under `root`. Keys are those `discover`
/// shows. Files that fail to be written are reported in warnings; the others are still done.
WrapReport run_wrap(const DiskRoot& root, const WrapOptions& options);

}  // namespace cronitor::discovery
