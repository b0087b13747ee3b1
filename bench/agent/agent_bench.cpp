// Benchmarks of the agent daemon, as whole processes (the real cronitor-agent binary):
//   events   wrapper events per second stored durably (acknowledged "ok" = committed to state.db),
//            with the CPU and disk writes an event and the clients' waits for their acks
//   rss      resident, proportional (PSS) and private memory of the daemon with 100 and 10,000
//            monitors (AGENT_BENCH_AGENT=PATH measures another cronitor-agent binary)
//   deadline how long after a missed deadline its alert reaches an HTTP receiver
//   ack      the real cronitor-exec, run after run: how many events miss the 5 ms ack (AGENT_BENCH_ACK_RUNS)
//   ceiling  the same clients against a server doing only the socket's part: this machine's ceiling
//   events-normal  events with synchronous=normal only (bench/report's repeats)
// usage: agent_bench [events|events-normal|ceiling|rss|deadline|ack|all] (AGENT_BENCH_SECONDS, default 5)
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "agent/sources/host_facts.h"
#include "common/event.h"
#include "common/run_id.h"
#include "wrapper/agent_client.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

const std::string kAgent = std::getenv("AGENT_BENCH_AGENT") ? std::getenv("AGENT_BENCH_AGENT") : CRONITOR_AGENT_BIN;

struct Daemon {
  pid_t pid = -1;
  std::string socket;
  ~Daemon() { stop(); }
  void stop() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      ::waitpid(pid, nullptr, 0);
      pid = -1;
    }
  }
};

void start(Daemon& d, const fs::path& dir, const std::string& config_text, const char* sync = nullptr) {
  fs::create_directories(dir);
  d.socket = (dir / "agent.sock").string();
  std::ofstream(dir / "agent.yaml") << "state_dir: " << (dir / "state").string() << "\nsocket: " << d.socket
                                    << "\nspool_dir: " << (dir / "spool").string()
                                    << "\ndiscovery: {crontabs: false, systemd: false}\n"
                                    << config_text;
  fs::remove(d.socket);
  d.pid = ::fork();
  if (d.pid == 0) {
    if (sync) ::setenv("CRONITOR_STATE_SYNC", sync, 1);
    std::string log = (dir / "daemon.log").string();
    (void)!std::freopen(log.c_str(), "w", stderr);
    std::string cfg = (dir / "agent.yaml").string();
    ::execl(kAgent.c_str(), kAgent.c_str(), "run", "--config", cfg.c_str(), nullptr);
    ::_exit(127);
  }
  auto until = Clock::now() + 60s;
  while (!fs::exists(d.socket) && Clock::now() < until) std::this_thread::sleep_for(5ms);
}

std::string now_ts() {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
  return cronitor::format_timestamp_ms(ms.count());
}

/// One wrapper exchange, through cronitor-exec's own client: connect, one line, wait for "ok\n".
bool send_event(const std::string& socket, const std::string& line) {
  return cronitor::wrapper::send_to_agent(socket, line, 1000000).has_value();
}

/// CPU seconds (user + system) used by the process or thread whose stat file is `stat`.
double cpu_seconds_at(const std::string& stat) {
  std::ifstream in(stat);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  const auto s = cronitor::agent::parse_proc_stat(text);  // the agent's own reader of the format
  if (!s) return 0;
  return static_cast<double>(s->utime_ticks + s->stime_ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

/// A thread's /proc/.../schedstat: nanoseconds on a CPU and waiting on a run queue (nullopt when
/// the kernel keeps no such figures).
std::optional<std::pair<double, double>> sched_ns(const std::string& schedstat) {
  std::ifstream in(schedstat);
  double running = 0, waiting = 0;
  if (!(in >> running >> waiting)) return std::nullopt;
  return std::make_pair(running, waiting);
}

/// CPU seconds (user + system) the process has used.
double cpu_seconds(pid_t pid) { return cpu_seconds_at("/proc/" + std::to_string(pid) + "/stat"); }

/// The machine's idle and total CPU time so far (/proc/stat's first line), in clock ticks.
std::pair<double, double> machine_idle_total() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  in >> cpu;
  double v = 0, total = 0, idle = 0;
  for (int i = 0; i < 8 && in >> v; ++i) {  // user nice system idle iowait irq softirq steal
    total += v;
    if (i == 3 || i == 4) idle += v;
  }
  return {idle, total};
}

/// Bytes the process has caused to be written to disk so far (/proc/PID/io's write_bytes: the
/// page cache's writeback it caused, its fsyncs included); -1 when unreadable.
long long disk_write_bytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/io");
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with("write_bytes:")) return std::stoll(line.substr(12));
  return -1;
}

