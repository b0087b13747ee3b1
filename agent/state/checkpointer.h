// Moves state.db's write-ahead log into the database file on a thread of its own, so that no
// commit, and so no acknowledgement a wrapper waits for, ever includes a checkpoint's fsyncs.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "agent/state/sqlite.h"
#include "agent/state/wal_budget.h"
#include "common/error.h"

namespace cronitor::agent {

class Checkpointer {
 public:
  /// Takes over checkpointing from `writer` (its automatic checkpoints are turned off) with a
  /// second connection to `path`. Checkpoints run once the log holds `frames` pages.
  [[nodiscard]] static Result<std::unique_ptr<Checkpointer>> start(sqlite3* writer, const std::string& path,
                                                                   int frames = 1000);
  /// Stops the thread and gives checkpointing back to the writer.
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  /// Checkpoints that ran on the log so far (for tests).
  uint64_t done() const { return done_.load(); }

 private:
  static constexpr int kWriterTakesOver = WalBudget::kWriterTakesOver;  // x frames: the writer checkpoints itself

  Checkpointer(sqlite3* writer, sql::Db reader, int frames);
  static int on_commit(void* self, sqlite3*, const char*, int frames);
  void loop();

  sqlite3* writer_;
  sql::Db db_;  // used by the thread only
  int frames_;
  std::atomic<bool> requested_{false};
  std::atomic<uint64_t> done_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace cronitor::agent
