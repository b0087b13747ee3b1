// Whole dashboard requests (issue 22's budgets: the overview of 1,000 jobs x 60 runs under 200 ms
// and 1 MB, a job page with 500 runs under 100 ms), timed through DashboardServer::handle over a
// real state.db with the data sources the daemon gives it (agent/daemon/dashboard_serve.cpp):
// the runs from history_reply(), the incidents from incident_log(), the settings from advise()
// over 200 runs. The status reply is made from the stored jobs (the daemon holds it in memory).
//
// The state.db: 1,000 jobs with 60 runs each (every 9th failed with an output tail, every 50th
// job's newest run still running, every 13th job missing its runs with a missed incident open),
// every 13th job with 10 incidents of 3 alerts sent to 2 targets (7,700 outbox rows), and
// "big" with 500 runs. The *RetentionFull cases read another state.db where each of the 1,000 jobs
// holds retention.runs' default of 1,000 runs (1,000,000 rows, inserted in SQL): the steady state
// of such a host, where a read that sorts all of a job's runs costs 16 times more. With
// CRONITOR_BENCH_DB_DIR set the state.db and an agent.yaml whose
// monitors are those jobs are left there, to serve them with the real agent (curl timing).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "agent/control/status_view.h"
#include "agent/daemon/history_reply.h"
#include "agent/dashboard/dashboard_server.h"
#include "agent/dashboard/job_settings.h"
#include "agent/eval/monitor_schedule.h"
#include "agent/eval/tolerance_advice.h"
#include "agent/state/incident_log.h"
#include "agent/state/state_store.h"