long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
  return -1;
}

/// One field of /proc/PID/smaps_rollup (Pss:, Private_Dirty: ...), in KiB.
long rollup_kib(pid_t pid, std::string_view field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps_rollup");
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with(field)) return std::stol(line.substr(field.size()));
  return -1;
}

std::string monitors_yaml(int n) {
  static const char* kSchedules[] = {"* * * * *", "*/5 * * * *", "0 * * * *",        "30 2 * * *",
                                     "0 4 * * 0", "0 5 1 * *",   "every 10 minutes", "*-*-* 04:00:00"};
  static const char* kZones[] = {"UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo"};
  std::string out = "monitors:\n";
  for (int i = 0; i < n; ++i) {
    out += "  - key: job-" + std::to_string(i) + "\n    schedule: \"" + kSchedules[i % 8] +
           "\"\n    timezone: " + kZones[i % 4] + "\n";
    if (i % 3 == 0) out += "    assertions: [\"metric.duration < 30 minutes\"]\n";
  }
  return out;
}

struct Drive {
  uint64_t acked = 0, failed = 0;
  double seconds = 0, server_cpu = 0;
  double server_loop_cpu = 0;  // the server's main thread (the daemon's event loop)
  double client_cpu = 0;       // this process: the client threads
  double idle_share = 0;       // of the machine's CPU time
  // The server's main thread (schedstat), shares of the window: running, and runnable but waiting
  // for a CPU. Together near 1, the loop is the serial limit: it always had work.
  double loop_running = -1, loop_waiting = -1;
  double window = 0;          // the seconds the CPU times cover (`seconds` is until the clients stopped)
  long long disk_bytes = -1;  // the server's writes to disk over the window (write_bytes)
  // How long a client waited from connecting to its "ok" (every acknowledged event): the wait a
  // wrapper has under this load (its ack timeout: wrapper/README.md).
  double ack_p50_ms = 0, ack_p99_ms = 0, ack_max_ms = 0;
  int threads = 0;
};

/// 32 client threads (AGENT_BENCH_CLIENTS), each a job's wrapper: a run's start, then its end, each
/// one connection through cronitor-exec's own client, for `seconds`; `server` is the process that
/// answers (its CPU time is measured over the same seconds).
Drive drive_clients(const std::string& socket, pid_t server, int seconds) {
  Drive out;
  out.threads = std::getenv("AGENT_BENCH_CLIENTS") ? std::atoi(std::getenv("AGENT_BENCH_CLIENTS")) : 32;
  const int threads = out.threads;
  std::atomic<uint64_t> acked{0}, failed{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> pool;
  std::vector<std::vector<float>> waits(static_cast<size_t>(threads));  // ms, one list per client
  for (auto& w : waits) w.reserve(size_t{1} << 16);
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      auto& wait_ms = waits[static_cast<size_t>(t)];
      uint64_t i = 0;
      std::string run_id;
      while (!stop.load(std::memory_order_relaxed)) {
        cronitor::RunEvent e;
        // Each client has keys of its own, as each job has its own wrapper: a run, then its end.
        const int own = std::max(1, (100 - t + threads - 1) / threads);
        e.key = "job-" + std::to_string(t + threads * static_cast<int>((i / 2) % static_cast<uint64_t>(own)));
        e.state = i % 2 == 0 ? cronitor::RunState::kRun : cronitor::RunState::kComplete;
        // The run's id as every wrapper makes it (common/run_id.h); its end reuses it.
        if (i % 2 == 0) run_id = cronitor::new_run_id();
        e.run_id = run_id;
        e.ts = now_ts();
        e.host = "bench";
        e.pid = 1000 + t;
        e.uid = static_cast<int64_t>(::getuid());
        e.duration_ms = 12;
        e.output_tail = "done\n";
        const std::string line = cronitor::encode(e);
        const auto sent = Clock::now();
        if (send_event(socket, line)) {
          wait_ms.push_back(std::chrono::duration<float, std::milli>(Clock::now() - sent).count());
          acked++;
        } else {
          failed++;
        }
        ++i;
      }
    });
  auto t0 = Clock::now();
  const std::string loop_task = "/proc/" + std::to_string(server) + "/task/" + std::to_string(server);
  const std::string loop_stat = loop_task + "/stat", loop_sched = loop_task + "/schedstat";
  const auto sched0 = sched_ns(loop_sched);
  const double cpu0 = cpu_seconds(server), loop0 = cpu_seconds_at(loop_stat), self0 = cpu_seconds_at("/proc/self/stat");
  const auto [idle0, total0] = machine_idle_total();
  const long long disk0 = disk_write_bytes(server);
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  const long long disk1 = disk_write_bytes(server);
  if (disk0 >= 0 && disk1 >= 0) out.disk_bytes = disk1 - disk0;
  out.server_cpu = cpu_seconds(server) - cpu0;
  out.server_loop_cpu = cpu_seconds_at(loop_stat) - loop0;
  out.client_cpu = cpu_seconds_at("/proc/self/stat") - self0;
  const auto sched1 = sched_ns(loop_sched);
  const auto [idle1, total1] = machine_idle_total();
  out.idle_share = total1 > total0 ? (idle1 - idle0) / (total1 - total0) : 0;
  out.window = std::chrono::duration<double>(Clock::now() - t0).count();
  if (sched0 && sched1) {
    out.loop_running = (sched1->first - sched0->first) / 1e9 / out.window;
    out.loop_waiting = (sched1->second - sched0->second) / 1e9 / out.window;
  }
  stop = true;
  for (auto& th : pool) th.join();
  out.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  out.acked = acked.load();
  out.failed = failed.load();
  std::vector<float> all;
  for (const auto& w : waits) all.insert(all.end(), w.begin(), w.end());
  if (!all.empty()) {
    std::sort(all.begin(), all.end());
    out.ack_p50_ms = all[all.size() / 2];
    out.ack_p99_ms = all[all.size() * 99 / 100];
    out.ack_max_ms = all.back();
  }
  return out;
}

