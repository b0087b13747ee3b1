#include "agent/state/state_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <string_view>

#include "agent/state/state_json.h"
#include "agent/state/wal_write_buffer.h"
#include "common/unique_fd.h"

namespace cronitor::agent {
namespace {

using nlohmann::json;

// Each entry migrates from user_version i to i+1.
constexpr const char* kMigrations[] = {
    // 0 -> 1: jobs, runs, host state.
    R"sql(
CREATE TABLE jobs(key TEXT PRIMARY KEY, name TEXT, schedule TEXT, timezone TEXT, source TEXT,
                  state TEXT NOT NULL, updated_us INTEGER);
CREATE TABLE runs(id INTEGER PRIMARY KEY, key TEXT NOT NULL, run_id TEXT NOT NULL UNIQUE,
                  status TEXT, started_ms INTEGER, ended_ms INTEGER, duration_ms INTEGER,
                  exit_code INTEGER, signal TEXT, oom INTEGER, output_tail TEXT, metrics TEXT,
                  host TEXT, uid INTEGER, received_ms INTEGER,
                  has_run INTEGER NOT NULL DEFAULT 0, has_end INTEGER NOT NULL DEFAULT 0);
CREATE INDEX runs_key ON runs(key, id);
CREATE TABLE host(id INTEGER PRIMARY KEY CHECK (id = 1), state TEXT NOT NULL);
)sql",
    // 1 -> 2: incidents, alerts and the alert outbox.
    R"sql(
CREATE TABLE incidents(id INTEGER PRIMARY KEY, key TEXT NOT NULL, kind TEXT, opened_us INTEGER NOT NULL,
                       resolved_us INTEGER, alerts INTEGER NOT NULL DEFAULT 0, reason TEXT,
                       UNIQUE(key, opened_us));
CREATE TABLE alerts(id INTEGER PRIMARY KEY, incident_id INTEGER, key TEXT NOT NULL, kind TEXT,
                    action TEXT, at_us INTEGER, summary TEXT, detail TEXT, suppressed INTEGER,
                    body TEXT NOT NULL);
CREATE INDEX alerts_key ON alerts(key, id);
CREATE TABLE outbox(id INTEGER PRIMARY KEY, alert_id INTEGER NOT NULL, target TEXT NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0, next_us INTEGER NOT NULL, last_error TEXT,
                    state TEXT NOT NULL DEFAULT 'pending');
CREATE INDEX outbox_due ON outbox(state, next_us);
)sql",
    // 2 -> 3: the uid that owns a job (may report its runs), so that a key first learnt from a
    // run keeps its owner across restarts.
    R"sql(
ALTER TABLE jobs ADD COLUMN uid INTEGER;
)sql",
    // 3 -> 4: the upstream outbox (agent/state/uplink_outbox.cpp): one row per event and upstream.
    R"sql(
CREATE TABLE uplink_outbox(id INTEGER PRIMARY KEY, upstream TEXT NOT NULL, job TEXT NOT NULL, kind TEXT NOT NULL,
                           created_us INTEGER NOT NULL, payload TEXT NOT NULL);
CREATE INDEX uplink_outbox_upstream ON uplink_outbox(upstream, id);
)sql",
    // 4 -> 5: a heartbeat replaces the one still queued (SqlOutbox::replace): found by its
    // upstream, kind and job, not by reading every row of a backlog (250,000 rows: 0.1-0.2 s).
    R"sql(
CREATE INDEX uplink_outbox_kind ON uplink_outbox(upstream, kind, job);
)sql",
    // 5 -> 6: the reads of the dashboard and `history` find their rows instead of scanning. An
    // incident's alerts by incident, their deliveries by alert (incident_log: the Incidents page
    // scanned alerts, then outbox, per incident), and a job's newest runs in history()'s order
    // (it read and sorted every stored run of the job, up to retention.runs, to list 60).
    R"sql(
CREATE INDEX alerts_incident ON alerts(incident_id, id);
CREATE INDEX outbox_alert ON outbox(alert_id);
CREATE INDEX runs_key_start ON runs(key, coalesce(started_ms, ended_ms), id);
)sql",
};
static_assert(std::size(kMigrations) == kSchemaVersion);

