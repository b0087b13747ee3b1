#include "agent/sources/host_facts.h"

#include <dirent.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "common/dir_listing.h"
#include "common/kernel_file.h"
#include "common/text.h"

namespace cronitor::agent {
namespace {

std::string proc_path(pid_t pid, const char* file) { return "/proc/" + std::to_string(pid) + "/" + file; }

template <typename T>
bool read_number(std::string_view word, T& out) {
  auto [p, ec] = std::from_chars(word.data(), word.data() + word.size(), out);
  return ec == std::errc() && p == word.data() + word.size();
}

int64_t usec(const timespec& t) { return int64_t{t.tv_sec} * 1000000 + t.tv_nsec / 1000; }

}  // namespace

std::optional<ProcStat> parse_proc_stat(std::string_view text) {
  const size_t open = text.find(" (");
  const size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open + 2) return std::nullopt;
  ProcStat s;
  s.comm = std::string(text.substr(open + 2, close - open - 2));
  // Fields after the name, counted from 3 (state): ppid 4, pgrp 5, utime 14, stime 15, starttime 22.
  std::string_view rest = text.substr(close + 1);
  int field = 2;
  bool have_start = false;
  while (!rest.empty() && field < 22) {
    const size_t b = rest.find_first_not_of(' ');
    if (b == std::string_view::npos) break;
    rest.remove_prefix(b);
    const size_t e = std::min(rest.find_first_of(" \n"), rest.size());
    const std::string_view word = rest.substr(0, e);
    rest.remove_prefix(e);
    switch (++field) {
      case 3:
        if (word.size() != 1) return std::nullopt;
        s.state = word[0];
        break;
      case 4:
        if (!read_number(word, s.ppid)) return std::nullopt;
        break;
      case 5:
        if (!read_number(word, s.pgrp)) return std::nullopt;
        break;
      case 14:  // best effort: only CPU figures read them (agent_bench, the real-manager tests)
        (void)read_number(word, s.utime_ticks);
        break;
      case 15:
        (void)read_number(word, s.stime_ticks);
        break;
      case 22:
        have_start = read_number(word, s.start_ticks);
        break;
      default:
        break;
    }
  }
  if (!have_start) return std::nullopt;
  return s;
}

std::optional<ProcStat> read_proc_stat(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  auto text = read_kernel_file(proc_path(pid, "stat"), 1024);
  if (!text) return std::nullopt;
  return parse_proc_stat(*text);
}

std::optional<uid_t> proc_uid(pid_t pid) {
  struct stat st {};
  if (pid <= 0 || ::stat(("/proc/" + std::to_string(pid)).c_str(), &st) != 0) return std::nullopt;
  return st.st_uid;
}

std::vector<std::string> proc_cmdline(pid_t pid, size_t max_args) {
  std::vector<std::string> argv;
  if (pid <= 0) return argv;
  auto text = read_kernel_file(proc_path(pid, "cmdline"), 64 * 1024);
  if (!text) return argv;
  std::string_view rest = *text;
  while (!rest.empty() && argv.size() < max_args) {
    const size_t end = std::min(rest.find('\0'), rest.size());
    argv.emplace_back(rest.substr(0, end));
    rest.remove_prefix(std::min(end + 1, rest.size()));
  }
  return argv;
}

std::string proc_exe(pid_t pid) {
  std::error_code ec;
  return pid > 0 ? std::filesystem::read_symlink(proc_path(pid, "exe"), ec).string() : std::string();
}

std::optional<uint64_t> host_oom_kills() {
  auto text = read_kernel_file("/proc/vmstat", 16384);  // about 5 KiB
  return text ? keyed_number(*text, "oom_kill") : std::nullopt;
}

std::optional<Instant> process_started_at(const ProcStat& stat) {
  const long hz = ::sysconf(_SC_CLK_TCK);
  timespec real{}, boot{};
  if (hz <= 0 || stat.start_ticks == 0 || ::clock_gettime(CLOCK_REALTIME, &real) != 0 ||
      ::clock_gettime(CLOCK_BOOTTIME, &boot) != 0)
    return std::nullopt;
  const int64_t started_after_boot = static_cast<int64_t>(stat.start_ticks) * 1000000 / hz;
  return Instant(std::chrono::microseconds(usec(real) - (usec(boot) - started_after_boot)));
}

std::optional<Instant> kernel_boot_time(const std::string& proc_stat) {
  std::ifstream in(proc_stat);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("btime ")) continue;
    int64_t s = 0;
    if (read_number(std::string_view(line).substr(6), s)) return Instant(std::chrono::seconds(s));
    break;
  }
  timespec real{}, boot{};
  if (::clock_gettime(CLOCK_REALTIME, &real) != 0 || ::clock_gettime(CLOCK_BOOTTIME, &boot) != 0) return std::nullopt;
  return Instant(std::chrono::microseconds(usec(real) - usec(boot)));
}

std::optional<Instant> host_boot_time() {
  if (const char* stated = std::getenv("CRONITOR_BOOT_TIME"); stated != nullptr && *stated != '\0') {
    int64_t s = 0;
    const auto now = std::chrono::system_clock::now();
    if (read_number(std::string_view(stated), s) && s > 0 && Instant(std::chrono::seconds(s)) <= now)
      return Instant(std::chrono::seconds(s));
    static bool warned = false;
    if (!warned) spdlog::warn("CRONITOR_BOOT_TIME=\"{}\" is not seconds since the epoch in the past, ignoring", stated);
    warned = true;
  }
  return kernel_boot_time();
}

std::vector<pid_t> proc_pids(const std::string& proc) {
  std::vector<pid_t> out;
  const DirListing d(::opendir(proc.c_str()));
  if (!d) return out;
  while (dirent* e = ::readdir(d.get())) {
    pid_t pid = 0;
    if (read_number(std::string_view(e->d_name), pid) && pid > 0) out.push_back(pid);
  }
  return out;
}

HostAccess probe_host_access() {
  HostAccess a;
  a.proc_stat = ::access("/proc/stat", R_OK) == 0;
  a.proc_vmstat = ::access("/proc/vmstat", R_OK) == 0;
  std::set<uid_t> owners;
  for (pid_t pid : proc_pids()) {
    ++a.processes;
    if (auto uid = proc_uid(pid); uid && *uid != 0 && owners.size() < 64) owners.insert(*uid);
  }
  a.other_owners = owners.size();
  return a;
}

std::string describe(const HostAccess& a) {
  std::string out = "host facts: ";
  out += a.proc_stat ? "boot time from /proc/stat" : "/proc/stat hidden (boot time from the clocks)";
  out += a.proc_vmstat ? "; /proc/vmstat readable" : "; /proc/vmstat hidden (no host-wide OOM count)";
  out += "; " + std::to_string(a.processes) + " processes visible, " +
         (a.other_owners == 0 ? std::string("none of a user other than root (a job's processes may be hidden)")
                              : "of root and " + std::to_string(a.other_owners) + " other user(s)");
  return out;
}

}  // namespace cronitor::agent
