// The agent's side of the spool folder (format and trust rules: common/event.h): reads the
// events wrappers wrote while the agent was down or slow. Files are removed by the caller only
// after their events are stored.
#pragma once

#include <string>
#include <vector>

#include "common/event.h"
#include "schedule/zone.h"

namespace cronitor::agent {

struct SpoolFile {
  std::string path;
  std::vector<cronitor::RunEvent> events;  // valid, trusted events, in file order
  bool finished = false;                   // ends with complete/fail (or a metric file): delete once stored
  bool drop = false;                       // unusable (bad owner, too big, stale unfinished): delete, nothing to store
};

struct SpoolScan {
  std::vector<SpoolFile> files;
  std::vector<std::string> warnings;  // lines and files skipped, with the reason
  bool more = false;                  // more files than max_files: call again
};

/// Reads up to `max_files` files of `dir`. Unfinished files older than `stale_after` are dropped.
SpoolScan read_spool(const std::string& dir, size_t max_files, std::chrono::seconds stale_after);

}  // namespace cronitor::agent
