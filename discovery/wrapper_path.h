// Which cronitor-exec may be written into crontabs: cron runs the line as root (system crontabs),
// so the wrapper, and every folder on the way to it, must be something only root can change.
#pragma once

#include <string>
#include <string_view>

#include "common/error.h"
#include "discovery/fs_root.h"

namespace cronitor::discovery {

/// Checks host path `path` (resolved under `root`, following symlinks inside it): it must be
/// absolute and plain (letters, digits, / - _ .), exist as an executable regular file, and it and
/// every folder on the way (the root folder itself excluded) must be owned by root and not
/// writable by group or others. The error says which component fails and why.
[[nodiscard]] Result<void> check_wrapper_path(const DiskRoot& root, std::string_view path);

}  // namespace cronitor::discovery
