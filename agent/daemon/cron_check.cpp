#include "agent/daemon/cron_check.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <fstream>

namespace cronitor::agent {
namespace {

std::string comm_of(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(in, name);
  return name;
}

bool is_cron_name(const std::string& n) { return n == "cron" || n == "crond"; }

long ppid_of(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  std::getline(in, text);
  auto close = text.rfind(')');
  if (close == std::string::npos) return 0;
  char state = 0;
  long ppid = 0;
  return std::sscanf(text.c_str() + close + 1, " %c %ld", &state, &ppid) == 2 ? ppid : 0;
}

// The cron daemon itself, not one of its per-job children: those share its name (comm "cron")
// and, under Debian's cron.service (KillMode=process), outlive it, reparented to PID 1. A child
// renames itself (argv[0] "/usr/sbin/CRON") or still has a cron process as its parent.
bool is_cron_daemon(long pid) {
  // cron runs as root. Anyone can start a process named "cron" (a copy of sleep will do), and a
  // pid from a stale /run/crond.pid may be reused by one: only root's process is the daemon.
  struct stat st {};
  if (::stat(("/proc/" + std::to_string(pid)).c_str(), &st) != 0 || st.st_uid != 0) return false;
  if (!is_cron_name(comm_of(pid))) return false;
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  std::string argv0;
  std::getline(in, argv0, '\0');
  const std::string base = argv0.substr(argv0.rfind('/') == std::string::npos ? 0 : argv0.rfind('/') + 1);
  if (base == "CRON") return false;
  const long parent = ppid_of(pid);
  return parent <= 1 || !is_cron_name(comm_of(parent));
}

}  // namespace

CronObservation observe_cron(const std::string& root, Instant now, const std::string& host, pid_t* found) {
  CronObservation obs{now, true, "", host};
  if (found) *found = 0;
  std::string base = root == "/" ? "" : root;
  while (!base.empty() && base.back() == '/') base.pop_back();
  const std::string pidfile = base + "/run/crond.pid";
  std::ifstream in(pidfile);
  long pid = 0;
  if (in >> pid && pid > 0 && pid <= 4194304) {
    if ((::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM) && is_cron_daemon(pid)) {
      if (found) *found = static_cast<pid_t>(pid);
      return obs;
    }
    // The pid file names the daemon: a cron process left is a job's child, not the daemon.
    obs.cause = "no live cron process behind " + pidfile + " (pid " + std::to_string(pid) + ")";
    obs.running = false;
    return obs;
  } else {
    obs.cause = pidfile + " does not exist";
  }
  // No pid file (or a stale one): any cron process at all? Only on the host itself: under
  // another root (a copy of a host), this machine's processes say nothing about it.
  if (base.empty()) {
    if (DIR* d = ::opendir("/proc")) {
      while (dirent* e = ::readdir(d)) {
        char* end = nullptr;
        long p = std::strtol(e->d_name, &end, 10);
        if (p <= 0 || *end) continue;
        if (is_cron_daemon(p)) {
          ::closedir(d);
          if (found) *found = static_cast<pid_t>(p);
          return obs;
        }
      }
      ::closedir(d);
    }
    obs.cause += ", and no cron daemon process is running (only per-job children, if any)";
  }
  obs.running = false;
  return obs;
}

}  // namespace cronitor::agent
