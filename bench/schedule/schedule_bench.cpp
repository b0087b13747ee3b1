// Speed of the schedule engine. Targets (issue 2): next fire time of "*/5 * * * *" in UTC at
// 5 M/s or more on one core, "30 2 * * 1-5" in Europe/Berlin at 1 M/s or more, and a parsed cron
// schedule in 64 bytes or less (the sizeof_CronSpec counter).
// Each "next" benchmark chains: the next call starts from the previous fire time, as a monitor
// walking its schedule does, so DST nights and month ends are part of the measured mix.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <string_view>

#include "schedule/calendar_spec.h"
#include "schedule/cron_spec.h"
#include "schedule/schedule.h"

namespace {

using cronitor::schedule::CalendarSpec;
using cronitor::schedule::CronDialect;
using cronitor::schedule::CronSpec;
using cronitor::schedule::Instant;
using cronitor::schedule::Kind;
using cronitor::schedule::Schedule;
using cronitor::schedule::Zone;

constexpr int64_t kStart = 1767225600;  // 2026-01-01T00:00:00Z

Schedule must_parse(std::string_view expr, Kind kind = Kind::kCron) {
  auto s = Schedule::parse(expr, kind);
  if (!s) std::abort();
  return *s;
}

Zone must_load(std::string_view name) {
  auto z = Zone::load(name);
  if (!z) std::abort();
  return *z;
}

// Schedule::next, the API every caller uses, chained.
void chain(benchmark::State& state, const Schedule& s, const Zone& zone) {
  const Instant start{std::chrono::seconds(kStart)};
  Instant t = start;
  for (auto _ : state) {
    auto n = s.next(t, zone);
    t = n ? *n : start;
    benchmark::DoNotOptimize(t);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_NextCronUtc(benchmark::State& state) { chain(state, must_parse("*/5 * * * *"), Zone::utc()); }
BENCHMARK(BM_NextCronUtc);

void BM_NextCronBerlin(benchmark::State& state) {
  chain(state, must_parse("30 2 * * 1-5"), must_load("Europe/Berlin"));
}
BENCHMARK(BM_NextCronBerlin);

// The same two through CronSpec::next_fire directly (Unix seconds), without Schedule's dispatch.
void chain_cron_spec(benchmark::State& state, const char* expr, const Zone& zone) {
  auto spec = CronSpec::parse(expr, CronDialect::kDebian);
  if (!spec) std::abort();
  int64_t t = kStart;
  for (auto _ : state) {
    auto n = spec->next_fire(t, zone);
    t = n ? *n : kStart;
    benchmark::DoNotOptimize(t);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_CronSpecNextFireUtc(benchmark::State& state) { chain_cron_spec(state, "*/5 * * * *", Zone::utc()); }
BENCHMARK(BM_CronSpecNextFireUtc);

void BM_CronSpecNextFireBerlin(benchmark::State& state) {
  chain_cron_spec(state, "30 2 * * 1-5", must_load("Europe/Berlin"));
}
BENCHMARK(BM_CronSpecNextFireBerlin);

void BM_NextOnCalendar(benchmark::State& state) {
  chain(state, must_parse("Mon..Fri *-*-* 02:30", Kind::kSystemd), must_load("Europe/Berlin"));
}
BENCHMARK(BM_NextOnCalendar);

void BM_NextOnCalendarUtcEvery5Min(benchmark::State& state) {
  chain(state, must_parse("*:0/5", Kind::kSystemd), Zone::utc());
}
BENCHMARK(BM_NextOnCalendarUtcEvery5Min);

void BM_ParseCron(benchmark::State& state) {
  constexpr std::string_view kExprs[] = {"*/5 * * * *", "30 2 * * 1-5", "15,45 8-18/2 1-15 jan,mar-may sun-thu",
                                         "@hourly"};
  size_t i = 0;
  for (auto _ : state) {
    auto spec = CronSpec::parse(kExprs[i++ & 3], CronDialect::kDebian);
    benchmark::DoNotOptimize(spec);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["sizeof_CronSpec"] = sizeof(CronSpec);
}
BENCHMARK(BM_ParseCron);

void BM_ParseOnCalendar(benchmark::State& state) {
  for (auto _ : state) {
    auto spec = CalendarSpec::parse("Mon..Fri *-*-* 09:00,13:30 Europe/Berlin");
    benchmark::DoNotOptimize(spec);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseOnCalendar);

}  // namespace

BENCHMARK_MAIN();
