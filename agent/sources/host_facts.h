// Facts of the machine the agent runs on that the kernel tells through /proc and its clocks: the
// boot time, a process's name, parent, group, owner, command line, program and start, and the
// host's count of OOM kills. This is the one place the daemon reads /proc, and the one seam through which a test states
// the boot time of the host it pretends to run on (CRONITOR_BOOT_TIME), so that no test depends on the uptime of the
// machine it runs on.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schedule/zone.h"

namespace cronitor::agent {

using schedule::Instant;

/// The fields of /proc/PID/stat the agent uses.
struct ProcStat {
  std::string comm;  // the kernel's process name (up to 15 bytes, any bytes but NUL)
  char state = 0;    // R, S, D, Z, X, ...
  pid_t ppid = 0, pgrp = 0;
  uint64_t start_ticks = 0;                   // clock ticks after boot
  uint64_t utime_ticks = 0, stime_ticks = 0;  // CPU time in user and kernel mode, in clock ticks
  bool alive() const { return state != 'Z' && state != 'X'; }
};

/// Parses the text of /proc/PID/stat. The name may hold spaces and ')': it ends at the last ')'.
std::optional<ProcStat> parse_proc_stat(std::string_view text);

/// /proc/PID/stat of a live (or zombie) process; nullopt when it is gone or unreadable.
std::optional<ProcStat> read_proc_stat(pid_t pid);

/// The owner of /proc/PID (the process's real uid as the kernel shows it).
std::optional<uid_t> proc_uid(pid_t pid);

/// The pids /proc lists now (its numeric entries), in the order the kernel lists them: the one
/// walk of the process table that the scans of cron, anacron, lost forks and groups share.
std::vector<pid_t> proc_pids(const std::string& proc = "/proc");

/// argv of a process from /proc/PID/cmdline, at most `max_args` arguments.
std::vector<std::string> proc_cmdline(pid_t pid, size_t max_args = 64);

/// The program a process runs (the target of /proc/PID/exe); empty when it is gone or hidden.
std::string proc_exe(pid_t pid);

/// The host's count of OOM kills (/proc/vmstat's oom_kill); nullopt when hidden or absent.
std::optional<uint64_t> host_oom_kills();

/// When a process started, from its start in ticks and the time since boot (CLOCK_BOOTTIME): exact
/// to a tick, and right whatever boot time a test states.
std::optional<Instant> process_started_at(const ProcStat& stat);

/// The host's boot time from the kernel: /proc/stat's btime, or CLOCK_REALTIME - CLOCK_BOOTTIME when
/// that file is unreadable. nullopt when neither answers.
std::optional<Instant> kernel_boot_time(const std::string& proc_stat = "/proc/stat");

/// The boot time as a fact of this host: `CRONITOR_BOOT_TIME` (seconds since the epoch, set by a
/// test or a sysadmin who knows better) when set and valid, else kernel_boot_time(). A value that
/// is not a number of seconds in the past is ignored with one warning.
std::optional<Instant> host_boot_time();

/// What of the host the agent can read where it runs (a sandbox may hide /proc's system files or
/// other users' processes): said once at start, so that a unit that hides a source is seen.
struct HostAccess {
  bool proc_stat = false;    // /proc/stat: the boot time
  bool proc_vmstat = false;  // /proc/vmstat: the host's OOM kill count
  size_t processes = 0;      // processes listed in /proc
  size_t other_owners = 0;   // distinct owners other than root among them
};
HostAccess probe_host_access();

/// The start-up line for `a`: what is read, and what is missing and what that costs.
std::string describe(const HostAccess& a);

}  // namespace cronitor::agent
