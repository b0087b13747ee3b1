// prometheus.textfile's file, written safely in a folder others may write (node_exporter's
// textfile folder): the temporary file is created anew with a random name (O_CREAT|O_EXCL|
// O_NOFOLLOW, mkostemp-style), never opened by a name someone could have planted, and renamed
// over the target inside the same folder; a symlink planted there is replaced, never followed.
// A folder a user could swap or fill (writable by others without the sticky bit, or not owned
// by root or the agent) is refused (agent/README.md, "Security model").
#pragma once

#include <string>

#include "common/error.h"

namespace cronitor::agent {

/// Writes `text` to `path` atomically (readers see the old file or the new one). The error
/// says why the folder was refused or which call failed.
[[nodiscard]] Result<void> write_textfile(const std::string& path, const std::string& text);

}  // namespace cronitor::agent
