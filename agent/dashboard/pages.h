// The dashboard's pages as HTML text, from the data of `status --json` and `history --json`.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "schedule/schedule.h"
#include "schedule/zone.h"

namespace cronitor::agent::dashboard {

/// What every page needs besides its data.
struct PageContext {
  schedule::Instant now{};    // for "5 min ago"
  std::string agent_version;  // shown in the host facts
  std::string csrf;           // the session's CSRF token: empty, no action forms are drawn
  std::string done;           // the one-line result of the last action, shown once
};

/// The overview's filters, from the query string (?state=failing&q=backup&page=2): empty shows all.
struct OverviewFilter {
  std::string state;  // a state word (ok, failing, missed, ...)
  std::string text;   // a case-insensitive part of the key, name, schedule or source
  size_t page = 1;    // which kOverviewPageJobs of the jobs they match, from 1 (past the last: the last)
};

/// The jobs one overview page lists at most. The daemon draws a page on its loop and reads each
/// listed job's runs for it (about 0.1 ms a job of 60 runs: dashboard_bench), so a host of 10,000
/// jobs is shown a thousand at a time, failing first, and the loop is held as for 1,000.
inline constexpr size_t kOverviewPageJobs = 1000;

/// The page "?page=" names: digits only (at most 9), 0 and anything else are page 1.
size_t overview_page_number(std::string_view text);

/// The monitors an overview page lists: the status reply's monitors `filter` matches, failing
/// first, then by key; of those, the filter's page.
struct OverviewRows {
  std::vector<const nlohmann::json*> rows;  // into the status reply, in the page's order
  size_t matched = 0;                       // monitors the filter matches, on every page
  size_t total = 0;                         // monitors of the status reply
  size_t page = 1;                          // the page listed: the filter's, within 1..pages
  size_t pages = 1;
};
OverviewRows overview_rows(const nlohmann::json& status, const OverviewFilter& filter);

/// The runs shown per job in the overview's strip.
inline constexpr size_t kStripRuns = 60;

/// The overview page. `status` is the status reply (`status --json`: monitors, host, daemon,
/// cron_incident, snooze, systemd, ...); `runs` each monitor's recent runs by key, newest first,
/// as `history --json` prints them (a key missing: no runs), needed for overview_rows' rows only.
/// Failing and missed jobs come first; past kOverviewPageJobs, links lead to the other pages.
std::string overview_page(const nlohmann::json& status, const std::unordered_map<std::string, nlohmann::json>& runs,
                          const OverviewFilter& filter, const PageContext& ctx);
/// The same page from the rows overview_rows(status, filter) gave (the server reads their runs first).
std::string overview_page(const nlohmann::json& status, const OverviewRows& listed,
                          const std::unordered_map<std::string, nlohmann::json>& runs, const OverviewFilter& filter,
                          const PageContext& ctx);

/// A job page's chart and runs cover this many days at most (and kJobPageRuns runs).
inline constexpr int kJobPageDays = 30;

/// How long after its latest slot (the schedule's last fire time at or before `started`) a run
/// started; nullopt for interval and @reboot schedules. The runs table's "Start delay".
std::optional<int64_t> start_delay_ms(const schedule::Schedule& sched, const schedule::Zone& zone,
                                      schedule::Instant started);

/// One job's page: `monitor` one status object of `status --json`, `runs` its history, newest first;
/// `incidents` its incident_log() (agent/state/incident_log.h) list, `extras` job_extras()
/// (job_settings.h): settings in force and suggested. Null ones are left out.
std::string job_page(const nlohmann::json& monitor, const nlohmann::json& runs, const PageContext& ctx,
                     const nlohmann::json& incidents = nullptr, const nlohmann::json& extras = nullptr);

/// The Incidents page: `log` as incident_log() returns it with notices (open first, then recent).
std::string incidents_page(const nlohmann::json& log, const PageContext& ctx);
/// The table of incidents with what was sent where and when (the Incidents page, a job's page).
std::string incidents_table(const nlohmann::json& incidents, bool with_job);
/// A POST form to `action` carrying the CSRF token: `fields` (HTML) then a button saying `button`.
std::string action_form(std::string_view action, std::string_view csrf, std::string_view fields,
                        std::string_view button);

/// The order of the overview: failing, missed, running, waiting, unreported, ok, paused, removed.
int state_rank(std::string_view state);

}  // namespace cronitor::agent::dashboard
