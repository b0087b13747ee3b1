#include "agent/state/checkpointer.h"

#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

namespace cronitor::agent {

Result<std::unique_ptr<Checkpointer>> Checkpointer::start(sqlite3* writer, const std::string& path, int frames) {
  auto db = sql::Db::open(path, false);
  if (!db) return std::unexpected(db.error());
  // A connection learns the journal mode when it first reads the file; until then a checkpoint
  // through it is a silent no-op ("not in WAL mode").
  auto mode = db->prepare("PRAGMA journal_mode");
  if (!mode) return std::unexpected(mode.error());
  auto row = mode->step();
  if (!row) return std::unexpected(row.error());
  if (!*row || mode->text(0) != "wal")
    return fail("\"" + path + "\": not in WAL mode (" + (*row ? mode->text(0) : "?") + "), no checkpoint thread");
  std::unique_ptr<Checkpointer> c(new Checkpointer(writer, std::move(*db), frames));
  // The thread takes no signals (SIGTERM and friends belong to the event loop): it starts with
  // all of them blocked, whatever this thread's mask is now.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  c->thread_ = std::thread([p = c.get()] { p->loop(); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  // Replaces the writer's automatic checkpoints (they are a WAL hook too).
  sqlite3_wal_hook(writer, &Checkpointer::on_commit, c.get());
  return c;
}

Checkpointer::Checkpointer(sqlite3* writer, sql::Db reader, int frames)
    : writer_(writer), db_(std::move(reader)), frames_(frames) {}

Checkpointer::~Checkpointer() {
  sqlite3_wal_autocheckpoint(writer_, frames_);  // back to the writer, before this object goes
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

// Runs on the writer's thread after each commit: wakes the checkpoint thread. The log starts
// over only when a checkpoint caught up between two commits; should the thread fall far behind
// under a long burst, the writer checkpoints itself, as SQLite does by default, so the log stays
// bounded.
int Checkpointer::on_commit(void* self, sqlite3* writer, const char*, int frames) {
  auto* c = static_cast<Checkpointer*>(self);
  if (frames >= kWriterTakesOver * c->frames_) {
    sqlite3_wal_checkpoint_v2(writer, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    return SQLITE_OK;
  }
  if (frames >= c->frames_ && !c->requested_.exchange(true)) {
    std::lock_guard lock(c->mu_);
    c->cv_.notify_one();
  }
  return SQLITE_OK;
}

void Checkpointer::loop() {
  pthread_setname_np(pthread_self(), "checkpointer");  // top -H, /proc/PID/task/TID/comm
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stop_ || requested_.load(); });
    if (stop_) return;
    lock.unlock();
    // PASSIVE: copies what it can without blocking the writer; the writer starts the log over
    // once everything in it was copied.
    int log = 0, copied = 0;
    int rc = sqlite3_wal_checkpoint_v2(db_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
    // A full disk is said once by the daemon (daemon_disk.cpp), not at every checkpoint.
    if (rc != SQLITE_OK && rc != SQLITE_BUSY && (rc & 0xff) != SQLITE_FULL)
      spdlog::warn("\"{}\": checkpoint: {}", db_.path(), sqlite3_errmsg(db_.get()));
    else if (rc == SQLITE_OK && log >= 0)
      done_.fetch_add(1);
    requested_.store(false);
    lock.lock();
  }
}

}  // namespace cronitor::agent