/// Run at every open, after the migrations: history()'s order comes from an index that a run's
/// end leaves alone. runs_key_start (schema 6) reads ended_ms in its expression, so every end
/// event rewrote one of its leaves: 32 of the 78 WAL frames of a 32-event commit in agent_bench
/// events (40 before schema 6). started_ms is written when the run is inserted; history() orders
/// the few runs without one by their end. Not a schema version: an agent of schema 6 still opens
/// the file (its history() then sorts without an index).
/// runs_key(key, id) goes too: every run inserted wrote one of its leaves (16 of the WAL frames
/// of a 32-event commit, one per key), and nothing needs it once runs are pruned in history's
/// order, by runs_key_started (prune_key, prune; EXPLAIN QUERY PLAN of every query on runs).
constexpr const char* kRunIndexes = R"sql(
DROP INDEX IF EXISTS runs_key_start;
DROP INDEX IF EXISTS runs_key;
CREATE INDEX IF NOT EXISTS runs_key_started ON runs(key, started_ms, id);
)sql";

// history()'s columns; the tail is cut in SQLite (its last bytes as a blob), so a long listing
// never reads every output, and ?3 = 0 reads none (substr(x, -0) would be all of it) and cuts
// none: measuring the tail read it too (1,000 keys' 60 runs with 8,000-byte tails: 293-301 ms
// with the length read, 197-210 ms without; sqlite3 3.40.1).
constexpr std::string_view kHistoryColumns =
    "key, run_id, status, started_ms, ended_ms, duration_ms, exit_code, signal, oom, CASE WHEN ?3 = 0 THEN '' WHEN "
    "length(CAST(output_tail AS BLOB)) > ?3 THEN substr(CAST(output_tail AS BLOB), -?3) ELSE output_tail END, "
    "metrics, host, CASE WHEN ?3 = 0 THEN 0 ELSE length(CAST(output_tail AS BLOB)) > ?3 END";

std::string stamp() {
  char buf[32];
  std::time_t t = std::time(nullptr);
  std::tm tm;
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

/// Moves `path` and its WAL files aside as `path.WHY-STAMP`; returns the new name.
Result<std::string> move_aside(const std::string& path, const std::string& why) {
  std::string to = path + "." + why + "-" + stamp();
  if (std::rename(path.c_str(), to.c_str()) != 0) return std::unexpected(Error::from_errno("rename", path));
  for (const char* suffix : {"-wal", "-shm"}) {
    std::string from = path + suffix;
    std::rename(from.c_str(), (to + suffix).c_str());
  }
  return to;
}

const char* action_name(Action::Type t) {
  switch (t) {
    case Action::Type::kOpen:
      return "open";
    case Action::Type::kUpdate:
      return "update";
    case Action::Type::kSuppressed:
      return "suppressed";
    case Action::Type::kResolve:
      return "resolve";
    case Action::Type::kNotice:
      return "notice";
  }
  return "?";
}

std::string metrics_json(const std::map<std::string, double>& m) {
  if (m.empty()) return "{}";  // most runs: no JSON library round trip
  json j = json::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

Result<StateStore> StateStore::open(const std::string& path, std::vector<std::string>* warnings) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    // It holds the notify URLs (their tokens) and every job's output: root's alone. SQLite gives
    // its -wal and -shm files the mode of the database file.
    if (const UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)); fd) {
      struct stat st;
      if (::fstat(fd.get(), &st) == 0 && (st.st_mode & 077) != 0) ::fchmod(fd.get(), 0600);
    }
    for (const char* suffix : {"-wal", "-shm"}) ::chmod((path + suffix).c_str(), 0600);
    // The writer's log writes go out once per commit (wal_write_buffer.h); the checkpoint
    // thread's connection and readers use SQLite's default VFS.
    auto db = sql::Db::open(path, true, false, wal_write_buffer_vfs());
    if (!db) return std::unexpected(db.error());
    StateStore s;
    s.db_ = std::move(*db);
    std::string problem;
    {
      auto check = s.db_.prepare("PRAGMA quick_check");
      if (!check) {
        problem = check.error().message;
      } else if (auto row = check->step(); !row || !*row || check->text(0) != "ok") {
        problem = row ? (*row ? check->text(0) : "quick_check returned nothing") : row.error().message;
      }
    }
    std::string why = "corrupt";
    if (problem.empty()) {
      auto version = s.db_.scalar("PRAGMA user_version");
      if (!version) {
        problem = version.error().message;
      } else if (*version > kSchemaVersion) {
        problem = "schema version " + std::to_string(*version) + " is newer than this agent's " +
                  std::to_string(kSchemaVersion);
        why = "future";
      }
    }
    if (problem.empty()) {
      // WAL + NORMAL: a commit is in the WAL file (the page cache) before it returns, so an
      // acknowledged event survives the agent being killed; CRONITOR_STATE_SYNC=full also
      // fsyncs every commit, for power loss.
      const char* sync = std::getenv("CRONITOR_STATE_SYNC");
      const bool full = sync && std::string_view(sync) == "full";
      // The log between checkpoints: a share of the state disk (wal_budget.h).
      s.wal_ = wal_budget_at(std::filesystem::path(path).parent_path().string());
      const std::string pragmas =
          std::string("PRAGMA journal_mode=WAL; PRAGMA synchronous=") + (full ? "FULL" : "NORMAL") +
          "; PRAGMA cache_size=-4096; PRAGMA journal_size_limit=" + std::to_string(s.wal_.limit_bytes()) + ";";
      if (auto r = s.db_.exec(pragmas); !r) return std::unexpected(r.error());
      if (auto r = s.migrate(); !r) return std::unexpected(r.error());
      if (auto r = s.db_.exec(kRunIndexes); !r && warnings)  // history() is right without it, only slower
        warnings->push_back("state file \"" + path + "\": indexing runs: " + r.error().message);
      if (auto r = s.prepare_all(); !r) return std::unexpected(r.error());
      return s;
    }
    if (attempt == 1) return fail("\"" + path + "\": " + problem);
    s.db_ = sql::Db();  // close before renaming
    auto moved = move_aside(path, why);
    if (!moved) return std::unexpected(moved.error());
    if (warnings)
      warnings->push_back("state file \"" + path + "\" unusable (" + problem + "), moved aside to \"" + *moved +
                          "\"; starting with an empty state");
  }
  return fail("unreachable");
}