const char* load_average() {
  static std::string l;
  std::ifstream("/proc/loadavg") >> l;
  return l.c_str();
}

/// An amount measured over the window (CPU time, bytes written) per acknowledged event: over the
/// events of the same window (at the rate of the whole run; its count also holds the few events
/// while the clients stopped).
double per_event(double amount, const Drive& r) {
  const double events = static_cast<double>(r.acked) / std::max(r.seconds, 1e-3) * r.window;
  return events > 0 ? amount / events : 0;
}

/// CPU microseconds per acknowledged event.
double per_event_us(double cpu_seconds, const Drive& r) { return per_event(cpu_seconds * 1e6, r); }

void bench_events(const fs::path& base, int seconds, const char* sync) {
  Daemon d;
  start(d, base / (std::string("events-") + (sync ? sync : "normal")), monitors_yaml(100), sync);
  const Drive r = drive_clients(d.socket, d.pid, seconds);
  char sched[96] = "";
  if (r.loop_running >= 0)
    std::snprintf(sched, sizeof sched, "; daemon loop on a CPU %.0f%% of the time, waiting for one %.0f%%",
                  100 * r.loop_running, 100 * r.loop_waiting);
  std::printf(
      "events: %.0f events/s acknowledged after commit (synchronous=%s), %d client threads, %llu failed; "
      "daemon CPU %.2f s = %.0f events per daemon CPU-second; RSS %ld KiB; load average %s; "
      "CPU per event: daemon loop %.1f us, other daemon threads %.1f us, clients %.1f us; machine idle %.0f%%%s; "
      "daemon disk writes %.1f KiB an event; a client's wait for its ack: median %.2f ms, p99 %.2f ms, max %.1f ms\n",
      static_cast<double>(r.acked) / r.seconds, sync ? sync : "normal", r.threads,
      static_cast<unsigned long long>(r.failed), r.server_cpu,
      static_cast<double>(r.acked) / std::max(r.server_cpu, 1e-3), rss_kib(d.pid), load_average(),
      per_event_us(r.server_loop_cpu, r), per_event_us(r.server_cpu - r.server_loop_cpu, r),
      per_event_us(r.client_cpu, r), 100 * r.idle_share, sched,
      r.disk_bytes < 0 ? -1.0 : per_event(static_cast<double>(r.disk_bytes) / 1024, r), r.ack_p50_ms, r.ack_p99_ms,
      r.ack_max_ms);
}

