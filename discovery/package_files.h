// Which crontab files a Debian package owns (dpkg's /var/lib/dpkg/info/*.list and *.conffiles):
// those are the package's, and rewriting them makes dpkg ask at the package's next upgrade.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "discovery/fs_root.h"

namespace cronitor::discovery {

class PackageFiles {
 public:
  /// Reads dpkg's database under `root` (none: no file is owned). Only the cron locations are
  /// kept (/etc/crontab, /etc/cron.d/...), so memory stays small on any host.
  static PackageFiles load(const FsRoot& root);
  /// The package that owns host path `path`, if any ("cron-daemon-common").
  std::optional<std::string> owner(std::string_view path) const;
  /// Records `path` as owned by `package` (tests, and load itself).
  void add(std::string path, std::string package) { owners_.insert_or_assign(std::move(path), std::move(package)); }

 private:
  std::map<std::string, std::string, std::less<>> owners_;
};

}  // namespace cronitor::discovery
