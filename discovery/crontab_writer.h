// Replaces crontab files the safe way: a backup first (one per original content, reused on a
// retry), then a temp file in the same folder, fsync and rename, owner, group and mode kept, and
// no symlink followed. User crontabs end up as crontab(1) leaves them, with the spool folder's
// mtime bumped so cron reloads. Where no rename can work (a read-only folder around a writable
// file, as systemd's ProtectSystem= with ReadWritePaths=/etc/crontab makes it: EROFS on the temp
// file, EBUSY on a rename onto the bind-mounted file), the file is rewritten in place and fsynced.
#pragma once

#include <sys/stat.h>

#include <functional>
#include <string>
#include <string_view>

#include "common/error.h"
#include "discovery/fs_root.h"

namespace cronitor::discovery {

class CrontabWriter {
 public:
  /// `backup_dir` is a real path (already resolved against any --root).
  CrontabWriter(const DiskRoot& root, std::string backup_dir);

  /// Writes `content` over host file `path`, which must still hold `expected` (else it changed
  /// under us and nothing is written). Returns the real path of the backup of `expected`.
  [[nodiscard]] Result<std::string> replace(std::string_view path, std::string_view expected,
                                            std::string_view content) const;

  /// Called once the new bytes are written and synced, just before they replace the file: the
  /// moment a user's own `crontab` run would be lost (tests put one there).
  std::function<void()> before_rename;

 private:
  struct Backup {
    std::string path;
    bool created = false;  // false: an existing backup of the same bytes
  };
  Result<Backup> backup(std::string_view path, std::string_view bytes) const;
  static Result<void> rewrite_in_place(int dirfd, const std::string& name, const struct stat& before,
                                       std::string_view content, const std::string& what);

  const DiskRoot& root_;
  std::string backup_dir_;
};

}  // namespace cronitor::discovery