namespace {

using namespace cronitor::agent;
using nlohmann::json;
namespace fs = std::filesystem;

constexpr int kJobs = 1000;
constexpr int kRuns = 60;
constexpr int kBigRuns = 500;
const Instant kRequestNow = Instant(std::chrono::seconds(1'800'000'000));

MonitorConfig job_config(const std::string& key) {
  MonitorConfig c;
  c.key = key;
  c.name = "Job " + key;
  c.uid = 0;  // root's, as agent.yaml's monitors are: the agent keeps their runs (dashboard_http.sh)
  c.schedule = *parse_monitor_schedule("0 * * * *");
  return c;
}

RunEvent run_event(const std::string& key, const std::string& id, RunEvent::State st, Instant ts, int exit_code,
                   int64_t duration_ms) {
  RunEvent e;
  e.key = key;
  e.run_id = id;
  e.state = st;
  e.ts = ts;
  e.host = "db1";
  e.uid = 0;
  if (st != RunEvent::State::kRun) {
    e.exit_code = exit_code;
    e.duration_ms = duration_ms;
  }
  return e;
}

/// `n` hourly runs of `key`, the newest an hour before kRequestNow; `running`: the newest has not ended.
void add_runs(StateStore& s, const std::string& key, int n, bool running) {
  for (int i = n - 1; i >= 0; --i) {
    const std::string id = key + "-" + std::to_string(i);
    const Instant start = kRequestNow - std::chrono::hours(i + 1);
    (void)s.record_event(run_event(key, id, RunEvent::State::kRun, start, 0, 0), start);
    if (running && i == 0) continue;
    const bool failed = i % 9 == 0;
    const int64_t ms = 1000 + (i * 37) % 5000;
    RunEvent end = run_event(key, id, failed ? RunEvent::State::kFail : RunEvent::State::kComplete,
                             start + std::chrono::milliseconds(ms), failed ? 1 : 0, ms);
    if (failed) end.output_tail = "pg_dump: error: connection to server failed: Connection refused\n";
    (void)s.record_event(end, end.ts);
  }
}

void add_incidents(StateStore& s, const std::string& key) {
  for (int i = 0; i < 10; ++i) {
    Alert a;
    a.key = key;
    a.name = "Job " + key;
    a.kind = Alert::Kind::kFailed;
    a.incident_opened = kRequestNow - std::chrono::hours(24 * (i + 1));
    a.at = a.incident_opened;
    a.summary = "Job " + key + " failed: exit code 1";
    for (auto type : {Action::Type::kOpen, Action::Type::kUpdate, Action::Type::kResolve}) {
      (void)s.record_action(Action{type, a}, {"slack:https://hooks.slack.com/services/T/B/x", "email:ops@example.com"},
                            a.at);
      a.at += std::chrono::minutes(30);
    }
  }
}

/// `per_job` runs of each of jobs 0..999 in one statement: hourly, every 9th failed with a tail.
void add_runs_in_sql(StateStore& s, int per_job) {
  const std::string now_ms = std::to_string(kRequestNow.time_since_epoch() / std::chrono::milliseconds(1));
  auto r = s.db().exec(
      "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < " + std::to_string(per_job - 1) +
      "), j(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM j WHERE k < " + std::to_string(kJobs - 1) +
      ") INSERT INTO runs(key, run_id, status, started_ms, ended_ms, duration_ms, exit_code, oom, output_tail, "
      "metrics, host, uid, has_run, has_end) SELECT 'job-' || k, 'job-' || k || '-' || i, CASE WHEN i % 9 = 0 THEN "
      "'failed' ELSE 'ok' END, " +
      now_ms + " - (i + 1) * 3600000, " + now_ms +
      " - (i + 1) * 3600000 + 2000, 2000, i % 9 = 0, 0, CASE WHEN i % 9 = 0 THEN 'pg_dump: error: connection "
      "refused' ELSE '' END, '{}', 'db1', 0, 1, 1 FROM n, j ORDER BY i DESC, k");
  if (!r) std::abort();
}

struct BenchDb {
  fs::path dir;
  bool keep = false;
  std::optional<StateStore> store;
  std::vector<MonitorConfig> configs;
  std::vector<JobRow> rows;  // the job page's lookup (data().monitor), read on first use

  /// `per_job` 0: the runs, incidents and "big" job above; else only `per_job` runs of each job.
  explicit BenchDb(int per_job = 0) {
    if (const char* d = std::getenv("CRONITOR_BENCH_DB_DIR"); d && *d && per_job == 0) {
      dir = d;
      keep = true;
    } else {
      dir =
          fs::temp_directory_path() / ("dashboard-bench-" + std::to_string(::getpid()) + "-" + std::to_string(per_job));
    }
    fs::remove_all(dir / "state.db");
    fs::create_directories(dir);
    auto s = StateStore::open((dir / "state.db").string(), nullptr);
    if (!s) std::abort();
    store.emplace(std::move(*s));
    (void)store->begin();
    if (per_job > 0) add_runs_in_sql(*store, per_job);
    for (int j = 0; j <= kJobs; ++j) {
      const std::string key = j == kJobs ? "big" : "job-" + std::to_string(j);
      configs.push_back(job_config(key));
      if (per_job == 0) add_runs(*store, key, j == kJobs ? kBigRuns : kRuns, j % 50 == 0);
      MonitorState st;
      st.last_start = kRequestNow - std::chrono::hours(1);
      st.last_end = st.last_start;
      st.last_status = j % 9 == 0 ? "failed" : "ok";
      st.expected = kRequestNow + std::chrono::minutes(50);
      if (j % 13 == 0 && per_job == 0) {
        st.last_status = "missed";
        st.incident = Incident{
            kRequestNow - std::chrono::hours(3), "missed", 1, kRequestNow - std::chrono::hours(3), "missed", 0, {}};
        add_incidents(*store, key);
      }
      (void)store->save_job(configs.back(), st);
    }
    // Delivered long ago: an agent serving this file (dashboard_http.sh) has nothing to send.
    if (!store->db().exec("UPDATE outbox SET state = 'sent', attempts = 1")) std::abort();
    if (!store->commit()) std::abort();
    if (keep) {
      std::ofstream y(dir / "monitors.yaml");
      y << "monitors:\n";
      for (const auto& c : configs) y << "  - key: " << c.key << "\n    schedule: \"0 * * * *\"\n";
    }
  }
  ~BenchDb() {
    store.reset();
    if (!keep) fs::remove_all(dir);
  }

  /// The data sources of agent/daemon/dashboard_serve.cpp, over this state.db.
  dashboard::DashboardServer::Data data() {
    dashboard::DashboardServer::Data d;
    d.status = [this] {
      json list = json::array();
      for (const auto& j : store->jobs().value_or(std::vector<JobRow>{}))
        list.push_back(status_json(j.key, j.name, j.schedule, j.timezone, j.source, j.state));
      return json{{"ok", true}, {"host", "db1"}, {"daemon", "running"}, {"monitors", list}};
    };
    // A job page's own job, as the daemon builds it from the monitors it holds in memory
    // (Daemon::monitors_status): here the job rows, read once.
    d.monitor = [this](const std::string& key) {
      if (rows.empty()) rows = store->jobs().value_or(std::vector<JobRow>{});
      for (const auto& j : rows)
        if (j.key == key) return status_json(j.key, j.name, j.schedule, j.timezone, j.source, j.state);
      return json();
    };
    d.history = [this](const std::string& key, int limit, bool tails) {
      auto h = history_reply(*store, key, limit, tails);
      return h ? std::move(h->runs) : json::array();
    };
    d.incidents = [this](const std::string& key, int limit, bool notices) {
      return incident_log(store->db(), key, limit, notices).value_or(json::object());
    };
    d.extras = [this](const std::string& key) {
      const MonitorConfig& m = configs[key == "big" ? kJobs : std::stoi(key.substr(4))];
      auto runs = store->history(key, 200, 0);
      return dashboard::job_extras(
          m, advise(key, runs ? *runs : std::vector<RunRow>{}, m.schedule, m.zone, std::chrono::seconds(60)));
    };
    return d;
  }
};

BenchDb& db() {
  static BenchDb b;
  return b;
}

BenchDb& full_db() {
  static BenchDb b(1000);
  return b;
}

/// A logged-in server over the bench's state.db, and its session cookie.
struct Server {
  dashboard::DashboardServer server;
  std::string cookie;
  explicit Server(BenchDb& b) : server((b.dir / "dashboard.token").string(), b.data(), "bench") {
    const std::string token_path = (b.dir / "dashboard.token").string();
    auto token = dashboard::load_or_create_token(token_path);
    auto login = server.handle({"GET", "/login", "", {{"token", token.value_or("")}}}, kRequestNow);
    for (const auto& [k, v] : login.headers)
      if (k == "Set-Cookie") cookie = v.substr(0, v.find(';'));
  }
};

void run_request(benchmark::State& state, const std::string& url, BenchDb& b = db(),
                 std::map<std::string, std::string> query = {}) {
  Server s(b);
  size_t bytes = 0;
  for (auto _ : state) {
    auto reply = s.server.handle({"GET", url, s.cookie, query}, kRequestNow);
    if (reply.status != 200) state.SkipWithError(("status " + std::to_string(reply.status)).c_str());
    bytes = reply.body.size();
    benchmark::DoNotOptimize(reply);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}

void BM_RequestOverview1000x60(benchmark::State& state) { run_request(state, "/"); }
BENCHMARK(BM_RequestOverview1000x60)->Unit(benchmark::kMillisecond);

// A filter's 11 matches of the 1,000 jobs (job-12, job-120..129): only their runs are read.
void BM_RequestOverviewFiltered(benchmark::State& state) { run_request(state, "/", db(), {{"q", "job-12"}}); }
BENCHMARK(BM_RequestOverviewFiltered)->Unit(benchmark::kMillisecond);

void BM_RequestJobPage500(benchmark::State& state) { run_request(state, "/jobs/big"); }
BENCHMARK(BM_RequestJobPage500)->Unit(benchmark::kMillisecond);

void BM_RequestOverviewRetentionFull(benchmark::State& state) { run_request(state, "/", full_db()); }
BENCHMARK(BM_RequestOverviewRetentionFull)->Unit(benchmark::kMillisecond);

// Where an overview's time goes: its two reads alone (the status reply, the 1,000 histories).
void BM_ReadStatus(benchmark::State& state) {
  auto d = db().data();
  for (auto _ : state) benchmark::DoNotOptimize(d.status());
}
BENCHMARK(BM_ReadStatus)->Unit(benchmark::kMillisecond);

void BM_ReadHistories1000x60(benchmark::State& state) {
  auto d = db().data();
  for (auto _ : state)
    for (int j = 0; j < kJobs; ++j) benchmark::DoNotOptimize(d.history("job-" + std::to_string(j), 60, false));
}
BENCHMARK(BM_ReadHistories1000x60)->Unit(benchmark::kMillisecond);

void BM_ReadHistoriesRetentionFull(benchmark::State& state) {
  auto d = full_db().data();
  for (auto _ : state)
    for (int j = 0; j < kJobs; ++j) benchmark::DoNotOptimize(d.history("job-" + std::to_string(j), 60, false));
}
BENCHMARK(BM_ReadHistoriesRetentionFull)->Unit(benchmark::kMillisecond);

void BM_ReadRunRows1000x60(benchmark::State& state) {
  for (auto _ : state)
    for (int j = 0; j < kJobs; ++j) benchmark::DoNotOptimize(db().store->history("job-" + std::to_string(j), 60, 256));
}
BENCHMARK(BM_ReadRunRows1000x60)->Unit(benchmark::kMillisecond);

void BM_RequestIncidents(benchmark::State& state) { run_request(state, "/incidents"); }
BENCHMARK(BM_RequestIncidents)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
