// The dashboard's pages (issue 22): the overview of 1,000 jobs with 60 runs each (target: under
// 200 ms and 1 MB) and a job page with 500 runs (under 100 ms), from status_json/run_json data,
// with the action forms a logged-in session sees; the job page with 20 incidents and its settings,
// and the Incidents page with 100. Reports the page size as a counter. `dashboard_bench`.
// The BM_Request* cases time whole requests instead: DashboardServer::handle reading a real
// state.db (dashboard_request_bench.cpp), as the daemon serves them.
#include <benchmark/benchmark.h>

#include "agent/control/status_view.h"
#include "agent/dashboard/pages.h"

namespace {

using namespace cronitor::agent;
using nlohmann::json;

const Instant kNow = Instant(std::chrono::seconds(1'800'000'000));

json runs_of(int n, int fail_every) {
  json runs = json::array();
  for (int i = 0; i < n; ++i) {
    RunRow r;
    r.run_id = "0b5f1c9e-7d3a-4c1e-9f00-" + std::to_string(100000000000 + i);
    r.status = i % fail_every == 0 ? "failed" : "ok";
    r.started_ms = 1'800'000'000'000 - int64_t{i} * 3'600'000;
    r.duration_ms = 1000 + (i * 37) % 5000;
    r.ended_ms = *r.started_ms + *r.duration_ms;
    r.exit_code = i % fail_every == 0 ? 1 : 0;
    if (i % fail_every == 0) r.output_tail = "error: connection refused\n";
    runs.push_back(run_json(r));
  }
  return runs;
}

const std::string kCsrf(64, 'c');

/// `n` incidents of `key`, three alerts each, delivered to two targets.
json incidents_of(int n) {
  json list = json::array();
  for (int i = 0; i < n; ++i) {
    json sent = json::array();
    for (const char* action : {"resolve", "update", "open"})
      sent.push_back(
          {{"at", "2026-12-06T04:00:00Z"},
           {"action", action},
           {"summary", "Job number 7 failed: exit code 1"},
           {"deliveries",
            json::array({{{"target", "slack:https://hooks.slack.com/..."}, {"state", "sent"}, {"attempts", 1}},
                         {{"target", "email:ops@example.com"},
                          {"state", "failed"},
                          {"attempts", 5},
                          {"last_error", "connection refused"}}})}});
    list.push_back({{"key", "job-" + std::to_string(i)},
                    {"kind", "failed"},
                    {"opened", "2026-12-06T03:00:00Z"},
                    {"resolved", i % 4 == 0 ? json() : json("2026-12-06T04:00:00Z")},
                    {"alerts", 3},
                    {"reason", "exit code 1"},
                    {"sent", sent}});
  }
  return list;
}

json status_of(int jobs) {
  json list = json::array();
  for (int j = 0; j < jobs; ++j) {
    MonitorState s;
    s.last_start = kNow - std::chrono::minutes(10);
    s.last_end = kNow - std::chrono::minutes(9);
    s.last_status = j % 13 == 0 ? "failed" : "ok";
    s.last_exit_code = j % 13 == 0 ? 1 : 0;
    s.last_duration_ms = 60000;
    s.expected = kNow + std::chrono::minutes(50);
    list.push_back(status_json("job-" + std::to_string(j), "Job number " + std::to_string(j), "*/5 * * * *",
                               "Europe/Berlin", "/etc/cron.d/jobs:" + std::to_string(j + 1), s));
  }
  return {{"host", "db1"}, {"daemon", "running"}, {"monitors", list}};
}

void BM_Overview1000x60(benchmark::State& state) {
  const json status = status_of(1000);
  std::unordered_map<std::string, json> runs;
  const json sixty = runs_of(60, static_cast<int>(state.range(0)));  // every Nth run failed
  for (const auto& m : status["monitors"]) runs.emplace(m["key"].get<std::string>(), sixty);
  size_t bytes = 0;
  for (auto _ : state) {
    std::string html = dashboard::overview_page(status, runs, {}, {kNow, "bench", kCsrf, ""});
    bytes = html.size();
    benchmark::DoNotOptimize(html);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Overview1000x60)->Arg(9)->Arg(60)->Unit(benchmark::kMillisecond);

void BM_JobPage500(benchmark::State& state) {
  const json status = status_of(1);
  const json runs = runs_of(500, 9);
  const json incidents = incidents_of(20);
  const json extras = {{"settings", json::array({json::array({"grace", "1m"}), json::array({"notify", "default"})})},
                       {"suggested", {{"comment", "# cronitor: grace=2m"}, {"yaml", "- key: job-0\n"}, {"runs", 200}}}};
  size_t bytes = 0;
  for (auto _ : state) {
    std::string html = dashboard::job_page(status["monitors"][0], runs, {kNow, "bench", kCsrf, ""}, incidents, extras);
    bytes = html.size();
    benchmark::DoNotOptimize(html);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_JobPage500)->Unit(benchmark::kMillisecond);

void BM_IncidentsPage100(benchmark::State& state) {
  const json log = {{"incidents", incidents_of(100)}, {"notices", json::array()}};
  size_t bytes = 0;
  for (auto _ : state) {
    std::string html = dashboard::incidents_page(log, {kNow, "bench", kCsrf, ""});
    bytes = html.size();
    benchmark::DoNotOptimize(html);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_IncidentsPage100)->Unit(benchmark::kMillisecond);

}  // namespace
