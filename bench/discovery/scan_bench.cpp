// Discovery benchmarks over a synthetic host: 1,000 files in /etc/cron.d with 10 job lines each.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "discovery/crontab_parser.h"
#include "discovery/scanner.h"
#include "discovery/watcher.h"

namespace {

using cronitor::discovery::DiskRoot;
using cronitor::discovery::Scanner;
using cronitor::discovery::Watcher;

constexpr int kFiles = 1000;
constexpr int kLinesPerFile = 10;

std::string file_text(int file, int version) {
  std::string s = "# package " + std::to_string(file) + "\nSHELL=/bin/sh\nPATH=/usr/sbin:/usr/bin:/sbin:/bin\n\n";
  for (int l = 0; l < kLinesPerFile; ++l) {
    s += std::to_string((file + l + version) % 60) + " " + std::to_string(l % 24) + " * * " + (l % 2 ? "1-5" : "*") +
         " root test -x /usr/lib/pkg" + std::to_string(file) + "/job" + std::to_string(l) + " && /usr/lib/pkg" +
         std::to_string(file) + "/job" + std::to_string(l) + " --quiet > /dev/null 2>&1\n";
  }
  return s;
}

// A host tree in a temporary folder, removed at exit.
struct Host {
  std::string root;
  Host() {
    char tmpl[] = "/tmp/cronitor-disc-bench-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) std::abort();
    root = tmpl;
    std::filesystem::create_directories(root + "/etc/cron.d");
    for (int f = 0; f < kFiles; ++f) {
      std::ofstream(root + "/etc/cron.d/pkg" + std::to_string(f)) << file_text(f, 0);
    }
  }
  ~Host() { std::filesystem::remove_all(root); }
};

Host& host() {
  static Host h;
  return h;
}

void BM_FullScan(benchmark::State& state) {
  const DiskRoot root(host().root);
  Scanner scanner(root);
  std::size_t jobs = 0;
  for (auto _ : state) {
    scanner.scan();
    jobs = scanner.job_count();
  }
  state.counters["jobs"] = static_cast<double>(jobs);
  state.counters["files"] = kFiles;
}
BENCHMARK(BM_FullScan)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// One file rewritten by a package upgrade: time from reading its inotify events to the job list
// holding the change (Watcher::on_readable + poll with the settle time elapsed).
void BM_OneChangedFile(benchmark::State& state) {
  const DiskRoot root(host().root);
  Scanner scanner(root);
  scanner.scan();
  Watcher::Options o;
  o.settle = Watcher::Duration::zero();
  auto watcher = Watcher::create(scanner, root, o);
  if (!watcher) {
    state.SkipWithError(watcher.error().message.c_str());
    return;
  }
  int version = 0;
  std::size_t changed = 0;
  for (auto _ : state) {
    ++version;
    const int f = version % kFiles;
    { std::ofstream(host().root + "/etc/cron.d/pkg" + std::to_string(f)) << file_text(f, version); }
    const auto start = std::chrono::steady_clock::now();
    (*watcher)->on_readable(start.time_since_epoch());
    const auto c = (*watcher)->poll(std::chrono::steady_clock::now().time_since_epoch());
    const auto end = std::chrono::steady_clock::now();
    changed += c.added.size() + c.changed.size();
    state.SetIterationTime(std::chrono::duration<double>(end - start).count());
  }
  state.counters["jobs_reported_per_change"] = static_cast<double>(changed) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_OneChangedFile)->UseManualTime()->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_ParseCrontabFile(benchmark::State& state) {
  const std::string text = file_text(7, 0);
  for (auto _ : state) {
    auto parsed =
        cronitor::discovery::parse_crontab(text, cronitor::discovery::CrontabFormat::kSystem, "/etc/cron.d/x");
    benchmark::DoNotOptimize(parsed);
  }
  state.SetItemsProcessed(state.iterations() * kLinesPerFile);
}
BENCHMARK(BM_ParseCrontabFile)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
