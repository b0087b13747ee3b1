// A v1 memory cgroup of the test's own, limited so that a process in it past the limit is killed
// by the kernel's OOM killer (REAL-COMPONENTS.md, "A real OOM kill"): a child of the test's memory
// cgroup, limited for memory and memory+swap, emptied (its processes killed) and removed at the end.
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>

#include "tests/support/agent_process.h"

namespace cronitor::testing {

class MemoryCgroup {
 public:
  /// `name` is made unique by the test's pid; `limit` as memory.limit_in_bytes takes it ("64M").
  explicit MemoryCgroup(const std::string& name, const std::string& limit = "64M") {
    std::ifstream f("/proc/self/cgroup");
    std::string line, base;
    bool found = false;
    while (std::getline(f, line)) {
      auto c1 = line.find(':'), c2 = line.find(':', c1 + 1);
      if (line.substr(c1 + 1, c2 - c1 - 1) == "memory") base = line.substr(c2 + 1), found = true;
    }
    if (!found) return;
    if (base == "/") base.clear();
    path_ = "/sys/fs/cgroup/memory" + base + "/" + name + "-" + std::to_string(::getpid());
    if (::mkdir(path_.c_str(), 0755) != 0) {
      path_.clear();
      return;
    }
    procs_ = path_ + "/cgroup.procs";
    ok_ = write("memory.limit_in_bytes", limit);
    struct stat st {};
    if (ok_ && ::stat((path_ + "/memory.memsw.limit_in_bytes").c_str(), &st) == 0)
      ok_ = write("memory.memsw.limit_in_bytes", limit);
  }
  ~MemoryCgroup() { remove(); }
  /// Ends what is left in it (a job of a failed test) and removes the folder, as a manager
  /// removes a unit's cgroup at the end of its run: whether it is gone.
  bool remove() {
    if (path_.empty()) return true;
    const bool gone = wait_until(
        [&] {
          std::ifstream procs(path_ + "/cgroup.procs");
          for (long pid = 0; procs >> pid;)
            if (pid > 1) ::kill(static_cast<pid_t>(pid), SIGKILL);
          return ::rmdir(path_.c_str()) == 0 || errno != EBUSY;
        },
        std::chrono::seconds(10));
    if (gone) path_.clear();
    return gone;
  }
  MemoryCgroup(const MemoryCgroup&) = delete;
  MemoryCgroup& operator=(const MemoryCgroup&) = delete;

  bool ok() const { return ok_; }
  const std::string& path() const { return path_; }
  /// Moves the calling process into it (async-signal-safe: for a child between fork and exec).
  bool join() const {
    char buf[16];
    int n = 0;
    for (pid_t p = ::getpid(); p > 0; p /= 10) buf[n++] = static_cast<char>('0' + p % 10);
    char pid[16];
    for (int i = 0; i < n; ++i) pid[i] = buf[n - 1 - i];
    const int fd = ::open(procs_.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    const bool ok = ::write(fd, pid, static_cast<size_t>(n)) == n;
    ::close(fd);
    return ok;
  }

 private:
  bool write(const std::string& file, const std::string& value) {
    std::ofstream f(path_ + "/" + file);
    f << value << std::flush;
    return static_cast<bool>(f);
  }
  std::string path_, procs_;  // procs_: made before a fork, read in the child
  bool ok_ = false;
};

}  // namespace cronitor::testing