Result<StateStore> StateStore::open_readonly(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return std::unexpected(Error::from_errno("stat", path));
  auto db = sql::Db::open(path, false, true);
  if (!db) return std::unexpected(db.error());
  StateStore s;
  s.db_ = std::move(*db);
  auto version = s.db_.scalar("PRAGMA user_version");
  if (!version) return std::unexpected(version.error());
  if (*version != kSchemaVersion)
    return fail("\"" + path + "\": schema version " + std::to_string(*version) + ", expected " +
                std::to_string(kSchemaVersion));
  if (auto r = s.prepare_all(); !r) return std::unexpected(r.error());
  return s;
}

Result<void> StateStore::migrate() {
  auto version = db_.scalar("PRAGMA user_version");
  if (!version) return std::unexpected(version.error());
  for (int64_t v = *version; v < kSchemaVersion; ++v) {
    if (auto r = db_.exec("BEGIN IMMEDIATE"); !r) return r;
    auto r = db_.exec(kMigrations[v]);
    if (r) r = db_.exec("PRAGMA user_version=" + std::to_string(v + 1));
    if (!r) {
      (void)db_.exec("ROLLBACK");
      return fail("migrating \"" + db_.path() + "\" to version " + std::to_string(v + 1) + ": " + r.error().message);
    }
    if (auto c = db_.exec("COMMIT"); !c) return c;
  }
  return {};
}

