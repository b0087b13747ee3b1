// The agent's side of the spool folder (format and trust rules: common/event.h): reads the
// events wrappers wrote while the agent was down or slow. Files are removed by the caller only
// after their events are stored. Any user can write here: a file breaking a rule is refused
// whole (one warning, `drop`), never read again.
//
// Any user can also fill the folder (issue 18 item 4: 300,000 empty files, 2,000 directories
// named *.jsonl, names with newlines and ESC bytes), so a SpoolIndex remembers what it saw
// between reads: a name is looked at again only when the folder's watch reports it (or at a
// relisting), each pass looks at a bounded number of names and reads a bounded number of files,
// root's first and then round-robin over the owners, and each odd entry is warned about once.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <ctime>
#include <deque>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/event.h"
#include "schedule/zone.h"

namespace cronitor::agent {

/// A run file holds a run's few events (run, then complete or fail); a metric file one.
inline constexpr size_t kMaxSpoolRunLines = 4;
inline constexpr off_t kMaxSpoolFileBytes = 4 * static_cast<off_t>(cronitor::kMaxLineBytes);

struct SpoolFile {
  std::string path;
  std::string name;                        // the name in the folder (path's last part)
  uid_t owner = 0;                         // fstat st_uid: the sender
  off_t size = 0;                          // bytes read
  std::vector<cronitor::RunEvent> events;  // valid, trusted events, in file order
  bool finished = false;                   // ends with complete/fail (or a metric file): delete once stored
  bool drop = false;   // refused or unusable (bad owner, too big, stale unfinished): delete, nothing to store
  bool empty = false;  // an empty file older than `empty_after` (drop, counted, not warned about one by one)
};

struct SpoolScan {
  std::vector<SpoolFile> files;
  std::vector<std::string> warnings;  // one per refused file or odd entry, with the reason (names escaped)
  bool more = false;                  // names or files left over for the next pass: call again
};

struct SpoolOptions {
  size_t max_files = 2000;                      // files read per pass
  size_t max_per_owner = 500;                   // of which one uid's (root's files are read first)
  size_t max_names = 5000;                      // names looked at (lstat) per pass
  size_t max_remembered = 100000;               // names remembered (read, queued, warned about)
  std::chrono::seconds stale_after{48 * 3600};  // unfinished files older than this are dropped
  std::chrono::seconds empty_after{60};         // a wrapper writes its first line at once
  std::chrono::seconds relist_every{600};       // every name again (stale files, a missed event)
  bool may_list = true;                         // false: only names already queued (a short pass)
  /// Asked after fstat, before reading: false leaves the file for a later pass (its owner is out
  /// of budget). Unset: every file.
  std::function<bool(const std::string& path, uid_t owner, off_t size, time_t mtime)> want;
};

/// What the agent knows of one spool folder between passes. Not thread-safe (the loop's).
class SpoolIndex {
 public:
  /// A name the folder's watch reported (written, closed, moved in): looked at in the next pass.
  void note(std::string_view name);
  /// Every name is looked at again (at start, after the watch lost events, on SIGHUP).
  void relist() { relist_ = true; }
  /// One bounded pass over `dir` at wall time `now`.
  SpoolScan pass(const std::string& dir, const SpoolOptions& options, time_t now);
  /// The caller stored `f`'s events: a finished or dropped file is removed by the caller (pass
  /// `removed`), an unfinished one is not read again until it changes.
  void stored(const SpoolFile& f, bool removed);
  /// The caller could not store `f`'s events: read it again at the next pass.
  void retry(const SpoolFile& f) { note(f.name); }
  /// Names waiting for a pass.
  size_t queued() const { return fresh_.size() + backlog_.size(); }

 private:
  struct Seen {
    ino_t ino = 0;
    off_t size = 0;
    time_t mtime = 0;
  };
  struct Candidate {
    std::string name;
    ino_t ino = 0;
    off_t size = 0;
    time_t mtime = 0;
  };
  void list(int dirfd, const SpoolOptions& o, time_t now);
  void look(int dirfd, const std::string& dir, const std::string& name, const SpoolOptions& o, time_t now,
            SpoolScan& scan, std::vector<std::pair<uid_t, Candidate>>& found);
  void odd(const std::string& dir, const std::string& name, ino_t ino, const std::string& why, bool drop,
           const SpoolOptions& o, SpoolScan& scan);
  void read(int dirfd, const std::string& dir, uid_t owner, const Candidate& c, const SpoolOptions& o, time_t now,
            SpoolScan& scan);

  std::deque<std::string> fresh_;                // reported by the watch: looked at first
  std::deque<std::string> backlog_;              // from a listing
  std::unordered_set<std::string> queued_;       // in fresh_ or backlog_
  std::unordered_map<std::string, Seen> seen_;   // read (unfinished) or empty, unchanged since
  std::vector<std::string> deferred_;            // their owner was out of budget: next pass
  std::set<std::pair<std::string, ino_t>> odd_;  // warned about once (name, inode)
  bool odd_full_warned_ = false;
  // Odd entries named in the log: kOddNamed per kOddWindow seconds, the rest counted and said in
  // one line at most every kOddSayEvery seconds (and when the names queued are all looked at).
  // Per pass, 300,000 planted names with 2,000 directories among them made 1,222 warnings and
  // 60 "more" lines in one listing (275 KB of log).
  size_t odd_named_ = 0, odd_unnamed_ = 0;
  time_t odd_window_ = 0, odd_said_ = 0;
  static constexpr size_t kOddNamed = 20;
  static constexpr time_t kOddWindow = 600, kOddSayEvery = 60;
  bool relist_ = true;
  time_t listed_at_ = 0;
};

/// Reads the files of `dir` that `options.want`, once (a fresh index: every name listed).
SpoolScan read_spool(const std::string& dir, const SpoolOptions& options);

/// Reads up to `max_files` files of `dir`. Unfinished files older than `stale_after` are dropped.
SpoolScan read_spool(const std::string& dir, size_t max_files, std::chrono::seconds stale_after);

}  // namespace cronitor::agent
