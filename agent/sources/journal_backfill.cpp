#include "agent/sources/journal_backfill.h"

#include <systemd/sd-journal.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <set>
#include <string_view>

#include "agent/sources/event_adapter.h"
#include "agent/sources/systemd_host.h"
#include "agent/sources/timer_run_tracker.h"
#include "common/owned.h"

namespace cronitor::agent {
namespace {

constexpr size_t kMaxRunsPerService = 100000;  // invocations kept per service in one backfill
constexpr size_t kTailLines = 10;              // as the live watch quotes (SystemdWatch::Options)
constexpr size_t kMaxTails = 1000;             // failed invocations whose output is looked up

// waitid(2)'s si_code values, as the manager names them in EXIT_CODE= (sigchld_code_to_string).
int exec_code_of(std::string_view word) {
  if (word == "exited") return 1;  // CLD_EXITED
  if (word == "killed") return 2;  // CLD_KILLED
  if (word == "dumped") return 3;  // CLD_DUMPED
  return 0;
}

// A "Started" message that says a Condition*= skipped the start: no process ran, and the
// invocation id it carries is the previous run's (job.c, job_done_message_format).
bool says_skipped(std::string_view message) {
  return message.find("skipped because") != std::string_view::npos ||
         message.find("being skipped") != std::string_view::npos;
}

struct Invocation {
  std::string service;
  std::string id;
  ServiceSnapshot snap;
  bool ended = false;
  bool started_here = false;  // its start is among the entries
  size_t order = 0;           // of its first entry, for a stable output order
};

}  // namespace

ManagerRuns manager_runs(const std::vector<JournalEntry>& entries,
                         const std::map<std::string, std::string>& service_keys, const std::string& host,
                         const std::map<std::string, uint64_t>& open_starts,
                         const std::function<std::string(const std::string&)>& tail) {
  ManagerRuns out;
  std::map<std::string, Invocation> runs;  // by invocation id
  std::map<std::string, size_t> per_service;
  for (size_t n = 0; n < entries.size(); ++n) {
    const JournalEntry& e = entries[n];
    // Only the system manager itself: journald's _PID and _UID, which no sender can choose.
    if (e.pid != 1 || e.uid != 0 || !service_keys.contains(e.unit)) continue;
    if (invocation_run_id(e.invocation_id).empty()) continue;
    const bool starting = e.message_id == kUnitStarting;
    const bool started = e.message_id == kUnitStarted;
    auto it = runs.find(e.invocation_id);
    if (started && says_skipped(e.message)) {
      ++out.skipped;
      continue;
    }
    if (it == runs.end()) {
      if (per_service[e.unit] >= kMaxRunsPerService) continue;
      ++per_service[e.unit];
      Invocation inv;
      inv.service = e.unit;
      inv.id = e.invocation_id;
      inv.order = n;
      inv.snap.invocation_id = e.invocation_id;
      inv.snap.active_state = "active";
      if (starting || started) {
        inv.snap.start_usec = e.realtime_usec;
        inv.started_here = true;
      } else if (auto s = open_starts.find(invocation_run_id(e.invocation_id)); s != open_starts.end()) {
        inv.snap.start_usec = s->second;  // the agent saw it start before it stopped
      }
      it = runs.emplace(e.invocation_id, std::move(inv)).first;
    }
    Invocation& inv = it->second;
    if (inv.ended) continue;  // a oneshot's "Finished" after its end, "Failed to start" after its failure
    ServiceSnapshot& s = inv.snap;
    if (e.message_id == kUnitProcessExit) {
      // The main process only: ExecStartPre= and the like are "Control process" exits.
      if (e.message.find("Main process exited") == std::string::npos) continue;
      s.exec_code = exec_code_of(e.exit_code);
      s.exec_status = e.exit_status.value_or(0);
      s.exit_usec = e.realtime_usec;
    } else if (e.message_id == kUnitSuccess || e.message_id == kUnitFailureResult) {
      const bool failed = e.message_id == kUnitFailureResult;
      inv.ended = true;
      s.active_state = failed ? "failed" : "inactive";
      s.result = failed ? (e.unit_result.empty() ? "exit-code" : e.unit_result) : "success";
      if (!s.exit_usec) s.exit_usec = e.realtime_usec;
      // A success without its process exit (logged at debug level only) is exit status 0:
      // the manager counted the run as a success (Result=success).
      if (!failed && s.exec_code == 0) s.exec_code = 1;
    }
  }
  std::vector<const Invocation*> order;
  for (const auto& [id, inv] : runs) order.push_back(&inv);
  std::sort(order.begin(), order.end(), [](const Invocation* a, const Invocation* b) {
    return a->snap.start_usec != b->snap.start_usec ? a->snap.start_usec < b->snap.start_usec : a->order < b->order;
  });
  for (const Invocation* inv : order) {
    if (inv->snap.start_usec == 0) {
      ++out.unplaced;  // its start came before the entries and the agent did not see it
      continue;
    }
    if (!inv->ended && !inv->started_here) continue;  // only a process exit seen: nothing to tell
    TrackContext ctx;
    ctx.host = host;
    ctx.now_usec = inv->snap.exit_usec;
    if (inv->ended && inv->snap.active_state == "failed" && tail) ctx.output_tail = tail(inv->id);
    ServiceSnapshot snap = inv->snap;
    if (!inv->ended) snap.exit_usec = 0;  // still going as far as the entries tell
    TimerRunTracker tracker;              // one per run: each invocation is new to it
    auto events = tracker.observe(service_keys.at(inv->service), inv->service, snap, ctx);
    if (events.empty()) continue;
    ++out.runs;
    for (auto& ev : events) out.events.push_back(std::move(ev));
  }
  return out;
}

std::optional<int64_t> run_start_ms(const cronitor::RunEvent& e) {
  auto ts = parse_wire_timestamp(e.ts);
  if (!ts) return std::nullopt;
  const int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(ts->time_since_epoch()).count();
  return cronitor::is_terminal(e.state) ? ms - e.duration_ms : ms;
}

size_t drop_recorded(std::vector<cronitor::RunEvent>& events,
                     const std::map<std::string, std::vector<RecordedRun>>& recorded, int64_t tolerance_ms) {
  std::set<std::string> dropped;  // run ids
  std::set<std::string> kept;
  for (const auto& e : events) {
    if (dropped.contains(e.run_id) || kept.contains(e.run_id)) continue;
    auto start = run_start_ms(e);
    auto it = recorded.find(e.key);
    bool twin = false;
    if (start && it != recorded.end())
      for (const auto& r : it->second)
        if (r.run_id != e.run_id && std::llabs(r.started_ms - *start) <= tolerance_ms) twin = true;
    (twin ? dropped : kept).insert(e.run_id);
  }
  std::erase_if(events, [&](const cronitor::RunEvent& e) { return dropped.contains(e.run_id); });
  return dropped.size();
}

void mark_recovered(std::vector<cronitor::RunEvent>& events, const std::string& why) {
  for (auto& e : events) {
    if (e.state != cronitor::RunState::kFail) continue;
    e.error = e.error ? *e.error + "; " + why : why;
  }
}

std::optional<uint64_t> gap_since_usec(std::optional<schedule::Instant> last_seen, schedule::Instant now,
                                       std::chrono::hours max_back) {
  if (!last_seen || *last_seen > now) return std::nullopt;
  const auto from = std::max(*last_seen, now - max_back);
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(from.time_since_epoch()).count();
  return us > 0 ? std::optional<uint64_t>(static_cast<uint64_t>(us)) : std::nullopt;
}

std::optional<std::vector<std::string>> journal_files_setting() {
  const char* env = std::getenv("CRONITOR_JOURNAL");
  if (!env || !*env) return std::vector<std::string>{};
  const std::string_view v = env;
  if (v == "off") return std::nullopt;
  std::vector<std::string> files;
  for (size_t at = 0; at <= v.size();) {
    const size_t colon = std::min(v.find(':', at), v.size());
    if (colon > at) files.emplace_back(v.substr(at, colon - at));
    at = colon + 1;
  }
  return files;
}

namespace {

std::optional<std::string_view> field(sd_journal* j, const char* name) {
  const void* data = nullptr;
  size_t len = 0;
  if (sd_journal_get_data(j, name, &data, &len) < 0) return std::nullopt;
  std::string_view v(static_cast<const char*>(data), len);
  const size_t eq = v.find('=');
  if (eq == std::string_view::npos) return std::nullopt;
  return v.substr(eq + 1);
}

std::optional<int64_t> field_number(std::optional<std::string_view> v) {
  if (!v || v->empty() || v->size() > 10) return std::nullopt;
  bool negative = v->front() == '-';
  if (negative) v->remove_prefix(1);
  if (v->empty()) return std::nullopt;
  int64_t n = 0;
  for (char c : *v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return negative ? -n : n;
}

}  // namespace

Result<ManagerEntries> read_manager_entries(const std::vector<std::string>& files, uint64_t since_usec,
                                            uint64_t until_usec, size_t max_entries) {
  Owned<sd_journal, sd_journal_close> j;
  if (!files.empty()) {
    std::vector<const char*> paths;
    for (const auto& f : files) paths.push_back(f.c_str());
    paths.push_back(nullptr);
    if (int r = sd_journal_open_files(out_ptr(j), paths.data(), 0); r < 0)
      return std::unexpected(Error::from_errno("sd_journal_open_files", "journal", -r));
  } else if (int r = sd_journal_open(out_ptr(j), SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM); r < 0) {
    return std::unexpected(Error::from_errno("sd_journal_open", "journal", -r));
  }
  // Fields of one name are OR-ed, of different names AND-ed: PID 1, as root, one of the ids.
  for (const char* m : {"_PID=1", "_UID=0"})
    if (int r = sd_journal_add_match(j.get(), m, 0); r < 0)
      return std::unexpected(Error::from_errno("sd_journal_add_match", "journal", -r));
  for (const char* id : {kUnitStarting, kUnitStarted, kUnitSuccess, kUnitFailureResult, kUnitProcessExit}) {
    const std::string m = std::string("MESSAGE_ID=") + id;
    if (int r = sd_journal_add_match(j.get(), m.data(), m.size()); r < 0)
      return std::unexpected(Error::from_errno("sd_journal_add_match", "journal", -r));
  }
  if (int r = sd_journal_seek_realtime_usec(j.get(), since_usec); r < 0)
    return std::unexpected(Error::from_errno("sd_journal_seek_realtime_usec", "journal", -r));
  ManagerEntries out;
  std::set<std::string> failed;
  while (sd_journal_next(j.get()) > 0) {
    uint64_t usec = 0;
    if (sd_journal_get_realtime_usec(j.get(), &usec) < 0) continue;
    if (usec < since_usec) continue;
    if (usec > until_usec) break;
    if (out.entries.size() >= max_entries) {
      out.cut = true;
      break;
    }
    JournalEntry e;
    e.realtime_usec = usec;
    e.pid = field_number(field(j.get(), "_PID")).value_or(0);
    e.uid = field_number(field(j.get(), "_UID")).value_or(-1);
    e.message_id = std::string(field(j.get(), "MESSAGE_ID").value_or(""));
    e.unit = std::string(field(j.get(), "UNIT").value_or(""));
    e.invocation_id = std::string(field(j.get(), "INVOCATION_ID").value_or(""));
    e.message = std::string(field(j.get(), "MESSAGE").value_or("").substr(0, 4096));
    e.exit_code = std::string(field(j.get(), "EXIT_CODE").value_or("").substr(0, 16));
    if (auto s = field_number(field(j.get(), "EXIT_STATUS"))) e.exit_status = static_cast<int>(*s);
    e.unit_result = std::string(field(j.get(), "UNIT_RESULT").value_or("").substr(0, 64));
    if (e.message_id == kUnitFailureResult && failed.size() < kMaxTails) failed.insert(e.invocation_id);
    out.entries.push_back(std::move(e));
  }
  for (const auto& id : failed) out.tails[id] = journal_tail_of(j.get(), id, kTailLines);
  return out;
}

}  // namespace cronitor::agent