/// The machine's ceiling for the events benchmark: the same clients against a server that does
/// only the socket's part of the daemon's work (accept4, SO_PEERCRED, read the line, then "ok\n"
/// and close for every connection of one epoll round), with no decoding and no database. What the
/// daemon reaches is read against this: the rest of its time per event is its own.
[[noreturn]] void ceiling_server(int listen_fd) {
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event in{};
  in.events = EPOLLIN;
  in.data.fd = listen_fd;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &in);
  std::vector<int> answered;
  char buf[16384];
  // A connection's line: usually there at accept; else the connection waits in epoll for it.
  auto read_line = [&](int fd) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0 && std::memchr(buf, '\n', static_cast<size_t>(n)) != nullptr) {
      answered.push_back(fd);
    } else if (n < 0 && errno == EAGAIN) {
      epoll_event wait{};
      wait.events = EPOLLIN | EPOLLONESHOT;
      wait.data.fd = fd;
      if (::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &wait) != 0) ::epoll_ctl(ep, EPOLL_CTL_MOD, fd, &wait);
    } else {
      ::close(fd);
    }
  };
  for (;;) {
    epoll_event out[64];
    const int ready = ::epoll_wait(ep, out, 64, -1);
    for (int i = 0; i < ready; ++i) {
      if (out[i].data.fd != listen_fd) {
        read_line(out[i].data.fd);
        continue;
      }
      for (int fd; (fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
        ucred cred{};
        socklen_t len = sizeof cred;
        ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len);
        read_line(fd);
      }
    }
    for (int fd : answered) {
      ::send(fd, "ok\n", 3, MSG_NOSIGNAL | MSG_DONTWAIT);
      ::close(fd);
    }
    answered.clear();
  }
}

void bench_ceiling(const fs::path& base, int seconds) {
  fs::create_directories(base);
  Daemon d;
  d.socket = (base / "ceiling.sock").string();
  const int l = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, d.socket.c_str(), d.socket.size() + 1);
  if (l < 0 || ::bind(l, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(l, 1024) != 0) {
    std::printf("ceiling: ERROR: cannot listen on %s: %s\n", d.socket.c_str(), std::strerror(errno));
    return;
  }
  d.pid = ::fork();
  if (d.pid == 0) ceiling_server(l);
  ::close(l);
  const Drive r = drive_clients(d.socket, d.pid, seconds);
  std::printf(
      "ceiling: %.0f events/s answered by a server doing only the socket's part (no decoding, no database), "
      "%d client threads, %llu failed; server CPU %.2f s; load average %s; CPU per event: server %.1f us, clients "
      "%.1f us; machine idle %.0f%%\n",
      static_cast<double>(r.acked) / r.seconds, r.threads, static_cast<unsigned long long>(r.failed), r.server_cpu,
      load_average(), per_event_us(r.server_cpu, r), per_event_us(r.client_cpu, r), 100 * r.idle_share);
}

void bench_rss(const fs::path& base) {
  for (int n : {100, 10000}) {
    Daemon d;
    start(d, base / ("rss-" + std::to_string(n)), monitors_yaml(n));
    std::this_thread::sleep_for(300ms);
    // PSS shares each library page among the processes mapping it; private pages are this
    // daemon's alone (what stopping it frees).
    std::printf("rss: %d monitors: %ld KiB resident, %ld KiB PSS, %ld KiB private\n", n, rss_kib(d.pid),
                rollup_kib(d.pid, "Pss:"), rollup_kib(d.pid, "Private_Clean:") + rollup_kib(d.pid, "Private_Dirty:"));
  }
}

/// A tiny HTTP receiver: accepts POSTs, notes the arrival time of each.
struct Receiver {
  int fd = -1;
  int port = 0;
  std::vector<double> arrivals;  // seconds since the epoch
  std::thread th;
  std::atomic<bool> stop{false};
  Receiver() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    ::listen(fd, 64);
    th = std::thread([this] {
      while (!stop) {
        int c = ::accept(fd, nullptr, nullptr);
        if (c < 0) continue;
        double t = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
        char buf[65536];
        std::string req;
        while (req.find("\r\n\r\n") == std::string::npos) {
          ssize_t n = ::recv(c, buf, sizeof buf, 0);
          if (n <= 0) break;
          req.append(buf, static_cast<size_t>(n));
        }
        if (req.starts_with("POST")) arrivals.push_back(t);
        const char* ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
        (void)!::send(c, ok, std::strlen(ok), MSG_NOSIGNAL);
        ::close(c);
      }
    });
  }
  ~Receiver() {
    stop = true;
    ::shutdown(fd, SHUT_RDWR);
    ::close(fd);
    th.join();
  }
};

