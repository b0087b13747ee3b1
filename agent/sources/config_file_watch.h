// ConfigFileWatch: the config file's own watch. The daemon notes the file as it was just before
// it read it (inode, size, mtime); once on the loop, the file's folder is watched (editors replace
// the file by renaming a new one over it) and a finished write of the file, or a rename onto it,
// reloads it 200 ms later, once, as SIGHUP would. A file written between the start's read and the
// watch reloads as well (no event will tell of it). What a reload is, is the daemon's hook.
#pragma once

#include <sys/stat.h>
#include <systemd/sd-event.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace cronitor::agent {

class SettledFolderWatch;

class ConfigFileWatch {
 public:
  static constexpr uint64_t kSettleUsec = 200000;  // writes of the config settle this long

  /// `path`: the config file (read when used); `reload`: reads it again (after the change is said).
  ConfigFileWatch(const std::string& path, std::function<void()> reload);
  ~ConfigFileWatch();
  ConfigFileWatch(const ConfigFileWatch&) = delete;
  ConfigFileWatch& operator=(const ConfigFileWatch&) = delete;

  /// Just before the file is read at start: the file as it is now.
  void note_read();
  /// Watches the file's folder on `ev` (said when it cannot: reload with SIGHUP); a file changed
  /// since note_read() reloads after the settle.
  void attach(sd_event* ev);
  bool watching() const { return watch_ != nullptr; }
  /// A change was seen and its reload is still to run.
  bool settling() const;

 private:
  const std::string& path_;
  std::function<void()> reload_;
  std::optional<struct stat> read_;  // the file as it was just before it was read
  std::unique_ptr<SettledFolderWatch> watch_;
};

}  // namespace cronitor::agent
