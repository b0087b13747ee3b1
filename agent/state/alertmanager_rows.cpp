#include "agent/state/alertmanager_rows.h"

#include "agent/state/state_json.h"

namespace cronitor::agent {
namespace {

/// The pending rows of `target` for `key`, newest first (the outbox_due index: few rows).
Result<std::vector<int64_t>> pending_rows(sql::Db& db, const std::string& target, const std::string& key) {
  auto st = db.prepare(
      "SELECT o.id FROM outbox o JOIN alerts a ON a.id = o.alert_id "
      "WHERE o.state = 'pending' AND o.target = ?1 AND a.key = ?2 ORDER BY o.id DESC");
  if (!st) return std::unexpected(st.error());
  st->bind(1, target).bind(2, key);
  std::vector<int64_t> ids;
  while (true) {
    auto row = st->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    ids.push_back(st->i64(0));
  }
  return ids;
}

Result<void> drop(sql::Db& db, int64_t id) {
  auto st = db.prepare("DELETE FROM outbox WHERE id = ?1");
  if (!st) return std::unexpected(st.error());
  st->bind(1, id);
  if (auto r = st->step(); !r) return std::unexpected(r.error());
  return {};
}

}  // namespace

Result<std::vector<AlertmanagerOpen>> alertmanager_open(sql::Db& db) {
  auto st = db.prepare(
      "SELECT DISTINCT o.target, i.key, i.opened_us FROM incidents i "
      "JOIN alerts a ON a.key = i.key AND a.incident_id = i.id JOIN outbox o ON o.alert_id = a.id "
      "WHERE i.resolved_us IS NULL AND o.target LIKE 'alertmanager:%'");
  if (!st) return std::unexpected(st.error());
  std::vector<AlertmanagerOpen> out;
  while (true) {
    auto row = st->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.push_back({st->text(0), st->text(1), from_us(st->i64(2))});
  }
  return out;
}

Result<bool> alertmanager_repost(sql::Db& db, const std::string& target, const std::string& key, Instant opened,
                                 Instant now, const std::set<int64_t>& in_flight) {
  auto newest = db.prepare(
      "SELECT max(a.id) FROM incidents i JOIN alerts a ON a.key = i.key AND a.incident_id = i.id "
      "WHERE i.key = ?1 AND i.opened_us = ?2 AND i.resolved_us IS NULL");
  if (!newest) return std::unexpected(newest.error());
  newest->bind(1, key).bind(2, to_us(opened));
  auto row = newest->step();
  if (!row) return std::unexpected(row.error());
  if (!*row || newest->is_null(0)) return false;
  const int64_t alert_id = newest->i64(0);
  auto ids = pending_rows(db, target, key);
  if (!ids) return std::unexpected(ids.error());
  for (int64_t id : *ids)
    if (in_flight.contains(id)) return true;  // being posted right now: that is this interval's post
  if (ids->empty()) {
    auto ins = db.prepare("INSERT INTO outbox(alert_id, target, next_us) VALUES(?1, ?2, ?3)");
    if (!ins) return std::unexpected(ins.error());
    ins->bind(1, alert_id).bind(2, target).bind(3, to_us(now));
    if (auto r = ins->step(); !r) return std::unexpected(r.error());
    return true;
  }
  // Alertmanager is down (or slow): the row waiting for it takes the newest alert and is tried at
  // once, keeping its count of attempts (its back-off, its log lines and its giving up).
  auto upd = db.prepare("UPDATE outbox SET alert_id = ?2, next_us = min(next_us, ?3) WHERE id = ?1");
  if (!upd) return std::unexpected(upd.error());
  upd->bind(1, ids->front()).bind(2, alert_id).bind(3, to_us(now));
  if (auto r = upd->step(); !r) return std::unexpected(r.error());
  for (size_t i = 1; i < ids->size(); ++i)
    if (auto r = drop(db, (*ids)[i]); !r) return std::unexpected(r.error());
  return true;
}

Result<int64_t> alertmanager_supersede(sql::Db& db, const std::string& target, const std::string& key,
                                       const std::set<int64_t>& in_flight) {
  auto ids = pending_rows(db, target, key);
  if (!ids) return std::unexpected(ids.error());
  int64_t dropped = 0;
  for (size_t i = 1; i < ids->size(); ++i)
    if (!in_flight.contains((*ids)[i])) {
      if (auto r = drop(db, (*ids)[i]); !r) return std::unexpected(r.error());
      ++dropped;
    }
  return dropped;
}

}  // namespace cronitor::agent
