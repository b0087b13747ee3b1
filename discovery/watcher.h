// Live discovery: inotify on the source folders, changes coalesced by path until the burst settles,
// a full rescan on queue overflow or a lost watch. Single-step: an event loop (sd-event) or a test
// calls on_readable() when fd() is readable and poll() at settle_deadline(); no threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/error.h"
#include "common/unique_fd.h"
#include "discovery/fs_root.h"
#include "discovery/scanner.h"

namespace cronitor::discovery {

class Watcher {
 public:
  using Clock = std::chrono::steady_clock;
  using Duration = Clock::duration;  // a point in time as Clock's time_since_epoch()

  struct Options {
    Duration settle = std::chrono::milliseconds(250);  // quiet time that ends a burst
    Duration max_delay = std::chrono::seconds(2);      // a steady stream is still reported
    std::size_t max_pending = 4096;                    // more paths than this: rescan everything
    std::function<void(std::string_view)> log;         // overflows, lost watches, ENOSPC
  };

  /// Watches the folders of `scanner`'s sources under `root`; scanner.scan() must have run.
  [[nodiscard]] static Result<std::unique_ptr<Watcher>> create(Scanner& scanner, const DiskRoot& root, Options options);

  /// The inotify descriptor (non-blocking); readable when events wait.
  int fd() const { return fd_.get(); }
  /// Reads every queued event, noting the paths that changed at time `now`.
  void on_readable(Duration now);
  void on_readable() { on_readable(Clock::now().time_since_epoch()); }
  /// When poll() should be called next, or nullopt when nothing is pending.
  std::optional<Duration> settle_deadline() const;
  /// Rescans once the burst has settled (`now` >= settle_deadline()); empty otherwise.
  Changes poll(Duration now);

  std::uint64_t full_rescans() const { return full_rescans_; }  // overflows and lost watches
  std::uint64_t rescans() const { return rescans_; }
  bool degraded() const { return degraded_; }  // some folder could not be watched (ENOSPC, ...)
  std::size_t watch_count() const { return by_wd_.size(); }

 private:
  Watcher(Scanner& scanner, const DiskRoot& root, Options options, UniqueFd fd);
  void refresh_watches();
  void note(std::string path, Duration now);
  void log(const std::string& msg) const;

  Scanner& scanner_;
  const DiskRoot& root_;
  Options options_;
  UniqueFd fd_;
  std::unordered_map<int, std::string> by_wd_;   // watch -> host folder
  std::unordered_map<std::string, int> by_dir_;  // host folder -> watch
  std::vector<std::string> missing_;             // wanted folders that do not exist yet
  std::unordered_set<std::string> pending_;
  bool full_pending_ = false;
  bool refresh_pending_ = false;
  std::optional<Duration> first_event_;
  Duration last_event_{};
  std::uint64_t full_rescans_ = 0;
  std::uint64_t rescans_ = 0;
  bool degraded_ = false;
};

}  // namespace cronitor::discovery
