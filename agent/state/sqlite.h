// Thin RAII wrappers over the SQLite C API: a connection and a prepared statement.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"
#include "common/owned.h"

namespace cronitor::agent::sql {

/// A prepared statement; bind by 1-based index, step, read columns, reset for reuse.
class Stmt {
 public:
  Stmt() = default;
  explicit Stmt(sqlite3_stmt* s) : s_(s) {}

  Stmt& bind(int i, int64_t v) {
    sqlite3_bind_int64(s_.get(), i, v);
    return *this;
  }
  Stmt& bind(int i, int v) {
    sqlite3_bind_int64(s_.get(), i, v);
    return *this;
  }
  Stmt& bind(int i, double v) {
    sqlite3_bind_double(s_.get(), i, v);
    return *this;
  }
  Stmt& bind(int i, std::string_view v) {
    sqlite3_bind_text(s_.get(), i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  /// Binds `v` without a copy: it must outlive the step and the reset() after it (which clears
  /// the bindings). For the per-event statements.
  Stmt& bind_static(int i, std::string_view v) {
    sqlite3_bind_text(s_.get(), i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  Stmt& bind_static(int i, const std::string& v) { return bind_static(i, std::string_view(v)); }
  Stmt& bind_static(int i, const std::optional<std::string>& v) {
    if (v) return bind_static(i, std::string_view(*v));
    return bind_null(i);
  }
  Stmt& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
  Stmt& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
  Stmt& bind_null(int i) {
    sqlite3_bind_null(s_.get(), i);
    return *this;
  }
  template <typename T>
  Stmt& bind(int i, const std::optional<T>& v) {
    if (v) return bind(i, *v);
    return bind_null(i);
  }

  /// SQLITE_ROW or SQLITE_DONE; anything else is an error naming the statement.
  [[nodiscard]] Result<bool> step();  // true: a row is ready
  void reset() {
    sqlite3_reset(s_.get());
    sqlite3_clear_bindings(s_.get());
  }

  bool is_null(int col) const { return sqlite3_column_type(s_.get(), col) == SQLITE_NULL; }
  int64_t i64(int col) const { return sqlite3_column_int64(s_.get(), col); }
  double f64(int col) const { return sqlite3_column_double(s_.get(), col); }
  std::string text(int col) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_.get(), col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_.get(), col))) : std::string();
  }
  std::optional<int64_t> opt_i64(int col) const {
    if (is_null(col)) return std::nullopt;
    return i64(col);
  }
  sqlite3_stmt* get() const { return s_.get(); }

 private:
  Owned<sqlite3_stmt, sqlite3_finalize> s_;
};

/// An open connection.
class Db {
 public:
  Db() = default;
  /// Opens (creating with `create`) the file at `path`.
  /// `vfs`: a registered VFS's name (wal_write_buffer.h), or null for SQLite's default.
  [[nodiscard]] static Result<Db> open(const std::string& path, bool create, bool readonly = false,
                                       const char* vfs = nullptr);

  [[nodiscard]] Result<void> exec(std::string_view sql);
  [[nodiscard]] Result<Stmt> prepare(std::string_view sql);
  /// The first column of the first row of `sql` as an integer.
  [[nodiscard]] Result<int64_t> scalar(std::string_view sql);
  int64_t changes() const { return sqlite3_changes(db_.get()); }
  int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_.get()); }
  std::string errmsg() const { return sqlite3_errmsg(db_.get()); }
  const std::string& path() const { return path_; }
  sqlite3* get() const { return db_.get(); }
  explicit operator bool() const { return db_ != nullptr; }

 private:
  Owned<sqlite3, sqlite3_close_v2> db_;
  std::string path_;
};

}  // namespace cronitor::agent::sql
