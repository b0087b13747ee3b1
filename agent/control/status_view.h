// What `status` and `history` show, from the daemon's memory or from state.db: JSON and tables.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agent/eval/monitor.h"
#include "agent/state/state_store.h"
#include "uplink/delivery.h"

namespace cronitor::agent {

/// One monitor's status object: key, name, state, schedule, timezone, source, last_run (the last
/// finished run), open_run (the run in progress, or null), next_expected, paused_until, incident.
nlohmann::json status_json(const std::string& key, const std::string& name, const std::string& schedule,
                           const std::string& timezone, const std::string& source, const MonitorState& s,
                           bool paused_by_config = false, bool awaits_first_run = false);
/// The monitor's one-word state: ok, failing, missed, running, paused, removed, waiting,
/// unreported (nothing reports its runs yet: no deadline until one arrives), or unknown (its
/// last run ended with nobody seeing how: cron's log at -L 1; tables say "outcome unknown").
std::string state_word(const MonitorState& s, bool paused_by_config, bool awaits_first_run = false);
/// A table of status objects, one per line.
std::string status_table(const nlohmann::json& monitors);
/// The cron daemon's incident for `status --json`: opened (ISO 8601, as every time there), reason;
/// null when cron is fine.
nlohmann::json cron_incident_json(const HostState& host);
/// The host's snooze at `now`: {until, since, reason}, or null when it is not snoozed.
nlohmann::json snooze_json(const HostState& host, Instant now);

/// The upstreams for `status --json`: name, stopped (and its HTTP status), delivered, and `held`:
/// the jobs held back because the server refused their check (job, status, since, url, answer),
/// only those `visible` lets the asking user see.
nlohmann::json uplink_json(const std::vector<uplink::UpstreamStats>& stats,
                           const std::function<bool(const std::string& job)>& visible);
/// What `status` says of upstreams that stopped or hold jobs back; empty when all flow.
std::string uplink_notes(const nlohmann::json& uplink);

nlohmann::json run_json(const RunRow& r);
std::string history_table(const nlohmann::json& runs);

}  // namespace cronitor::agent
