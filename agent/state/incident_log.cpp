#include "agent/state/incident_log.h"

#include <chrono>

#include "agent/eval/evaluator_rules.h"
#include "uplink/notify_target.h"

namespace cronitor::agent {
namespace {

using nlohmann::json;

json iso_us(const sql::Stmt& st, int col) {
  if (st.is_null(col)) return nullptr;
  return rules::iso(Instant(std::chrono::microseconds(st.i64(col))), schedule::Zone::utc());
}

/// A target as output may show it: a webhook's secret path or a routing key is not for a page.
std::string shown_target(const std::string& text) {
  auto t = uplink::NotifyTarget::parse(text);
  if (t) return t->redacted();
  return text.substr(0, text.find(':'));
}

/// The alerts of one incident (or, with incident 0, those outside any), each with its deliveries.
Result<json> alerts_of(sql::Db& db, const std::string& key, int64_t incident, int limit) {
  // Newest `limit` alerts first, then their outbox rows: alerts_incident(incident_id, id) finds
  // the alerts (`incident_id IS ?2`, NULL for those outside any; a CASE there scanned every alert)
  // and outbox_alert(alert_id) their deliveries.
  auto st = db.prepare(
      "SELECT a.id, a.key, a.kind, a.action, a.at_us, a.summary, a.suppressed, o.target, o.state, o.attempts, "
      "o.last_error FROM (SELECT * FROM alerts WHERE (?1 = '' OR key = ?1) AND incident_id IS ?2 "
      "ORDER BY id DESC LIMIT ?3) a LEFT JOIN outbox o ON o.alert_id = a.id ORDER BY a.id DESC, o.id");
  if (!st) return std::unexpected(st.error());
  st->bind(1, key).bind(2, incident == 0 ? std::nullopt : std::optional<int64_t>(incident)).bind(3, limit);
  json out = json::array();
  int64_t last = -1;
  while (true) {
    auto row = st->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    if (st->i64(0) != last) {
      last = st->i64(0);
      out.push_back({{"key", st->text(1)},
                     {"kind", st->text(2)},
                     {"action", st->text(3)},
                     {"at", iso_us(*st, 4)},
                     {"summary", st->text(5)},
                     {"suppressed", st->i64(6) != 0},
                     {"deliveries", json::array()}});
    }
    if (!st->is_null(7))
      out.back()["deliveries"].push_back({{"target", shown_target(st->text(7))},
                                          {"state", st->text(8)},
                                          {"attempts", st->i64(9)},
                                          {"last_error", st->is_null(10) ? json() : json(st->text(10))}});
  }
  return out;
}

}  // namespace

Result<json> incident_log(sql::Db& db, const std::string& key, int limit, bool notices) {
  auto st = db.prepare(
      "SELECT id, key, kind, opened_us, resolved_us, alerts, reason FROM incidents WHERE (?1 = '' OR key = ?1) "
      "ORDER BY resolved_us IS NULL DESC, opened_us DESC LIMIT ?2");
  if (!st) return std::unexpected(st.error());
  st->bind(1, key).bind(2, limit);
  json list = json::array();
  while (true) {
    auto row = st->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    const std::string k = st->text(1);
    auto sent = alerts_of(db, k, st->i64(0), kIncidentLogAlerts);
    if (!sent) return std::unexpected(sent.error());
    list.push_back({{"key", k},
                    {"kind", st->text(2)},
                    {"opened", iso_us(*st, 3)},
                    {"resolved", iso_us(*st, 4)},
                    {"alerts", st->i64(5)},
                    {"reason", st->is_null(6) ? json() : json(st->text(6))},
                    {"sent", std::move(*sent)}});
  }
  json out = {{"incidents", std::move(list)}};
  if (notices) {
    auto n = alerts_of(db, key, 0, limit);
    if (!n) return std::unexpected(n.error());
    out["notices"] = std::move(*n);
  }
  return out;
}

}  // namespace cronitor::agent
