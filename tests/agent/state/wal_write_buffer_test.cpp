// The writer's VFS that writes a commit's WAL frames at once (agent/state/wal_write_buffer.h):
// what a second connection (the checkpoint thread's, on SQLite's default VFS) and a later open
// read is what was committed, whatever the size of the transaction, after a rollback, with
// synchronous=FULL, and after the writer is killed mid-stream.
#include "agent/state/wal_write_buffer.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "agent/state/sqlite.h"
#include "tests/support/test_dir.h"

namespace cronitor::agent {
namespace {

// A fresh folder of this test's, removed after.
struct TestDir {
  std::filesystem::path dir = cronitor::testing::test_dir("wal-write-buffer");
  TestDir() {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  ~TestDir() { std::filesystem::remove_all(dir); }
  std::string path() const { return dir.string(); }
};

int64_t count_rows(sql::Db& db) {
  auto n = db.scalar("SELECT count(*) FROM t");
  EXPECT_TRUE(n) << n.error().message;
  return n ? *n : -1;
}

std::string integrity(sql::Db& db) {
  auto st = db.prepare("PRAGMA integrity_check");
  if (!st) return st.error().message;
  auto row = st->step();
  return row && *row ? st->text(0) : "no row";
}

sql::Db writer(const std::string& path, const char* sync = "NORMAL") {
  auto db = sql::Db::open(path, true, false, wal_write_buffer_vfs());
  EXPECT_TRUE(db) << db.error().message;
  EXPECT_TRUE(db->exec(std::string("PRAGMA journal_mode=WAL; PRAGMA synchronous=") + sync +
                       "; CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, k TEXT UNIQUE, v BLOB)"));
  return std::move(*db);
}

bool insert(sql::Db& db, int from, int n, size_t bytes = 100) {
  auto st = db.prepare("INSERT INTO t(k, v) VALUES(?1, zeroblob(?2))");
  if (!st) return false;
  for (int i = from; i < from + n; ++i) {
    st->bind(1, "key-" + std::to_string(i)).bind(2, static_cast<int64_t>(bytes));
    if (!st->step()) return false;
    st->reset();
  }
  return true;
}

TEST(WalWriteBuffer, ACommitIsOneWriteAndAReaderSeesEachCommit) {
  TestDir dir;
  const std::string path = dir.path() + "/state.db";
  sql::Db w = writer(path);
  auto r = sql::Db::open(path, false);  // the checkpoint thread's kind of connection
  ASSERT_TRUE(r) << r.error().message;
  for (int c = 0; c < 20; ++c) {
    const uint64_t before = wal_write_buffer_writes();
    ASSERT_TRUE(w.exec("BEGIN IMMEDIATE"));
    ASSERT_TRUE(insert(w, c * 10, 10));
    ASSERT_TRUE(w.exec("COMMIT"));
    // SQLite wrote several frames (table, index), each as a header and a page: one write here.
    EXPECT_EQ(wal_write_buffer_writes() - before, 1u) << "commit " << c;
    EXPECT_EQ(count_rows(*r), (c + 1) * 10);
  }
  EXPECT_EQ(integrity(*r), "ok");
}

TEST(WalWriteBuffer, LargeTransactionsRollbacksAndCheckpoints) {
  TestDir dir;
  const std::string path = dir.path() + "/state.db";
  {
    sql::Db w = writer(path);
    auto r = sql::Db::open(path, false);
    ASSERT_TRUE(r);
    // 3 MiB in one transaction: many writes of at most kMaxBuffered, and page cache spills.
    ASSERT_TRUE(w.exec("PRAGMA cache_size=-256; BEGIN IMMEDIATE"));
    ASSERT_TRUE(insert(w, 0, 300, 10000));
    ASSERT_TRUE(w.exec("COMMIT"));
    EXPECT_EQ(count_rows(*r), 300);
    // A rolled-back transaction leaves nothing; the next commit writes over its frames.
    ASSERT_TRUE(w.exec("BEGIN IMMEDIATE"));
    ASSERT_TRUE(insert(w, 1000, 200, 10000));
    ASSERT_TRUE(w.exec("UPDATE t SET v = zeroblob(20000) WHERE id <= 50"));
    ASSERT_TRUE(w.exec("ROLLBACK"));
    EXPECT_EQ(count_rows(*r), 300);
    ASSERT_TRUE(w.exec("BEGIN IMMEDIATE"));
    ASSERT_TRUE(insert(w, 2000, 5));
    ASSERT_TRUE(w.exec("UPDATE t SET v = zeroblob(3) WHERE id % 7 = 0"));
    ASSERT_TRUE(w.exec("COMMIT"));
    EXPECT_EQ(count_rows(*r), 305);
    // The reader checkpoints (as the checkpoint thread does); the writer starts the log over.
    ASSERT_TRUE(r->exec("PRAGMA wal_checkpoint(PASSIVE)"));
    ASSERT_TRUE(w.exec("BEGIN IMMEDIATE"));
    ASSERT_TRUE(insert(w, 3000, 5));
    ASSERT_TRUE(w.exec("COMMIT"));
    ASSERT_TRUE(w.exec("PRAGMA wal_checkpoint(TRUNCATE)"));
    ASSERT_TRUE(insert(w, 4000, 5));  // autocommit
    EXPECT_EQ(count_rows(*r), 315);
    EXPECT_EQ(integrity(*r), "ok");
  }
  auto again = sql::Db::open(path, false);
  ASSERT_TRUE(again);
  EXPECT_EQ(count_rows(*again), 315);
  EXPECT_EQ(integrity(*again), "ok");
}

TEST(WalWriteBuffer, SynchronousFull) {
  TestDir dir;
  const std::string path = dir.path() + "/state.db";
  sql::Db w = writer(path, "FULL");
  auto r = sql::Db::open(path, false);
  ASSERT_TRUE(r);
  for (int c = 0; c < 5; ++c) {
    ASSERT_TRUE(w.exec("BEGIN IMMEDIATE"));
    ASSERT_TRUE(insert(w, c * 10, 10));
    ASSERT_TRUE(w.exec("COMMIT"));
    EXPECT_EQ(count_rows(*r), (c + 1) * 10);
  }
  EXPECT_EQ(integrity(*r), "ok");
}

// Two writer connections of one process to one file (a test's reopen): each commit is seen.
TEST(WalWriteBuffer, TwoConnectionsToOneFile) {
  TestDir dir;
  const std::string path = dir.path() + "/state.db";
  sql::Db a = writer(path);
  sql::Db b = writer(path);
  auto r = sql::Db::open(path, false);
  ASSERT_TRUE(r);
  for (int c = 0; c < 10; ++c) {
    sql::Db& w = c % 2 ? a : b;
    ASSERT_TRUE(w.exec("BEGIN IMMEDIATE"));
    ASSERT_TRUE(insert(w, c * 10, 10));
    ASSERT_TRUE(w.exec("COMMIT"));
    EXPECT_EQ(count_rows(*r), (c + 1) * 10);
    EXPECT_EQ(count_rows(c % 2 ? b : a), (c + 1) * 10);
  }
  EXPECT_EQ(integrity(*r), "ok");
}

// Killed between commits or in the middle of one: every commit that returned is there, and the
// file is sound.
TEST(WalWriteBuffer, KilledWriterKeepsEveryCommitThatReturned) {
  TestDir dir;
  const std::string path = dir.path() + "/state.db";
  { sql::Db w = writer(path); }
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    sql::Db w = writer(path);
    for (int c = 0;; ++c) {
      if (!w.exec("BEGIN IMMEDIATE") || !insert(w, c * 7, 7, c % 5 == 0 ? 20000 : 50) || !w.exec("COMMIT")) _exit(1);
      const int done = (c + 1) * 7;
      if (::write(fds[1], &done, sizeof done) != sizeof done) _exit(1);
    }
  }
  ::close(fds[1]);
  int committed = 0, n = 0;
  while (committed < 2000 && ::read(fds[0], &n, sizeof n) == sizeof n) committed = n;
  ::kill(pid, SIGKILL);
  while (::read(fds[0], &n, sizeof n) == sizeof n) committed = n;  // acknowledged before the kill
  ::close(fds[0]);
  ::waitpid(pid, nullptr, 0);
  auto db = sql::Db::open(path, false);
  ASSERT_TRUE(db);
  const int64_t rows = count_rows(*db);
  EXPECT_GE(rows, committed);
  EXPECT_EQ(rows % 7, 0) << "only whole transactions";
  EXPECT_EQ(integrity(*db), "ok");
}

}  // namespace
}  // namespace cronitor::agent
