// A folder watched for a few names, acted on once writes settle: inotify on the folder (editors
// and tools replace a file by renaming a new one over it, so the file itself cannot be watched),
// a write or rename of a name of interest (or a queue overflow, when anything may have changed)
// arms a short timer, each further write pushes it back, and when it fires the callback runs
// once. The daemon watches its config file (a write reloads it, as SIGHUP does) and the zone
// files of the host's /etc (timedatectl and dpkg-reconfigure write two) with it. It owns its
// inotify descriptor and event sources.
#pragma once

#include <systemd/sd-event.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/event_source.h"
#include "common/unique_fd.h"

namespace cronitor::agent {

class SettledFolderWatch {
 public:
  struct Options {
    std::string folder;
    std::vector<std::string> names;  // the files in it that matter
    uint32_t events = 0;             // inotify events of interest (IN_CLOSE_WRITE | IN_MOVED_TO, ...)
    uint64_t settle_usec = 200000;   // quiet time after the last write before acting
    std::function<void()> act;       // once per settled burst
  };

  /// Watches `options.folder` on `ev`; the error says why it cannot (its strerror text).
  [[nodiscard]] static Result<std::unique_ptr<SettledFolderWatch>> create(sd_event* ev, Options options);
  SettledFolderWatch(const SettledFolderWatch&) = delete;
  SettledFolderWatch& operator=(const SettledFolderWatch&) = delete;

  /// Acts after the settle as if a name had been written (a change no event will tell of).
  void act_soon();
  bool settling() const;  // a write was seen and the callback is still to run

 private:
  explicit SettledFolderWatch(Options options) : options_(std::move(options)) {}
  bool wanted(std::string_view name) const;
  static int on_io_cb(sd_event_source*, int, uint32_t, void*);
  static int on_settle_cb(sd_event_source*, uint64_t, void*);

  Options options_;
  sd_event* ev_ = nullptr;
  UniqueFd fd_;
  EventSource io_src_;      // the inotify descriptor
  EventSource settle_src_;  // acts once writes settled
};

}  // namespace cronitor::agent
