// The writer connection's VFS (issue 20): SQLite writes each WAL frame as two pwrite calls (its
// 24-byte header, then the page), about 3 per stored event on the socket path. This VFS wraps the
// default one and gathers a transaction's contiguous WAL writes in memory, then writes them with
// one call when the commit frame's page comes (its header's "database size" field is non-zero),
// before anything else reads or syncs the log, and at the latest when the database file's shared
// memory barrier runs: SQLite publishes a commit to readers (the checkpoint thread) only after
// that barrier, so no reader ever sees a frame that is not in the file. A commit still returns
// only once its frames are in the file (the page cache; fsync'ed with synchronous=FULL as
// before), and a failed write still fails the commit that wrote it.
#pragma once

#include <cstdint>

namespace cronitor::agent {

/// The VFS's name for sqlite3_open_v2; registered (not as the default) on first use.
const char* wal_write_buffer_vfs();

/// Writes issued for buffered WAL bytes so far, in this process (for tests).
uint64_t wal_write_buffer_writes();

}  // namespace cronitor::agent
