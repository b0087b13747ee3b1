#include "agent/state/sqlite.h"

namespace cronitor::agent::sql {

Result<bool> Stmt::step() {
  int rc = sqlite3_step(s_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  sqlite3* db = sqlite3_db_handle(s_.get());
  std::string msg = std::string("sqlite: ") + sqlite3_errmsg(db) + " (in \"" +
                    std::string(sqlite3_sql(s_.get())).substr(0, 60) + "\")";
  sqlite3_reset(s_.get());
  return fail(msg);
}

Result<Db> Db::open(const std::string& path, bool create, bool readonly, const char* vfs) {
  // Before SQLite's first use: no global memory statistics (a mutex around every allocation;
  // nobody reads them here).
  static const bool configured = [] {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return true;
  }();
  (void)configured;
  sqlite3* raw = nullptr;
  int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
  if (create && !readonly) flags |= SQLITE_OPEN_CREATE;
  flags |= SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, vfs);
  Db db;
  db.db_.reset(raw);
  db.path_ = path;
  if (rc != SQLITE_OK)
    return fail("\"" + path + "\": sqlite open: " + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  sqlite3_busy_timeout(raw, 2000);
  // Small allocations (statement and row bookkeeping) from a per-connection pool: 64 KiB.
  sqlite3_db_config(raw, SQLITE_DBCONFIG_LOOKASIDE, nullptr, 256, 256);
  sqlite3_extended_result_codes(raw, 1);
  return db;
}

Result<void> Db::exec(std::string_view sql) {
  char* err = nullptr;
  std::string s(sql);
  if (sqlite3_exec(db_.get(), s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = "\"" + path_ + "\": sqlite: " + (err ? err : "error");
    sqlite3_free(err);
    return fail(msg);
  }
  return {};
}

Result<Stmt> Db::prepare(std::string_view sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &s, nullptr) !=
      SQLITE_OK)
    return fail("\"" + path_ + "\": sqlite prepare: " + errmsg());
  return Stmt(s);
}

Result<int64_t> Db::scalar(std::string_view sql) {
  auto st = prepare(sql);
  if (!st) return std::unexpected(st.error());
  auto row = st->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return fail("\"" + path_ + "\": no row from \"" + std::string(sql) + "\"");
  return st->i64(0);
}

}  // namespace cronitor::agent::sql
