#include "agent/sources/cron_check.h"

#include <signal.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>

#include "agent/sources/host_facts.h"

namespace cronitor::agent {
namespace {

bool is_cron_name(const std::string& n) { return n == "cron" || n == "crond"; }

// The cron daemon itself, not one of its per-job children: those share its name (comm "cron")
// and, under Debian's cron.service (KillMode=process), outlive it, reparented to PID 1. A child
// renames itself (argv[0] "/usr/sbin/CRON") or still has a cron process as its parent.
bool is_cron_daemon(pid_t pid) {
  // cron runs as root. Anyone can start a process named "cron" (a copy of sleep will do), and a
  // pid from a stale /run/crond.pid may be reused by one: only root's process is the daemon.
  if (proc_uid(pid) != uid_t{0}) return false;
  const auto stat = read_proc_stat(pid);
  if (!stat || !stat->alive() || !is_cron_name(stat->comm)) return false;
  const auto argv = proc_cmdline(pid, 1);
  const std::string argv0 = argv.empty() ? std::string() : argv[0];
  const std::string base = argv0.substr(argv0.rfind('/') == std::string::npos ? 0 : argv0.rfind('/') + 1);
  if (base == "CRON") return false;
  if (stat->ppid <= 1) return true;
  const auto parent = read_proc_stat(stat->ppid);
  return !parent || !is_cron_name(parent->comm);
}

}  // namespace

std::string cron_pid_file(const std::string& root) {
  std::string base = root;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/run/crond.pid";
}

std::optional<pid_t> read_cron_pid(const std::string& root) {
  std::ifstream in(cron_pid_file(root));
  long pid = 0;
  if (in >> pid && pid > 0 && pid <= 4194304) return static_cast<pid_t>(pid);
  return std::nullopt;
}

CronObservation observe_cron(const std::string& root, Instant now, const std::string& host, pid_t* found) {
  CronObservation obs{now, true, "", host};
  if (found) *found = 0;
  const std::string pidfile = cron_pid_file(root);
  const bool on_host = pidfile == "/run/crond.pid";
  if (const auto pid = read_cron_pid(root)) {
    if ((::kill(*pid, 0) == 0 || errno == EPERM) && is_cron_daemon(*pid)) {
      if (found) *found = *pid;
      return obs;
    }
    // The pid file names the daemon: a cron process left is a job's child, not the daemon.
    obs.cause = "no live cron process behind " + pidfile + " (pid " + std::to_string(*pid) + ")";
    obs.running = false;
    return obs;
  } else {
    obs.cause = pidfile + " does not exist";
  }
  // No pid file (or a stale one): any cron process at all? Only on the host itself: under
  // another root (a copy of a host), this machine's processes say nothing about it.
  if (on_host) {
    for (pid_t p : proc_pids())
      if (is_cron_daemon(p)) {
        if (found) *found = p;
        return obs;
      }
    obs.cause += ", and no cron daemon process is running (only per-job children, if any)";
  }
  obs.running = false;
  return obs;
}

}  // namespace cronitor::agent
