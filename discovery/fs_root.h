// The filesystem as discovery reads it, under a root folder (`--root DIR`, like systemctl --root).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace cronitor::discovery {

struct FileInfo {
  mode_t mode = 0;  // st_mode: type and permission bits
  uid_t uid = 0;
  gid_t gid = 0;
  off_t size = 0;
  bool symlink = false;  // lstat says the path itself is a link
  bool regular() const { return S_ISREG(mode); }
  bool directory() const { return S_ISDIR(mode); }
};

struct DirEntry {
  std::string name;
  bool directory = false;
  bool symlink = false;
};

/// Host paths ("/etc/cron.d") resolved under a root. One real implementation (DiskRoot).
class FsRoot {
 public:
  virtual ~FsRoot() = default;
  /// The real path of host path `p` ("/etc/crontab" -> "ROOT/etc/crontab").
  virtual std::string real_path(std::string_view p) const = 0;
  /// The file's bytes; fails past `max_bytes`.
  [[nodiscard]] virtual Result<std::string> read_file(std::string_view p, std::size_t max_bytes) const = 0;
  /// The entries of a folder (no "." or ".."), sorted by name; fails past `max_entries`.
  [[nodiscard]] virtual Result<std::vector<DirEntry>> list_dir(std::string_view p, std::size_t max_entries) const = 0;
  /// stat(2) (following links), with `symlink` from lstat(2); nullopt when it does not exist.
  virtual std::optional<FileInfo> stat(std::string_view p) const = 0;
  /// readlink(2); nullopt when not a link.
  virtual std::optional<std::string> read_link(std::string_view p) const = 0;
};

/// The real filesystem under `root` ("/" for the host itself).
class DiskRoot final : public FsRoot {
 public:
  explicit DiskRoot(std::string root);
  std::string real_path(std::string_view p) const override;
  Result<std::string> read_file(std::string_view p, std::size_t max_bytes) const override;
  Result<std::vector<DirEntry>> list_dir(std::string_view p, std::size_t max_entries) const override;
  std::optional<FileInfo> stat(std::string_view p) const override;
  std::optional<std::string> read_link(std::string_view p) const override;
  const std::string& root() const { return root_; }

 private:
  std::string root_;  // no trailing slash; empty for "/"
};

/// The folder of a host path ("/etc/cron.d/x" -> "/etc/cron.d"; "/x" -> "/").
inline std::string_view parent_of(std::string_view p) {
  const auto slash = p.rfind('/');
  return slash == std::string_view::npos || slash == 0 ? std::string_view("/") : p.substr(0, slash);
}

/// The last component of a host path ("/etc/cron.d/x" -> "x").
inline std::string_view base_of(std::string_view p) {
  const auto slash = p.rfind('/');
  return slash == std::string_view::npos ? p : p.substr(slash + 1);
}

}  // namespace cronitor::discovery