Result<void> StateStore::prepare_all() {
  struct Item {
    sql::Stmt* stmt;
    const char* sql;
  };
  const std::string columns(kHistoryColumns);
  const std::string history_merged =
      "SELECT " + columns +
      " FROM runs WHERE id IN (SELECT id FROM (SELECT id FROM runs WHERE key = ?1 AND started_ms IS NOT NULL ORDER "
      "BY started_ms DESC, id DESC LIMIT ?2) UNION ALL SELECT id FROM (SELECT id FROM runs WHERE key = ?1 AND "
      "started_ms IS NULL ORDER BY ended_ms DESC, id DESC LIMIT ?2)) ORDER BY coalesce(started_ms, ended_ms) DESC, "
      "id DESC LIMIT ?2";
  const std::string history_started = "SELECT " + columns +
                                      " FROM runs WHERE key = ?1 AND started_ms IS NOT NULL ORDER BY started_ms "
                                      "DESC, id DESC LIMIT ?2";
  const Item items[] = {
      {&ins_run_,
       "INSERT INTO runs(key, run_id, status, started_ms, host, uid, received_ms, has_run) "
       "VALUES(?1, ?2, 'running', ?3, ?4, ?5, ?6, 1) ON CONFLICT(run_id) DO UPDATE SET has_run = 1, "
       "started_ms = coalesce(runs.started_ms, excluded.started_ms) "
       "WHERE runs.has_run = 0 AND runs.has_end = 0 AND runs.key = excluded.key"},
      {&upd_end_,
       "INSERT INTO runs(key, run_id, status, started_ms, ended_ms, duration_ms, exit_code, signal, "
       "oom, output_tail, metrics, host, uid, received_ms, has_end) "
       "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 1) "
       "ON CONFLICT(run_id) DO UPDATE SET status = excluded.status, ended_ms = excluded.ended_ms, "
       "duration_ms = excluded.duration_ms, exit_code = excluded.exit_code, signal = excluded.signal, "
       "oom = excluded.oom, output_tail = excluded.output_tail, "
       "metrics = json_patch(coalesce(runs.metrics, '{}'), excluded.metrics), has_end = 1 "
       "WHERE runs.has_end = 0 AND runs.key = excluded.key"},
      {&upd_metric_,
       "INSERT INTO runs(key, run_id, status, metrics, host, uid, received_ms) "
       "VALUES(?1, ?2, 'running', ?3, ?4, ?5, ?6) ON CONFLICT(run_id) DO UPDATE SET "
       "metrics = json_patch(coalesce(runs.metrics, '{}'), excluded.metrics) WHERE runs.key = excluded.key"},
      {&get_metrics_, "SELECT metrics FROM runs WHERE run_id = ?1"},
      {&history_, history_merged.c_str()},
      {&history_started_, history_started.c_str()},
      {&has_unstarted_, "SELECT 1 FROM runs WHERE key = ?1 AND started_ms IS NULL LIMIT 1"},
      {&save_job_,
       "INSERT INTO jobs(key, name, schedule, timezone, source, state, updated_us, uid) "
       "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(key) DO UPDATE SET name = excluded.name, "
       "schedule = excluded.schedule, timezone = excluded.timezone, source = excluded.source, "
       "state = excluded.state, updated_us = excluded.updated_us, uid = excluded.uid"},
      {&save_state_, "UPDATE jobs SET state = ?2, updated_us = ?3 WHERE key = ?1"},
      {&ins_alert_,
       "INSERT INTO alerts(incident_id, key, kind, action, at_us, summary, detail, suppressed, body) "
       "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"},
      {&ins_outbox_, "INSERT INTO outbox(alert_id, target, next_us) VALUES(?1, ?2, ?3)"},
      {&open_inc_,
       "INSERT INTO incidents(key, kind, opened_us, alerts, reason) VALUES(?1, ?2, ?3, 1, ?4) "
       "ON CONFLICT(key, opened_us) DO UPDATE SET reason = excluded.reason"},
      {&upd_inc_, "UPDATE incidents SET alerts = alerts + ?2, reason = ?3 WHERE id = ?1"},
      {&resolve_inc_, "UPDATE incidents SET resolved_us = ?2 WHERE id = ?1"},
      {&find_inc_, "SELECT id FROM incidents WHERE key = ?1 AND opened_us = ?2"},
      {&count_key_runs_, "SELECT count(*) FROM runs WHERE key = ?1"},
      {&prune_key_,
       "DELETE FROM runs WHERE id IN (SELECT id FROM (SELECT id, t FROM (SELECT id, started_ms AS t FROM runs "
       "WHERE key = ?1 AND started_ms IS NOT NULL ORDER BY started_ms, id LIMIT ?2) UNION ALL SELECT id, t FROM "
       "(SELECT id, ended_ms AS t FROM runs WHERE key = ?1 AND started_ms IS NULL ORDER BY ended_ms, id LIMIT ?2)) "
       "ORDER BY t, id LIMIT ?2)"},
  };
  for (const auto& item : items) {
    auto st = db_.prepare(item.sql);
    if (!st) return std::unexpected(st.error());
    *item.stmt = std::move(*st);
  }
  return {};
}

bool StateStore::out_of_space() const { return (sqlite3_extended_errcode(db_.get()) & 0xff) == SQLITE_FULL; }

Result<void> StateStore::checkpoint_in_background() {
  if (checkpointer_) return {};
  auto c = Checkpointer::start(db_.get(), db_.path(), wal_.checkpoint_pages());
  if (!c) return std::unexpected(c.error());
  checkpointer_ = std::move(*c);
  return {};
}

Result<void> StateStore::begin() { return db_.exec("BEGIN IMMEDIATE"); }
Result<void> StateStore::commit() { return db_.exec("COMMIT"); }
void StateStore::rollback() { (void)db_.exec("ROLLBACK"); }

