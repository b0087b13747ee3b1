// Whole-process benchmark of cronitor-exec: the median time of `cronitor-exec k -- true` against
// `sh -c true`, with the agent socket up (a test server that acks) and down (the wrapper spools
// with fdatasync), and the peak RSS the wrapper's process tree reached.
//
//   wrapper_exec_bench [--runs N] [--exec PATH] [--spool DIR] [--agent-socket PATH]
// The spool defaults to a folder under /var/tmp (a real disk, so fdatasync costs what it costs).
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/event_server.h"

extern char** environ;

namespace {

int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

struct Sample {
  double ms;       // wall time, spawn to reaped
  double cpu_ms;   // user + system time of the process and its reaped children
  long maxrss_kb;  // largest peak RSS among them
};

// fork + execve, as cron starts a job (posix_spawn's shared-memory vfork would make the child's
// peak RSS count ours).
Sample run_once(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  std::vector<char*> argv, envp;
  std::vector<std::string> a = args, e = env;
  for (auto& s : a) argv.push_back(s.data());
  argv.push_back(nullptr);
  for (auto& s : e) envp.push_back(s.data());
  envp.push_back(nullptr);
  int64_t t0 = now_ns();
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  if (pid < 0) {
    std::perror("fork");
    std::exit(1);
  }
  int status = 0;
  rusage ru{};
  while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
  }
  int64_t t1 = now_ns();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "%s exited with status %d\n", args[0].c_str(), status);
    std::exit(1);
  }
  double cpu = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
  return {static_cast<double>(t1 - t0) / 1e6, cpu, ru.ru_maxrss};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 300;
  std::string exec = CRONITOR_EXEC_PATH;
  std::string base = "/var/tmp/cronitor-exec-bench." + std::to_string(getpid());
  std::string agent_socket;  // a real agent's socket instead of the built-in test server
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--runs") == 0)
      runs = std::atoi(argv[i + 1]);
    else if (std::strcmp(argv[i], "--exec") == 0)
      exec = argv[i + 1];
    else if (std::strcmp(argv[i], "--spool") == 0)
      base = argv[i + 1];
    else if (std::strcmp(argv[i], "--agent-socket") == 0)
      agent_socket = argv[i + 1];
  }
  std::filesystem::create_directories(base);
  std::string spool = base + "/spool";
  mkdir(spool.c_str(), 0);
  chmod(spool.c_str(), 01733);
  std::vector<std::string> env_common;
  for (char** e = environ; *e != nullptr; ++e)
    if (std::strncmp(*e, "CRONITOR_", 9) != 0 && std::strncmp(*e, "SHELL=", 6) != 0) env_common.emplace_back(*e);
  env_common.push_back("SHELL=/bin/sh");
  auto env_down = env_common, env_up = env_common;
  env_down.push_back("CRONITOR_SOCKET=" + base + "/absent.sock");
  env_down.push_back("CRONITOR_SPOOL=" + spool);
  env_up.push_back("CRONITOR_SOCKET=" + (agent_socket.empty() ? base + "/agent.sock" : agent_socket));
  env_up.push_back("CRONITOR_SPOOL=" + spool);
  cronitor::testing::EventServer server(base + "/agent.sock", cronitor::testing::EventServer::Mode::kAck);

  std::vector<std::string> sh = {"/bin/sh", "-c", "true"};
  std::vector<std::string> wrapped = {exec, "bench-key", "--", "true"};
  std::vector<double> t_sh, t_down, t_up, c_sh, c_down, c_up;
  long rss_sh = 0, rss_wrapper = 0;
  for (int i = 0; i < 20; ++i) {  // warm caches
    run_once(sh, env_common);
    run_once(wrapped, env_down);
    run_once(wrapped, env_up);
  }
  for (int i = 0; i < runs; ++i) {  // interleaved, so drift hits all three alike
    Sample a = run_once(sh, env_common);
    Sample b = run_once(wrapped, env_down);
    Sample c = run_once(wrapped, env_up);
    t_sh.push_back(a.ms);
    t_down.push_back(b.ms);
    t_up.push_back(c.ms);
    c_sh.push_back(a.cpu_ms);
    c_down.push_back(b.cpu_ms);
    c_up.push_back(c.cpu_ms);
    rss_sh = std::max(rss_sh, a.maxrss_kb);
    rss_wrapper = std::max({rss_wrapper, b.maxrss_kb, c.maxrss_kb});
  }
  size_t spooled = 0;
  for (const auto& f : std::filesystem::directory_iterator(spool)) {
    (void)f;
    ++spooled;
  }
  double m_sh = median(t_sh), m_down = median(t_down), m_up = median(t_up);
  std::printf("runs per mode: %d (interleaved, after 20 warm-up rounds)\n", runs);
  std::printf("sh -c true                        median %.3f ms  p90 %.3f ms\n", m_sh, percentile(t_sh, 0.9));
  std::printf("cronitor-exec, agent up (acks)    median %.3f ms  p90 %.3f ms  added %.3f ms\n", m_up,
              percentile(t_up, 0.9), m_up - m_sh);
  std::printf("cronitor-exec, agent down (spool) median %.3f ms  p90 %.3f ms  added %.3f ms\n", m_down,
              percentile(t_down, 0.9), m_down - m_sh);
  std::printf("CPU time (user+sys) medians: sh %.3f ms, agent up %.3f ms, agent down %.3f ms\n", median(c_sh),
              median(c_up), median(c_down));
  std::printf(
      "peak RSS of the process trees (floor: the bench's own forked copy): wrapper %ld "
      "KiB, sh %ld KiB\n",
      rss_wrapper, rss_sh);
  // The wrapper's own peak: run it from /usr/bin/time (a small parent), with a job smaller than
  // the wrapper (SHELL=/bin/true), so the largest process of the tree is the wrapper.
  long rss_own = -1;
  if (access("/usr/bin/time", X_OK) == 0) {
    std::string out = base + "/time.out";
    auto env_true = env_down;
    env_true.push_back("SHELL=/bin/true");
    std::erase(env_true, std::string("SHELL=/bin/sh"));
    for (int i = 0; i < 5; ++i) {
      run_once({"/usr/bin/time", "-o", out, "-f", "%M", exec, "rss-key", "--", "x"}, env_true);
      if (FILE* f = std::fopen(out.c_str(), "r")) {
        long kb = 0;
        if (std::fscanf(f, "%ld", &kb) == 1) rss_own = std::max(rss_own, kb);
        std::fclose(f);
      }
    }
    std::printf("peak RSS of cronitor-exec itself (/usr/bin/time, job /bin/true): %ld KiB\n", rss_own);
  }
  if (rss_own > 0) rss_wrapper = rss_own;
  std::printf("events acked by the test agent: %zu, spool files: %zu\n", server.lines().size(), spooled);
  std::error_code ec;
  std::filesystem::remove_all(base, ec);
  bool ok = m_up - m_sh <= 1.0 && m_down - m_sh <= 1.0 && rss_wrapper <= 4096;
  std::printf("targets (<= 1 ms added, <= 4 MiB): %s\n", ok ? "met" : "NOT met");
  return 0;
}