void bench_deadline(const fs::path& base) {
  Receiver rx;
  const int n = 10;
  std::string yaml =
      "defaults:\n  notify: [\"webhook:http://127.0.0.1:" + std::to_string(rx.port) + "/hook\"]\nmonitors:\n";
  for (int i = 0; i < n; ++i)
    yaml += "  - key: hb-" + std::to_string(i) + "\n    schedule: every 2 seconds\n    grace_seconds: 1\n";
  Daemon d;
  start(d, base / "deadline", yaml);
  std::vector<double> deadlines;
  for (int i = 0; i < n; ++i) {
    cronitor::RunEvent e;
    e.key = "hb-" + std::to_string(i);
    e.run_id = cronitor::new_run_id();
    e.state = cronitor::RunState::kComplete;
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
                  .count();
    e.ts = cronitor::format_timestamp_ms(ms);
    e.host = "bench";
    e.pid = 1;
    e.uid = static_cast<int64_t>(::getuid());
    send_event(d.socket, cronitor::encode(e));
    deadlines.push_back(static_cast<double>(ms) / 1000.0 + 3.0);  // run + period 2 s + grace 1 s
    std::this_thread::sleep_for(137ms);
  }
  auto until = Clock::now() + 10s;
  while (rx.arrivals.size() < static_cast<size_t>(n) && Clock::now() < until) std::this_thread::sleep_for(20ms);
  std::vector<double> late;
  auto arrivals = rx.arrivals;
  std::sort(arrivals.begin(), arrivals.end());
  for (size_t i = 0; i < std::min(arrivals.size(), deadlines.size()); ++i)
    late.push_back((arrivals[i] - deadlines[i]) * 1000);
  std::sort(late.begin(), late.end());
  if (late.empty()) {
    std::printf("deadline: no alert arrived\n");
    return;
  }
  std::printf("deadline: %zu missed deadlines, alert received after the deadline: median %.1f ms, max %.1f ms\n",
              late.size(), late[late.size() / 2], late.back());
}

/// The real cronitor-exec against the real daemon, one job after another: how often does an
/// event miss the wrapper's 5 ms acknowledgement window (and go to the spool instead)?
void bench_ack(const fs::path& base, int runs) {
  Daemon d;
  start(d, base / "ack", "monitors:\n  - key: ack-job\n    schedule: every 1 hour\n");
  const fs::path spool = base / "ack" / "wrapper-spool";  // not the agent's: what lands here stays
  fs::create_directories(spool);
  std::vector<std::string> env = {"PATH=/usr/bin:/bin", "SHELL=/bin/sh", "CRONITOR_SOCKET=" + d.socket,
                                  "CRONITOR_SPOOL=" + spool.string()};
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  const std::string exec = CRONITOR_EXEC_BIN;
  std::vector<std::string> args = {exec, "ack-job", "--", "true"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    auto t0 = Clock::now();
    pid_t pid = ::fork();
    if (pid == 0) {
      int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 1);
      ::dup2(null, 2);
      ::execve(exec.c_str(), argv.data(), envp.data());
      ::_exit(127);
    }
    ::waitpid(pid, nullptr, 0);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  size_t spooled = 0;
  for (const auto& f : fs::directory_iterator(spool)) spooled += f.is_regular_file();
  std::sort(ms.begin(), ms.end());
  std::printf(
      "ack: %d runs of the real cronitor-exec against the real daemon: %zu runs spooled an event (missed the "
      "5 ms ack); run wall time median %.2f ms, p99 %.2f ms, max %.2f ms\n",
      runs, spooled, ms[ms.size() / 2], ms[ms.size() * 99 / 100], ms.back());
}

}  // namespace

int main(int argc, char** argv) {
  std::string what = argc > 1 ? argv[1] : "all";
  int seconds = 5;
  if (const char* s = std::getenv("AGENT_BENCH_SECONDS")) seconds = std::max(1, std::atoi(s));
  fs::path base = fs::temp_directory_path() / ("agent-bench-" + std::to_string(::getpid()));
  fs::remove_all(base);
  if (what == "events" || what == "events-normal" || what == "all") {
    bench_events(base, seconds, nullptr);
    if (what != "events-normal") bench_events(base, seconds, "full");
  }
  if (what == "ceiling" || what == "all") bench_ceiling(base, seconds);
  if (what == "rss" || what == "all") bench_rss(base);
  if (what == "deadline" || what == "all") bench_deadline(base);
  if (what == "ack" || what == "all") {
    const char* n = std::getenv("AGENT_BENCH_ACK_RUNS");
    bench_ack(base, n ? std::max(1, std::atoi(n)) : 2000);
  }
  fs::remove_all(base);
  return 0;
}
