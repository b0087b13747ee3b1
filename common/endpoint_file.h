// Where the agent listens: a small world-readable file the agent writes at start, so that
// wrapped crontab lines (which carry no paths) reach an agent whose config names its own
// `socket:` or `spool_dir:`. See wrapper/README.md ("Finding the agent").
//
// FORMAT: at most 4 KiB of "name=value" lines; names "socket" and "spool", values absolute
// paths; other lines are ignored. The file is root's, not writable by group or others.
#pragma once

#include <optional>
#include <string>

#include "common/error.h"

namespace cronitor {

/// The default place, /run/cronitor-agent/endpoint; CRONITOR_ENDPOINT_FILE overrides it (tests,
/// and a second agent on one host).
std::string endpoint_file_path();

struct Endpoint {
  std::string socket, spool;
};

/// Reads the file, refusing one that root does not own or that others may write (a local user
/// must not redirect other users' events). Plain syscalls: the wrapper links this.
[[nodiscard]] Result<Endpoint> read_endpoint_file(const std::string& path);

/// Writes the file atomically (temp file, rename), mode 0644, creating its folder (0755).
[[nodiscard]] Result<void> write_endpoint_file(const std::string& path, const Endpoint& e);

}  // namespace cronitor
