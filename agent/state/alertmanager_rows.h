// The alert outbox rows of Alertmanager targets (tables outbox, alerts, incidents of state.db).
// Every alert of one incident has the same labels in Alertmanager, so only the newest row per
// target and incident matters: older pending rows are dropped (while Alertmanager is down the
// re-posts of an open incident never pile up, and a stale "firing" never follows the resolution).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "agent/state/sqlite.h"
#include "schedule/zone.h"

namespace cronitor::agent {

using schedule::Instant;

/// An open incident whose alerts were queued for an Alertmanager target.
struct AlertmanagerOpen {
  std::string target, key;
  Instant opened{};
};

/// The open incidents told to Alertmanager targets (at start: their re-posts resume).
[[nodiscard]] Result<std::vector<AlertmanagerOpen>> alertmanager_open(sql::Db& db);

/// Queues a post of the newest alert of `key`'s incident opened at `opened` for `target`, due at
/// `now`: a pending row not being sent (`in_flight`) takes it, else a new row. False when that
/// incident is not open in state.db (nothing queued).
[[nodiscard]] Result<bool> alertmanager_repost(sql::Db& db, const std::string& target, const std::string& key,
                                               Instant opened, Instant now, const std::set<int64_t>& in_flight);

/// Drops the pending rows of `target` for `key` older than its newest pending row, except those
/// being sent. Returns how many went.
[[nodiscard]] Result<int64_t> alertmanager_supersede(sql::Db& db, const std::string& target, const std::string& key,
                                                     const std::set<int64_t>& in_flight);

}  // namespace cronitor::agent
