// Benchmarks of the process events source (agent/sources/proc_events.h, process_tracker.h):
//   decode  synthetic datagrams decoded and tracked (a host's forks, execs and exits outside
//           cron's trees, and one cron job in 100 processes): events/s and ns per event
//   kernel  as root: the real connector while a child forks short processes as fast as it can;
//           events/s read and tracked, CPU of the reading thread per event, ENOBUFS losses; woken
//           at once, and waiting 5 ms after each drain so that bursts are read in batches
//   storm   no connector: only the load, for bench/agent/proc_storm.sh to measure the real daemon
//           under: PROC_STORM_LOOPS processes (default 2) each starting short processes as fast
//           as they can (vfork and _exit, or vfork and exec of PROC_STORM_EXEC, e.g. /bin/true)
//           for the set seconds; prints the processes per second achieved. Each loop ends at its
//           deadline by itself and is killed by its pid a second later at the latest.
// usage: proc_events_bench [decode|kernel|all|storm] (PROC_BENCH_SECONDS, default 3)
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "agent/sources/proc_events.h"
#include "agent/sources/process_tracker.h"

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

// One short process: vfork (no page tables copied: the fastest start a loop can have) and _exit,
// or exec of `exec_path`. The child never returns from here.
pid_t spawn_short(const char* exec_path) {
  const pid_t p = ::vfork();
  if (p == 0) {
    if (exec_path) ::execl(exec_path, exec_path, static_cast<char*>(nullptr));
    ::_exit(0);
  }
  return p;
}

// One loop of the storm: short processes until `until`; returns how many it started.
long storm_loop(Clock::time_point until, const char* exec_path) {
  long started = 0;
  while (Clock::now() < until)
    for (int i = 0; i < 64; ++i) {  // the clock read once per 64: the loop is the load, not it
      const pid_t p = spawn_short(exec_path);
      if (p < 0) break;
      ::waitpid(p, nullptr, 0);
      ++started;
    }
  return started;
}

void bench_storm(double seconds) {
  const char* loops_env = std::getenv("PROC_STORM_LOOPS");
  const int loops = loops_env ? std::max(1, std::atoi(loops_env)) : 2;
  const char* exec_path = std::getenv("PROC_STORM_EXEC");
  if (exec_path && *exec_path == '\0') exec_path = nullptr;
  const auto start = Clock::now();
  const auto until = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::pair<pid_t, int>> children;  // pid, the read end of its count
  for (int i = 0; i < loops; ++i) {
    int fds[2];
    if (::pipe(fds) != 0) break;
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      const long n = storm_loop(until, exec_path);
      (void)!::write(fds[1], &n, sizeof n);
      ::_exit(0);
    }
    ::close(fds[1]);
    if (pid > 0) children.emplace_back(pid, fds[0]);
  }
  long total = 0;
  for (auto [pid, fd] : children) {
    pollfd p{fd, POLLIN, 0};  // its count comes at its deadline; a second later it is killed
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (::poll(&p, 1, static_cast<int>(std::max<long>(0, left) + 1000)) <= 0) ::kill(pid, SIGKILL);
    long n = 0;
    if (::read(fd, &n, sizeof n) == sizeof n) total += n;
    ::close(fd);
    ::waitpid(pid, nullptr, 0);
  }
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("storm: %ld processes in %.1f s: %.0f processes/s (%d loops, %s)\n", total, wall,
              static_cast<double>(total) / wall, loops, exec_path ? exec_path : "fork and exit");
}

}  // namespace

int main(int argc, char** argv) {
  const std::string what = argc > 1 ? argv[1] : "all";
  const double seconds = seconds_setting();
  if (what == "decode" || what == "all") bench_decode(seconds);
  if (what == "kernel" || what == "all")
    for (int batch_ms : {0, 5}) bench_kernel(seconds, batch_ms);
  if (what == "storm") bench_storm(seconds);
  return 0;
}