Result<bool> StateStore::record_event(const RunEvent& ev, Instant received,
                                      std::map<std::string, double>* merged_metrics) {
  const int64_t ts = to_ms(ev.ts);
  // Text bound without copies: `ev` and `metrics` outlive the step and the reset after it.
  std::string metrics;
  sql::Stmt* st;
  if (ev.state == RunEvent::State::kRun) {
    st = &ins_run_;
    st->bind_static(1, ev.key)
        .bind_static(2, ev.run_id)
        .bind(3, ts)
        .bind_static(4, ev.host)
        .bind(5, ev.uid)
        .bind(6, to_ms(received));
  } else {
    st = &upd_end_;
    // An unknown outcome (cron's log at -L 1) has no end, duration or exit code: `ts` is its start.
    const bool unknown = ev.state == RunEvent::State::kUnknown;
    int64_t dur = ev.duration_ms.value_or(0);
    metrics = metrics_json(ev.metrics);
    st->bind_static(1, ev.key)
        .bind_static(2, ev.run_id)
        .bind(3, unknown                                  ? "unknown"
                 : ev.state == RunEvent::State::kComplete ? "ok"
                                                          : "failed")
        .bind(4, unknown ? ts : ts - dur)
        .bind(5, unknown ? std::nullopt : std::optional<int64_t>(ts))
        .bind(6, unknown ? std::nullopt : std::optional<int64_t>(dur))
        .bind(7, ev.exit_code)
        .bind_static(8, ev.signal)
        .bind(9, ev.oom ? 1 : 0)
        .bind_static(10, ev.output_tail)
        .bind_static(11, metrics)
        .bind_static(12, ev.host)
        .bind(13, ev.uid)
        .bind(14, to_ms(received));
  }
  auto r = st->step();
  st->reset();
  if (!r) return std::unexpected(r.error());
  const bool stored = db_.changes() > 0;  // 0: the upsert's WHERE kept the row as it was
  if (st == &upd_end_ && stored && merged_metrics) {
    // The run's metrics merged with earlier metric events (json_patch above), read back by
    // run_id. Not with RETURNING: SQLite buffers RETURNING rows in an ephemeral table, a b-tree
    // opened and freed for each end event, which cost more than this lookup.
    get_metrics_.bind_static(1, ev.run_id);
    auto row = get_metrics_.step();
    if (row && *row && sqlite3_column_bytes(get_metrics_.get(), 0) > 2) {  // more than "{}"
      auto j = json::parse(get_metrics_.text(0), nullptr, false);
      if (j.is_object())
        for (auto it = j.begin(); it != j.end(); ++it)
          if (it.value().is_number()) (*merged_metrics)[it.key()] = it.value().get<double>();
    }
    get_metrics_.reset();
    if (!row) return std::unexpected(row.error());
  }
  return stored;
}

