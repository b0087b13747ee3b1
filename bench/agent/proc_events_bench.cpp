// Benchmarks of the process events source (agent/daemon/proc_events.h, process_tracker.h):
//   decode  synthetic datagrams decoded and tracked (a host's forks, execs and exits outside
//           cron's trees, and one cron job in 100 processes): events/s and ns per event
//   kernel  as root: the real connector while a child forks short processes as fast as it can;
//           events/s read and tracked, CPU of the reading thread per event, ENOBUFS losses; woken
//           at once, and waiting 5 ms after each drain so that bursts are read in batches
// usage: proc_events_bench [decode|kernel|all] (PROC_BENCH_SECONDS, default 3)
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "agent/daemon/proc_events.h"
#include "agent/daemon/process_tracker.h"

using namespace cronitor::agent;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_setting() {
  const char* s = std::getenv("PROC_BENCH_SECONDS");
  return s ? std::atof(s) : 3.0;
}

double thread_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

ProcessTracker::Matcher one_job() {
  return {.job = [](uid_t, std::string_view cmd) -> std::optional<std::string> {
            if (cmd == "/usr/local/bin/backup") return "backup";
            return std::nullopt;
          },
          .script = [](uid_t, std::string_view, std::string_view) { return std::optional<std::string>(); }};
}

void bench_decode(double seconds) {
  constexpr pid_t kCron = 1000;
  // One round: 100 processes, one of them a cron job (cron -> child -> sh -c): 3 events each.
  std::vector<std::vector<std::byte>> round;
  for (pid_t i = 0; i < 100; ++i) {
    const bool job = i == 0;
    const pid_t parent = job ? kCron : 1, pid = 2000 + i;
    round.push_back(encode_proc_datagram({.kind = ProcEvent::Kind::fork,
                                          .timestamp_ns = 1,
                                          .pid = pid,
                                          .tgid = pid,
                                          .parent_pid = parent,
                                          .parent_tgid = parent}));
    round.push_back(encode_proc_datagram({.kind = ProcEvent::Kind::exec, .timestamp_ns = 2, .pid = pid, .tgid = pid}));
    round.push_back(encode_proc_datagram(
        {.kind = ProcEvent::Kind::exit, .timestamp_ns = 3, .pid = pid, .tgid = pid, .exit_code = 1 << 8}));
  }
  ProcessTracker tracker(one_job());
  const pid_t roots[] = {kCron};
  tracker.set_roots(roots);
  const ExecFacts job_facts{0, {"/bin/sh", "-c", "/usr/local/bin/backup"}, 1};
  auto read_exec = [&](pid_t) { return std::optional(job_facts); };
  std::vector<ProcEvent> events;
  size_t total = 0, runs = 0;
  const double cpu0 = thread_cpu_seconds();
  const auto start = Clock::now();
  while (std::chrono::duration<double>(Clock::now() - start).count() < seconds) {
    for (const auto& d : round) {
      events.clear();
      decode_proc_datagram(d, events);
      for (const auto& e : events) tracker.feed(e, read_exec);
      total += events.size();
    }
    runs += tracker.take_runs().size();
  }
  const double cpu = thread_cpu_seconds() - cpu0;
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf(
      "decode: %.0f events/s decoded and tracked, %.0f ns CPU per event, %zu run records (1 job in 100 "
      "processes)\n",
      static_cast<double>(total) / wall, cpu * 1e9 / static_cast<double>(total), runs);
}

void bench_kernel(double seconds, int batch_ms) {
  if (::geteuid() != 0) {
    std::printf("kernel: skipped (needs root: CAP_NET_ADMIN)\n");
    return;
  }
  auto connector = ProcConnector::open();
  if (!connector) {
    std::printf("kernel: skipped: %s\n", connector.error().message.c_str());
    return;
  }
  // The storm: a child forking children that exit at once, as fast as one core allows.
  const pid_t storm = ::fork();
  if (storm == 0) {
    for (;;) {
      pid_t p = ::fork();
      if (p == 0) ::_exit(0);
      if (p > 0) ::waitpid(p, nullptr, 0);
    }
  }
  ProcessTracker tracker(one_job());
  const pid_t roots[] = {::getppid()};  // "cron" is not the storm's ancestor: a user's loop
  tracker.set_roots(roots);
  size_t events = 0, losses = 0, forks = 0;
  const double cpu0 = thread_cpu_seconds();
  const auto start = Clock::now();
  while (std::chrono::duration<double>(Clock::now() - start).count() < seconds) {
    auto d = connector->drain([&](const ProcEvent& e) {
      forks += e.kind == ProcEvent::Kind::fork;
      tracker.feed(e, read_exec_facts);
    });
    if (!d) break;
    events += d->events;
    losses += d->losses;
    if (d->losses) tracker.lost(d->losses);
    if (!d->more) {
      // Woken per event, the reader pays a wake-up for each; waiting batch_ms after a drain lets
      // the socket buffer gather a burst for recvmmsg (at the cost of that much latency).
      if (batch_ms > 0) ::usleep(static_cast<useconds_t>(batch_ms * 1000));
      pollfd p{connector->fd(), POLLIN, 0};
      ::poll(&p, 1, 10);
    }
  }
  const double cpu = thread_cpu_seconds() - cpu0;
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  ::kill(storm, SIGKILL);
  ::waitpid(storm, nullptr, 0);
  std::printf(
      "kernel (batch %d ms): %.0f events/s read and tracked (%.0f processes/s started), %.1f%% of one core, %.0f ns "
      "CPU "
      "per event, %zu ENOBUFS losses\n",
      batch_ms, static_cast<double>(events) / wall, static_cast<double>(forks) / wall, 100.0 * cpu / wall,
      events ? cpu * 1e9 / static_cast<double>(events) : 0.0, losses);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string what = argc > 1 ? argv[1] : "all";
  const double seconds = seconds_setting();
  if (what == "decode" || what == "all") bench_decode(seconds);
  if (what == "kernel" || what == "all")
    for (int batch_ms : {0, 5}) bench_kernel(seconds, batch_ms);
  return 0;
}
