#include "agent/state/wal_write_buffer.h"

#include <sqlite3.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <string>

namespace cronitor::agent {
namespace {

// One write at most: the default VFS takes writes below 128 KiB only (os_unix.c's seekAndWriteFd
// keeps the low 17 bits of the length), which SQLite's own never reach.
constexpr size_t kMaxBuffered = 120 * 1024;
constexpr int kFrameHeaderBytes = 24;  // a frame's header; bytes 4..7: database size on commit

struct BufferedFile {
  sqlite3_file base;  // first: SQLite sees this
  sqlite3_file* real = nullptr;
  enum class Kind { kOther, kDb, kWal } kind = Kind::kOther;
  std::string name;             // kDb: its key in the registry
  BufferedFile* wal = nullptr;  // kDb: its open log
  BufferedFile* db = nullptr;   // kWal: its database
  std::string buf;              // kWal: bytes not written yet, from buf_at
  sqlite3_int64 buf_at = 0;
  bool after_commit_header = false;  // kWal: the last write was a commit frame's header
};

sqlite3_vfs* g_real = nullptr;
sqlite3_vfs g_vfs;
std::atomic<uint64_t> g_writes{0};
std::mutex g_mu;
// Open database files by name, for their logs. Two connections of one process to one file are
// told apart by which has no log yet; a log both could own is left unbuffered.
std::multimap<std::string, BufferedFile*> g_dbs;

constexpr size_t kHeadBytes = (sizeof(BufferedFile) + 15) & ~size_t{15};

BufferedFile* as(sqlite3_file* f) { return reinterpret_cast<BufferedFile*>(f); }
const sqlite3_io_methods* real(BufferedFile* f) { return f->real->pMethods; }

int flush(BufferedFile* f) {
  if (f->buf.empty()) return SQLITE_OK;
  const int rc = real(f)->xWrite(f->real, f->buf.data(), static_cast<int>(f->buf.size()), f->buf_at);
  f->buf.clear();  // written, or failed: SQLite drops a transaction whose log write failed
  g_writes.fetch_add(1, std::memory_order_relaxed);
  return rc;
}

// The database's log, flushed where SQLite cannot be told of a failure: a commit frame would be
// published unwritten, so the process stops instead (SQLite recovers the log on the next open,
// without the unfinished commit, which nobody was told about).
void flush_log_of(BufferedFile* db) {
  if (db->wal == nullptr || db->wal->buf.empty()) return;
  if (flush(db->wal) != SQLITE_OK) {
    std::fprintf(stderr, "state.db: writing the write-ahead log failed before a commit was published\n");
    std::abort();
  }
}

// Every method forwards to the default VFS's file; the log's and the database's add the above.
int x_close(sqlite3_file* pf) {
  BufferedFile* f = as(pf);
  int rc = SQLITE_OK;
  if (f->kind == BufferedFile::Kind::kWal) {
    rc = flush(f);
    if (f->db) f->db->wal = nullptr;
  } else if (f->kind == BufferedFile::Kind::kDb) {
    std::lock_guard lock(g_mu);
    auto [from, to] = g_dbs.equal_range(f->name);
    for (auto it = from; it != to; ++it)
      if (it->second == f) {
        g_dbs.erase(it);
        break;
      }
    if (f->wal) f->wal->db = nullptr;
  }
  const int closed = real(f)->xClose(f->real);
  f->~BufferedFile();
  return rc != SQLITE_OK ? rc : closed;
}
int x_read(sqlite3_file* pf, void* p, int n, sqlite3_int64 off) {
  BufferedFile* f = as(pf);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return real(f)->xRead(f->real, p, n, off);
}
int x_write(sqlite3_file* pf, const void* p, int n, sqlite3_int64 off) {
  BufferedFile* f = as(pf);
  if (f->kind != BufferedFile::Kind::kWal) return real(f)->xWrite(f->real, p, n, off);
  const auto* b = static_cast<const unsigned char*>(p);
  const bool commit_page = f->after_commit_header;
  f->after_commit_header = n == kFrameHeaderBytes && (b[4] | b[5] | b[6] | b[7]) != 0;
  if (!f->buf.empty() && (off != f->buf_at + static_cast<sqlite3_int64>(f->buf.size()) ||
                          f->buf.size() + static_cast<size_t>(n) > kMaxBuffered))
    if (int rc = flush(f); rc != SQLITE_OK) return rc;
  if (static_cast<size_t>(n) > kMaxBuffered) return real(f)->xWrite(f->real, p, n, off);
  if (f->buf.empty()) f->buf_at = off;
  f->buf.append(static_cast<const char*>(p), static_cast<size_t>(n));
  return commit_page ? flush(f) : SQLITE_OK;
}
int x_truncate(sqlite3_file* pf, sqlite3_int64 size) {
  BufferedFile* f = as(pf);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return real(f)->xTruncate(f->real, size);
}
int x_sync(sqlite3_file* pf, int flags) {
  BufferedFile* f = as(pf);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return real(f)->xSync(f->real, flags);
}
int x_file_size(sqlite3_file* pf, sqlite3_int64* size) {
  BufferedFile* f = as(pf);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return real(f)->xFileSize(f->real, size);
}
int x_lock(sqlite3_file* pf, int l) { return real(as(pf))->xLock(as(pf)->real, l); }
int x_unlock(sqlite3_file* pf, int l) { return real(as(pf))->xUnlock(as(pf)->real, l); }
int x_check_reserved(sqlite3_file* pf, int* out) { return real(as(pf))->xCheckReservedLock(as(pf)->real, out); }
int x_file_control(sqlite3_file* pf, int op, void* arg) {
  BufferedFile* f = as(pf);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return real(f)->xFileControl(f->real, op, arg);
}
int x_sector_size(sqlite3_file* pf) { return real(as(pf))->xSectorSize(as(pf)->real); }
int x_device(sqlite3_file* pf) { return real(as(pf))->xDeviceCharacteristics(as(pf)->real); }
int x_shm_map(sqlite3_file* pf, int pg, int size, int extend, void volatile** pp) {
  return real(as(pf))->xShmMap(as(pf)->real, pg, size, extend, pp);
}
int x_shm_lock(sqlite3_file* pf, int offset, int n, int flags) {
  BufferedFile* f = as(pf);
  // The writer lets the log go (lock 0, WAL_WRITE_LOCK): a commit flushed at its commit frame;
  // what a rolled-back transaction left lies beyond the last commit, where nobody reads it.
  if (f->kind == BufferedFile::Kind::kDb && offset == 0 && (flags & SQLITE_SHM_UNLOCK) && f->wal) (void)flush(f->wal);
  return real(f)->xShmLock(f->real, offset, n, flags);
}
void x_shm_barrier(sqlite3_file* pf) {
  BufferedFile* f = as(pf);
  if (f->kind == BufferedFile::Kind::kDb) flush_log_of(f);  // before the header that publishes a commit
  real(f)->xShmBarrier(f->real);
}
int x_shm_unmap(sqlite3_file* pf, int del) { return real(as(pf))->xShmUnmap(as(pf)->real, del); }
int x_fetch(sqlite3_file* pf, sqlite3_int64 off, int n, void** pp) {
  return real(as(pf))->xFetch(as(pf)->real, off, n, pp);
}
int x_unfetch(sqlite3_file* pf, sqlite3_int64 off, void* p) { return real(as(pf))->xUnfetch(as(pf)->real, off, p); }

const sqlite3_io_methods kMethods = {
    3,          x_close,       x_read,           x_write,        x_truncate,    x_sync,   x_file_size,
    x_lock,     x_unlock,      x_check_reserved, x_file_control, x_sector_size, x_device, x_shm_map,
    x_shm_lock, x_shm_barrier, x_shm_unmap,      x_fetch,        x_unfetch};

int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* pf, int flags, int* out_flags) {
  auto* f = new (pf) BufferedFile();
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(pf) + kHeadBytes);
  f->real->pMethods = nullptr;
  const int rc = g_real->xOpen(g_real, name, f->real, flags, out_flags);
  if (f->real->pMethods == nullptr) {  // nothing to close
    f->~BufferedFile();
    pf->pMethods = nullptr;
    return rc;
  }
  // The default VFS's files are all version 3; another would need its own table.
  if (f->real->pMethods->iVersion < 3) {
    f->real->pMethods->xClose(f->real);
    f->~BufferedFile();
    pf->pMethods = nullptr;
    return SQLITE_CANTOPEN;
  }
  pf->pMethods = &kMethods;
  if (rc == SQLITE_OK && name != nullptr) {
    std::lock_guard lock(g_mu);
    if (flags & SQLITE_OPEN_MAIN_DB) {
      f->kind = BufferedFile::Kind::kDb;
      f->name = name;
      g_dbs.emplace(f->name, f);
    } else if (flags & SQLITE_OPEN_WAL) {
      std::string db = name;
      if (db.ends_with("-wal")) db.resize(db.size() - 4);
      BufferedFile* owner = nullptr;
      int candidates = 0;
      auto [from, to] = g_dbs.equal_range(db);
      for (auto it = from; it != to; ++it)
        if (it->second->wal == nullptr) {
          owner = it->second;
          ++candidates;
        }
      if (candidates == 1) {  // buffered only with its database known, for the barrier
        f->kind = BufferedFile::Kind::kWal;
        f->db = owner;
        owner->wal = f;
      }
    }
  }
  return rc;
}

}  // namespace

const char* wal_write_buffer_vfs() {
  static const char* name = [] {
    g_real = sqlite3_vfs_find(nullptr);
    g_vfs = *g_real;
    g_vfs.pNext = nullptr;
    g_vfs.zName = "cronitor-wal-buffer";
    g_vfs.szOsFile = static_cast<int>(kHeadBytes) + g_real->szOsFile;
    g_vfs.xOpen = x_open;
    sqlite3_vfs_register(&g_vfs, 0);
    return g_vfs.zName;
  }();
  return name;
}

uint64_t wal_write_buffer_writes() { return g_writes.load(std::memory_order_relaxed); }

}  // namespace cronitor::agent