Result<void> StateStore::record_metrics(const std::string& key, const std::string& run_id,
                                        const std::map<std::string, double>& metrics, const std::string& host,
                                        int64_t uid, Instant received) {
  upd_metric_.bind(1, key)
      .bind(2, run_id)
      .bind(3, metrics_json(metrics))
      .bind(4, host)
      .bind(5, uid)
      .bind(6, to_ms(received));
  auto r = upd_metric_.step();
  upd_metric_.reset();
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<std::map<std::string, double>> StateStore::run_metrics(const std::string& run_id) {
  std::map<std::string, double> out;
  get_metrics_.bind(1, run_id);
  auto row = get_metrics_.step();
  std::string text = row && *row ? get_metrics_.text(0) : std::string();
  get_metrics_.reset();
  if (!row) return std::unexpected(row.error());
  if (text.empty()) return out;
  auto j = json::parse(text, nullptr, false);
  if (j.is_object())
    for (auto it = j.begin(); it != j.end(); ++it)
      if (it.value().is_number()) out[it.key()] = it.value().get<double>();
  return out;
}

Result<void> StateStore::save_job(const MonitorConfig& c, const MonitorState& s) {
  save_job_.bind(1, c.key)
      .bind(2, c.name)
      .bind(3, c.schedule ? c.schedule->text() : std::string())
      .bind(4, c.zone.name())
      .bind(5, c.source())
      .bind(6, state_text(s))
      .bind(7, to_us(std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now())))
      .bind(8, c.uid);
  auto r = save_job_.step();
  save_job_.reset();
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<std::vector<JobRow>> StateStore::jobs() {
  auto st = db_.prepare("SELECT key, name, schedule, timezone, source, state FROM jobs ORDER BY key");
  if (!st) return std::unexpected(st.error());
  std::vector<JobRow> out;
  while (true) {
    auto row = st->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    JobRow j{st->text(0), st->text(1), st->text(2), st->text(3), st->text(4), {}};
    auto parsed = json::parse(st->text(5), nullptr, false);
    if (auto s = monitor_state_from_json(parsed)) j.state = std::move(*s);
    out.push_back(std::move(j));
  }
  return out;
}

Result<std::unordered_map<std::string, int64_t>> StateStore::owners() {
  auto st = db_.prepare("SELECT key, uid FROM jobs WHERE uid IS NOT NULL");
  if (!st) return std::unexpected(st.error());
  std::unordered_map<std::string, int64_t> out;
  while (true) {
    auto row = st->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.emplace(st->text(0), st->i64(1));
  }
  return out;
}

Result<void> StateStore::save_host(const HostState& h) {
  auto st = db_.prepare("INSERT OR REPLACE INTO host(id, state) VALUES(1, ?1)");
  if (!st) return std::unexpected(st.error());
  st->bind(1, to_json(h).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  auto r = st->step();
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<HostState> StateStore::host() {
  auto st = db_.prepare("SELECT state FROM host WHERE id = 1");
  if (!st) return std::unexpected(st.error());
  auto row = st->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return HostState{};
  return host_state_from_json(json::parse(st->text(0), nullptr, false));
}

Result<int64_t> StateStore::record_action(const Action& a, const std::vector<std::string>& targets, Instant now) {
  std::optional<int64_t> incident;
  const Alert& al = a.alert;
  if (a.type == Action::Type::kOpen) {
    open_inc_.bind(1, al.key).bind(2, kind_name(al.kind)).bind(3, to_us(al.incident_opened)).bind(4, al.summary);
    auto r = open_inc_.step();
    open_inc_.reset();
    if (!r) return std::unexpected(r.error());
  }
  if (a.type != Action::Type::kNotice) {
    find_inc_.bind(1, al.key).bind(2, to_us(al.incident_opened));
    auto row = find_inc_.step();
    if (row && *row) incident = find_inc_.i64(0);
    find_inc_.reset();
    if (!row) return std::unexpected(row.error());
  }
  if (incident && (a.type == Action::Type::kUpdate || a.type == Action::Type::kSuppressed)) {
    upd_inc_.bind(1, *incident).bind(2, a.type == Action::Type::kUpdate ? 1 : 0).bind(3, al.summary);
    auto r = upd_inc_.step();
    upd_inc_.reset();
    if (!r) return std::unexpected(r.error());
  }
  if (incident && a.type == Action::Type::kResolve) {
    resolve_inc_.bind(1, *incident).bind(2, to_us(al.at));
    auto r = resolve_inc_.step();
    resolve_inc_.reset();
    if (!r) return std::unexpected(r.error());
  }
  const bool suppressed = a.type == Action::Type::kSuppressed;
  ins_alert_.bind(1, incident)
      .bind(2, al.key)
      .bind(3, kind_name(al.kind))
      .bind(4, action_name(a.type))
      .bind(5, to_us(al.at))
      .bind(6, al.summary)
      .bind(7, al.detail)
      .bind(8, suppressed ? 1 : 0)
      .bind(9, to_json(al).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  auto r = ins_alert_.step();
  ins_alert_.reset();
  if (!r) return std::unexpected(r.error());
  const int64_t alert_id = db_.last_insert_rowid();
  if (suppressed) return alert_id;
  for (const auto& t : targets) {
    ins_outbox_.bind(1, alert_id).bind(2, t).bind(3, to_us(now));
    auto o = ins_outbox_.step();
    ins_outbox_.reset();
    if (!o) return std::unexpected(o.error());
  }
  return alert_id;
}

Result<std::vector<OutboxItem>> StateStore::due_outbox(Instant now, int limit) {
  auto st = db_.prepare(
      "SELECT o.id, o.alert_id, o.target, o.attempts, a.body FROM outbox o JOIN alerts a ON a.id = o.alert_id "
      "WHERE o.state = 'pending' AND o.next_us <= ?1 ORDER BY o.next_us, o.id LIMIT ?2");
  if (!st) return std::unexpected(st.error());
  st->bind(1, to_us(now)).bind(2, limit);
  std::vector<OutboxItem> out;
  while (true) {
    auto row = st->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.push_back(OutboxItem{st->i64(0), st->i64(1), st->text(2), static_cast<int>(st->i64(3)), st->text(4)});
  }
  return out;
}

Result<std::optional<Instant>> StateStore::next_outbox_time() {
  auto st = db_.prepare("SELECT min(next_us) FROM outbox WHERE state = 'pending'");
  if (!st) return std::unexpected(st.error());
  auto row = st->step();
  if (!row) return std::unexpected(row.error());
  if (!*row || st->is_null(0)) return std::optional<Instant>();
  return std::optional<Instant>(from_us(st->i64(0)));
}

Result<void> StateStore::outbox_sent(int64_t id) {
  auto st = db_.prepare("UPDATE outbox SET state = 'sent', attempts = attempts + 1 WHERE id = ?1");
  if (!st) return std::unexpected(st.error());
  st->bind(1, id);
  if (auto r = st->step(); !r) return std::unexpected(r.error());
  return {};
}

Result<void> StateStore::outbox_release_all(Instant now) {
  auto st = db_.prepare("UPDATE outbox SET next_us = ?1 WHERE state = 'pending' AND next_us > ?1");
  if (!st) return std::unexpected(st.error());
  st->bind(1, to_us(now));
  if (auto r = st->step(); !r) return std::unexpected(r.error());
  return {};
}

Result<void> StateStore::outbox_lease(int64_t id, Instant until) {
  auto st = db_.prepare("UPDATE outbox SET next_us = ?2 WHERE id = ?1");
  if (!st) return std::unexpected(st.error());
  st->bind(1, id).bind(2, to_us(until));
  if (auto r = st->step(); !r) return std::unexpected(r.error());
  return {};
}

Result<bool> StateStore::save_job_state(const std::string& key, const MonitorState& s) {
  const std::string text = state_text(s);  // bound without a copy, as `key`: both outlive the reset
  save_state_.bind_static(1, key).bind_static(2, text).bind(
      3, to_us(std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now())));
  auto r = save_state_.step();
  save_state_.reset();
  if (!r) return std::unexpected(r.error());
  return db_.changes() > 0;
}

Result<void> StateStore::mark_run_failed(const std::string& run_id) {
  auto st = db_.prepare("UPDATE runs SET status = 'failed' WHERE run_id = ?1");
  if (!st) return std::unexpected(st.error());
  st->bind(1, run_id);
  if (auto r = st->step(); !r) return std::unexpected(r.error());
  return {};
}

Result<void> StateStore::rekey_job(const std::string& from, const std::string& to) {
  for (const char* sql :
       {"DELETE FROM jobs WHERE key = ?2 AND ?1 IS NOT NULL", "UPDATE jobs SET key = ?2 WHERE key = ?1",
        "UPDATE runs SET key = ?2 WHERE key = ?1", "UPDATE OR IGNORE incidents SET key = ?2 WHERE key = ?1",
        "UPDATE alerts SET key = ?2 WHERE key = ?1"}) {
    auto st = db_.prepare(sql);
    if (!st) return std::unexpected(st.error());
    st->bind(1, from).bind(2, to);
    if (auto r = st->step(); !r) return std::unexpected(r.error());
  }
  return {};
}

Result<void> StateStore::outbox_retry(int64_t id, Instant next, const std::string& error, bool give_up) {
  auto st =
      db_.prepare("UPDATE outbox SET attempts = attempts + 1, next_us = ?2, last_error = ?3, state = ?4 WHERE id = ?1");
  if (!st) return std::unexpected(st.error());
  st->bind(1, id).bind(2, to_us(next)).bind(3, error).bind(4, give_up ? "failed" : "pending");
  if (auto r = st->step(); !r) return std::unexpected(r.error());
  return {};
}

Result<std::vector<RunRow>> StateStore::history(const std::string& key, int limit, size_t max_tail) {
  // Newest first by coalesce(started_ms, ended_ms), then id: the runs with a start come in that
  // order from runs_key_started, the few without one (a metric before an end) are sorted by their
  // end, and the two newest-first lists are merged. A key without such runs (nearly every one)
  // is read straight from the index, with no merge and no sort. Both prepared once (prepare_all).
  // 1,000 jobs' 60 runs, as the dashboard's overview reads them: 118-129 ms with the merge
  // prepared at each call, 54-67 ms this way (dashboard_bench BM_ReadRunRows1000x60). Outside a
  // transaction the probe and the read are two snapshots: a reader beside the daemon (`suggest`)
  // may miss a run stored between them, as it would one stored just after its read.
  has_unstarted_.bind_static(1, key);
  auto probe = has_unstarted_.step();
  has_unstarted_.reset();
  if (!probe) return std::unexpected(probe.error());
  sql::Stmt* st = *probe ? &history_ : &history_started_;
  st->bind_static(1, key).bind(2, limit).bind(3, static_cast<int64_t>(max_tail));
  std::vector<RunRow> out;
  out.reserve(static_cast<size_t>(std::clamp(limit, 0, 1000)));
  while (true) {
    auto row = st->step();
    if (!row) {
      st->reset();
      return std::unexpected(row.error());
    }
    if (!*row) break;
    RunRow r;
    r.key = st->text(0);
    r.run_id = st->text(1);
    r.status = st->text(2);
    r.started_ms = st->opt_i64(3);
    r.ended_ms = st->opt_i64(4);
    r.duration_ms = st->opt_i64(5);
    if (auto e = st->opt_i64(6)) r.exit_code = static_cast<int>(*e);
    r.signal = st->text(7);
    r.oom = st->i64(8) != 0;
    r.output_tail = st->text(9);
    r.metrics_json = st->text(10);
    r.host = st->text(11);
    r.tail_cut = st->i64(12) != 0;
    out.push_back(std::move(r));
  }
  st->reset();
  return out;
}

Result<std::vector<std::map<std::string, std::string>>> StateStore::incidents(const std::string& key, int limit) {
  auto st = db_.prepare(
      "SELECT key, kind, opened_us, resolved_us, alerts, reason FROM incidents WHERE (?1 = '' OR key = ?1) "
      "ORDER BY opened_us DESC LIMIT ?2");
  if (!st) return std::unexpected(st.error());
  st->bind(1, key).bind(2, limit);
  std::vector<std::map<std::string, std::string>> out;
  while (true) {
    auto row = st->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.push_back({{"key", st->text(0)},
                   {"kind", st->text(1)},
                   {"opened_us", st->text(2)},
                   {"resolved_us", st->text(3)},
                   {"alerts", st->text(4)},
                   {"reason", st->text(5)}});
  }
  return out;
}

Result<int64_t> StateStore::prune_key(const std::string& key, int keep) {
  // The oldest in history()'s order go (its two newest-first lists, walked oldest first from
  // runs_key_started): as many as the key holds beyond `keep`, counted from the same index.
  // Prepared once (prepare_all): a busy key comes here every RunRetention::kPruneEveryRuns runs.
  count_key_runs_.bind(1, key);
  auto row = count_key_runs_.step();
  const int64_t count = row && *row ? count_key_runs_.i64(0) : 0;
  count_key_runs_.reset();
  if (!row) return std::unexpected(row.error());
  const int64_t over = count - keep;
  if (over <= 0) return 0;
  prune_key_.bind(1, key).bind(2, over);
  auto r = prune_key_.step();
  prune_key_.reset();
  if (!r) return std::unexpected(r.error());
  return db_.changes();
}

Result<void> StateStore::forget_runs(const std::string& key) {
  auto st = db_.prepare("DELETE FROM runs WHERE key = ?1");
  if (!st) return std::unexpected(st.error());
  st->bind(1, key);
  if (auto r = st->step(); !r) return std::unexpected(r.error());
  return {};
}

Result<int64_t> StateStore::prune(int keep_runs, int keep_days, Instant now) {
  const int64_t cutoff_ms = to_ms(now) - int64_t{keep_days} * 86400 * 1000;
  auto st = db_.prepare(
      "DELETE FROM runs WHERE coalesce(ended_ms, started_ms, received_ms) < ?1 OR id IN "
      "(SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY key ORDER BY coalesce(started_ms, ended_ms) DESC, "
      "id DESC) AS rn FROM runs) "
      "WHERE rn > ?2)");
  if (!st) return std::unexpected(st.error());
  st->bind(1, cutoff_ms).bind(2, keep_runs);
  if (auto r = st->step(); !r) return std::unexpected(r.error());
  int64_t n = db_.changes();
  auto ob = db_.prepare("DELETE FROM outbox WHERE state != 'pending' AND next_us < ?1");
  if (!ob) return std::unexpected(ob.error());
  ob->bind(1, cutoff_ms * 1000);
  if (auto r = ob->step(); !r) return std::unexpected(r.error());
  return n;
}

}  // namespace cronitor::agent
