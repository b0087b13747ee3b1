#include "agent/cron_check.h"

#include <dirent.h>
#include <signal.h>

#include <cerrno>
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
    if ((::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM) && is_cron_name(comm_of(pid))) {
      if (found) *found = static_cast<pid_t>(pid);
      return obs;
    }
    obs.cause = "no live cron process behind " + pidfile + " (pid " + std::to_string(pid) + ")";
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
        if (is_cron_name(comm_of(p))) {
          ::closedir(d);
          if (found) *found = static_cast<pid_t>(p);
          return obs;
        }
      }
      ::closedir(d);
    }
    obs.cause += ", and no process named cron or crond is running";
  }
  obs.running = false;
  return obs;
}

}  // namespace cronitor::agent
