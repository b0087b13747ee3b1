#include "agent/state/uplink_outbox.h"

#include <nlohmann/json.hpp>

namespace cronitor::agent {
namespace {

/// Runs `body` in a transaction of its own unless the caller has one open.
template <typename F>
Result<void> in_transaction(sql::Db& db, F&& body) {
  const bool own = sqlite3_get_autocommit(db.get()) != 0;
  if (own)
    if (auto r = db.exec("BEGIN"); !r) return r;
  auto r = body();
  if (!own) return r;
  if (!r) {
    (void)db.exec("ROLLBACK");
    return r;
  }
  return db.exec("COMMIT");
}

}  // namespace

Result<std::unique_ptr<SqlOutbox>> SqlOutbox::open(sql::Db& db) {
  std::unique_ptr<SqlOutbox> o(new SqlOutbox(db));
  struct Item {
    sql::Stmt* stmt;
    const char* sql;
  };
  const Item items[] = {
      {&o->push_, "INSERT INTO uplink_outbox(upstream, job, kind, created_us, payload) VALUES(?1, ?2, ?3, ?4, ?5)"},
      // The index (upstream, id) narrows it to one upstream's rows: a scan of its backlog, once a
      // beat (a minute), only while the upstream is unreachable and rows wait.
      {&o->drop_kind_, "DELETE FROM uplink_outbox WHERE upstream = ?1 AND job = ?2 AND kind = ?3"},
      {&o->head_,
       "SELECT id, job, kind, created_us, payload FROM uplink_outbox WHERE upstream = ?1 ORDER BY id LIMIT ?2"},
      // Only while some job is held back (rare): the plain read stays the drain's fast path.
      {&o->head_skip_,
       "SELECT id, job, kind, created_us, payload FROM uplink_outbox WHERE upstream = ?1 AND job NOT IN (SELECT "
       "value FROM json_each(?3)) ORDER BY id LIMIT ?2"},
      {&o->remove_, "DELETE FROM uplink_outbox WHERE id = ?1"},
      {&o->depth_, "SELECT count(*) FROM uplink_outbox WHERE upstream = ?1"},
      {&o->trim_,
       "DELETE FROM uplink_outbox WHERE upstream = ?1 AND (created_us < ?2 OR id <= coalesce((SELECT id FROM "
       "uplink_outbox WHERE upstream = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?3), -1))"},
  };
  for (const auto& item : items) {
    auto st = db.prepare(item.sql);
    if (!st) return std::unexpected(st.error());
    *item.stmt = std::move(*st);
  }
  return o;
}

Result<void> SqlOutbox::push(const uplink::QueuedRow& row) {
  push_.reset();
  push_.bind(1, row.upstream).bind(2, row.job).bind(3, row.kind).bind(4, row.created_us).bind(5, row.payload);
  auto r = push_.step();
  push_.reset();
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<void> SqlOutbox::replace(const uplink::QueuedRow& row) {
  return in_transaction(db_, [&]() -> Result<void> {
    drop_kind_.reset();
    drop_kind_.bind(1, row.upstream).bind(2, row.job).bind(3, row.kind);
    auto r = drop_kind_.step();
    drop_kind_.reset();
    if (!r) return std::unexpected(r.error());
    return push(row);
  });
}

Result<std::vector<uplink::QueuedRow>> SqlOutbox::head(const std::string& upstream, int limit,
                                                       const std::vector<std::string>& skip_jobs) {
  sql::Stmt& st = skip_jobs.empty() ? head_ : head_skip_;
  std::vector<uplink::QueuedRow> out;
  st.reset();
  st.bind(1, upstream).bind(2, limit);
  if (!skip_jobs.empty())
    st.bind(3, nlohmann::json(skip_jobs).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  while (true) {
    auto row = st.step();
    if (!row) {
      st.reset();
      return std::unexpected(row.error());
    }
    if (!*row) break;
    out.push_back(uplink::QueuedRow{st.i64(0), upstream, st.text(1), st.text(2), st.i64(3), st.text(4)});
  }
  st.reset();
  return out;
}

Result<void> SqlOutbox::remove(const std::vector<int64_t>& ids) {
  return in_transaction(db_, [&]() -> Result<void> {
    for (int64_t id : ids) {
      remove_.reset();
      remove_.bind(1, id);
      auto r = remove_.step();
      remove_.reset();
      if (!r) return std::unexpected(r.error());
    }
    return {};
  });
}

Result<int64_t> SqlOutbox::depth(const std::string& upstream) {
  depth_.reset();
  depth_.bind(1, upstream);
  auto r = depth_.step();
  int64_t n = r && *r ? depth_.i64(0) : 0;
  depth_.reset();
  if (!r) return std::unexpected(r.error());
  return n;
}

Result<int64_t> SqlOutbox::trim(const std::string& upstream, int64_t max_rows, int64_t min_created_us) {
  int64_t n = 0;
  auto r = in_transaction(db_, [&]() -> Result<void> {
    trim_.reset();
    trim_.bind(1, upstream).bind(2, min_created_us).bind(3, max_rows);
    auto s = trim_.step();
    trim_.reset();
    if (!s) return std::unexpected(s.error());
    n = db_.changes();
    return {};
  });
  if (!r) return std::unexpected(r.error());
  return n;
}

}  // namespace cronitor::agent
