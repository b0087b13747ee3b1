// The runs of a gap (the agent stopped, killed or restarting) that the journal still holds: the
// systemd manager's messages about timers' services, turned into the run events the live watch
// (agent/sources/systemd_watch.h) would have sent, and the removal of runs already recorded. Read
// at start, before the downtime and miss judgement (agent/README.md, "Runs of the gap").
// Pure but for read_manager_entries(): entries are inputs, so tests make them up.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "common/event.h"
#include "schedule/zone.h"

namespace cronitor::agent {

/// The fields of one journal entry that the backfill reads. `pid` and `uid` are journald's own
/// (_PID, _UID: from the socket's credentials), never the sender's word.
struct JournalEntry {
  uint64_t realtime_usec = 0;
  int64_t pid = 0;
  int64_t uid = -1;
  std::string message_id;     ///< MESSAGE_ID, 32 lowercase hex digits
  std::string unit;           ///< UNIT= (the system manager's messages about a unit)
  std::string invocation_id;  ///< INVOCATION_ID= of those messages
  std::string message;
  std::string exit_code;  ///< EXIT_CODE= of a process exit: "exited", "killed", "dumped"
  std::optional<int> exit_status;
  std::string unit_result;  ///< UNIT_RESULT= of a failure: "exit-code", "signal", "timeout", ...
};

/// systemd's catalog ids (sd-messages.h) of the messages a run of a service leaves.
inline constexpr char kUnitStarting[] = "7d4958e842da4a758f6c1cdc7b36dcc5";       // SD_MESSAGE_UNIT_STARTING
inline constexpr char kUnitStarted[] = "39f53479d3a045ac8e11786248231fbf";        // SD_MESSAGE_UNIT_STARTED
inline constexpr char kUnitSuccess[] = "7ad2d189f7e94e70a38c781354912448";        // SD_MESSAGE_UNIT_SUCCESS
inline constexpr char kUnitFailureResult[] = "d9b373ed55a64feb8242e02dbe79a49c";  // SD_MESSAGE_UNIT_FAILURE_RESULT
inline constexpr char kUnitProcessExit[] = "98e322203f7a4ed290d09fe03c09fe15";    // SD_MESSAGE_UNIT_PROCESS_EXIT

/// What the manager's entries gave.
struct ManagerRuns {
  std::vector<cronitor::RunEvent> events;  ///< oldest run first; each run's "run" before its end
  size_t runs = 0;                         ///< invocations turned into runs
  size_t skipped = 0;                      ///< starts skipped by a Condition*= (no run)
  size_t unplaced = 0;                     ///< ends whose start is neither in the entries nor open
};

/// The runs of the services in `service_keys` (service unit -> monitor key) that PID 1 logged
/// (entries of another pid or uid are ignored: any local user may log any field). A run is an
/// invocation: it starts at its first "Starting" (Type=oneshot) or "Started" (Type=simple)
/// message and ends at "Deactivated successfully" or "Failed with result", with the main
/// process's exit code or signal where the manager logged it. A run still going at the end of
/// the entries gives its "run" event only. An end whose start came before the entries counts
/// when `open_starts` (run_id -> start, CLOCK_REALTIME µs: runs the agent saw start) holds it.
/// `tail` gives an invocation's last output lines for a failed run (may be null).
ManagerRuns manager_runs(const std::vector<JournalEntry>& entries,
                         const std::map<std::string, std::string>& service_keys, const std::string& host,
                         const std::map<std::string, uint64_t>& open_starts = {},
                         const std::function<std::string(const std::string& invocation_id)>& tail = nullptr);

/// A run already in state.db: its id and start (ms since the epoch).
struct RecordedRun {
  std::string run_id;
  int64_t started_ms = 0;
};

/// Drops the events of runs recorded already under another run id: a run of the same key that
/// started within `tolerance_ms` (a wrapped run that went to the spool, a cron line the live
/// watch read before the agent stopped). Runs recorded under the same id stay (the store keeps
/// each state once, and their end may be new). Returns how many runs were dropped.
size_t drop_recorded(std::vector<cronitor::RunEvent>& events,
                     const std::map<std::string, std::vector<RecordedRun>>& recorded, int64_t tolerance_ms = 2000);

/// Marks the failures among `events` as recovered from the journal (the alert says so).
void mark_recovered(std::vector<cronitor::RunEvent>& events, const std::string& why);

/// The start of a run event's run, ms since the epoch (a terminal event: its ts less its duration).
std::optional<int64_t> run_start_ms(const cronitor::RunEvent& e);

/// Where the gap to recover begins (CLOCK_REALTIME µs): the agent's last sign of life before
/// `now` (state.db's last_seen, saved every minute and at a stop), at most `max_back` ago; nullopt
/// on a first start.
std::optional<uint64_t> gap_since_usec(std::optional<schedule::Instant> last_seen, schedule::Instant now,
                                       std::chrono::hours max_back = std::chrono::hours(7 * 24));

/// Where the journal is read from: CRONITOR_JOURNAL names journal files (':'-separated; tests,
/// a journal copied off a host) or "off"; unset, the local journal. nullopt: off.
std::optional<std::vector<std::string>> journal_files_setting();

/// PID 1's messages about units from `since_usec` to `until_usec` (CLOCK_REALTIME), at most
/// `max_entries` (`cut` set when there were more), from `files` or the local journal (empty),
/// with the last output lines of each invocation that failed.
struct ManagerEntries {
  std::vector<JournalEntry> entries;
  bool cut = false;
  std::map<std::string, std::string> tails;  ///< invocation id -> last output lines (failed runs)
};
[[nodiscard]] Result<ManagerEntries> read_manager_entries(const std::vector<std::string>& files, uint64_t since_usec,
                                                          uint64_t until_usec, size_t max_entries = 200000);

}  // namespace cronitor::agent
