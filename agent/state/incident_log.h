// The incidents of state.db with what was sent where for each (tables incidents, alerts, outbox),
// for the dashboard's Incidents page and a job's page. Read-only; ISO 8601 UTC times.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "agent/state/sqlite.h"
#include "common/error.h"

namespace cronitor::agent {

/// At most this many alerts are listed per incident (its newest); `alerts` says how many there were.
inline constexpr int kIncidentLogAlerts = 20;

/// Incidents of `key` ("" = every job and the host), open ones first, then newest first, at most
/// `limit`: [{key, kind, opened, resolved|null, reason, alerts (count), sent: [{at, kind, action,
/// summary, suppressed, deliveries: [{target (redacted), state, attempts, last_error}]}]}]. With
/// `notices`, also the alerts outside incidents (test alerts, removals), newest first, under
/// {"incidents": [...], "notices": [...]}; without, {"incidents": [...]}.
[[nodiscard]] Result<nlohmann::json> incident_log(sql::Db& db, const std::string& key, int limit, bool notices);

}  // namespace cronitor::agent
