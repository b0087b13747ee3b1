// The agent's side of the spool folder (format and trust rules: common/event.h): reads the
// events wrappers wrote while the agent was down or slow. Files are removed by the caller only
// after their events are stored. Any user can write here: a file breaking a rule is refused
// whole (one warning, `drop`), never read again.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include "common/event.h"
#include "schedule/zone.h"

namespace cronitor::agent {

/// A run file holds a run's few events (run, then complete or fail); a metric file one.
inline constexpr size_t kMaxSpoolRunLines = 4;
inline constexpr off_t kMaxSpoolFileBytes = 4 * static_cast<off_t>(cronitor::kMaxLineBytes);

struct SpoolFile {
  std::string path;
  uid_t owner = 0;                         // fstat st_uid: the sender
  off_t size = 0;                          // bytes read
  std::vector<cronitor::RunEvent> events;  // valid, trusted events, in file order
  bool finished = false;                   // ends with complete/fail (or a metric file): delete once stored
  bool drop = false;  // refused or unusable (bad owner, too big, stale unfinished): delete, nothing to store
};

struct SpoolScan {
  std::vector<SpoolFile> files;
  std::vector<std::string> warnings;  // one per refused file, with the reason
  bool more = false;                  // more files than max_files wanted reading: call again
};

struct SpoolOptions {
  size_t max_files = 5000;                      // files read per call
  size_t max_names = 100000;                    // names looked at per call
  std::chrono::seconds stale_after{48 * 3600};  // unfinished files older than this are dropped
  /// Asked after fstat, before reading: false leaves the file for a later call (its owner is out
  /// of budget, or nothing changed since it was read). Unset: every file.
  std::function<bool(const std::string& path, uid_t owner, off_t size, time_t mtime)> want;
};

/// Reads the files of `dir` that `options.want`.
SpoolScan read_spool(const std::string& dir, const SpoolOptions& options);

/// Reads up to `max_files` files of `dir`. Unfinished files older than `stale_after` are dropped.
SpoolScan read_spool(const std::string& dir, size_t max_files, std::chrono::seconds stale_after);

}  // namespace cronitor::agent
