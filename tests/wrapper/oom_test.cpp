// A real OOM kill in a v1 memory cgroup (../shared/REAL-COMPONENTS.md recipe): the job limited
// to 64 MiB allocating 256 MiB is reported oom:true with exit 137; a kill -9 control is not.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

#include "tests/wrapper/wrapper_harness.h"

namespace cronitor::testing {
namespace {

// A child memory cgroup of our own, limited to 64 MiB, removed at the end.
class MemoryCgroup {
 public:
  MemoryCgroup() {
    std::ifstream f("/proc/self/cgroup");
    std::string line, base;
    while (std::getline(f, line)) {
      auto c1 = line.find(':'), c2 = line.find(':', c1 + 1);
      if (line.substr(c1 + 1, c2 - c1 - 1) == "memory") base = line.substr(c2 + 1);
    }
    if (base.empty()) {
      error_ = "no v1 memory controller in /proc/self/cgroup";
      return;
    }
    if (base == "/") base.clear();
    path_ = "/sys/fs/cgroup/memory" + base + "/cronitor-wrapper-oom-" + std::to_string(getpid());
    if (::mkdir(path_.c_str(), 0755) != 0) {
      error_ = "mkdir " + path_ + ": " + std::strerror(errno);
      path_.clear();
      return;
    }
    if (!write("memory.limit_in_bytes", "64M")) return;
    // With swap, the job could swap instead of being killed: limit memory+swap too if present.
    struct stat st {};
    if (::stat((path_ + "/memory.memsw.limit_in_bytes").c_str(), &st) == 0) write("memory.memsw.limit_in_bytes", "64M");
    ok_ = true;
  }
  ~MemoryCgroup() {
    if (path_.empty()) return;
    // The cgroup can be removed once its last process is gone; poll with a deadline.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (::rmdir(path_.c_str()) != 0 && errno == EBUSY && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  const std::string& path() const { return path_; }
  uint64_t oom_kills() const {
    std::ifstream f(path_ + "/memory.oom_control");
    std::string k;
    uint64_t v = 0;
    while (f >> k >> v)
      if (k == "oom_kill") return v;
    return 0;
  }

 private:
  bool write(const std::string& file, const std::string& value) {
    std::ofstream f(path_ + "/" + file);
    f << value;
    f.flush();
    if (!f) error_ = "cannot write " + value + " to " + path_ + "/" + file;
    return static_cast<bool>(f);
  }
  std::string path_;
  std::string error_;
  bool ok_ = false;
};

// Runs the wrapper inside the cgroup (it joins before exec, so the job starts there too).
RunEvent run_in_cgroup(const MemoryCgroup& cg, const std::string& command, int* exit_code) {
  TempDir dir;
  ProcSpec spec;
  spec.argv = {exec_path(), "oom-job", "--", command};
  spec.env = {"CRONITOR_SOCKET=" + (dir / "none.sock"), "CRONITOR_SPOOL=" + (dir / "spool"), "SHELL=/bin/sh"};
  spec.stdout_path = dir / "out";
  std::string procs = cg.path() + "/cgroup.procs";
  spec.in_child = [procs] {
    int fd = ::open(procs.c_str(), O_WRONLY);
    if (fd < 0 || ::write(fd, "0\n", 2) != 2) _exit(253);
    ::close(fd);
  };
  auto r = wait_for(spawn(spec), std::chrono::seconds(60));
  *exit_code = r.exit_code;
  for (auto& e : spool_events(dir / "spool"))
    if (is_terminal(e.state)) return e;
  ADD_FAILURE() << "no terminal event; output: " << slurp(dir / "out");
  return {};
}

TEST(Oom, RealOomKillIsReported) {
  MemoryCgroup cg;
  if (!cg.ok()) GTEST_SKIP() << "cannot create a v1 memory cgroup: " << cg.error();
  int code = 0;
  RunEvent e = run_in_cgroup(cg, "exec /usr/bin/python3 -c 'b = bytearray(256 * 1024 * 1024); print(len(b))'", &code);
  EXPECT_EQ(code, 137);
  EXPECT_EQ(e.exit_code, 137);
  ASSERT_TRUE(e.signal.has_value());
  EXPECT_EQ(*e.signal, "SIGKILL");
  EXPECT_TRUE(e.oom) << "oom_kill counter of the cgroup: " << cg.oom_kills();
  ASSERT_TRUE(e.peak_memory_bytes.has_value());
  EXPECT_GT(*e.peak_memory_bytes, 32 << 20) << "peak memory near the 64 MiB limit";
}

TEST(Oom, OomKillOfAChildOfTheShellIsReported) {
  MemoryCgroup cg;
  if (!cg.ok()) GTEST_SKIP() << "cannot create a v1 memory cgroup: " << cg.error();
  int code = 0;
  // The shell survives and exits 137 itself: the counter still tells.
  RunEvent e = run_in_cgroup(cg, "/usr/bin/python3 -c 'b = bytearray(256 * 1024 * 1024)'; exit $?", &code);
  EXPECT_EQ(code, 137);
  EXPECT_TRUE(e.oom);
}

TEST(Oom, KillNineByAPersonIsNotOom) {
  MemoryCgroup cg;
  if (!cg.ok()) GTEST_SKIP() << "cannot create a v1 memory cgroup: " << cg.error();
  int code = 0;
  RunEvent e = run_in_cgroup(cg, "kill -9 $$", &code);
  EXPECT_EQ(code, 137);
  ASSERT_TRUE(e.signal.has_value());
  EXPECT_EQ(*e.signal, "SIGKILL");
  EXPECT_FALSE(e.oom);
  EXPECT_EQ(cg.oom_kills(), 0u);
}

}  // namespace
}  // namespace cronitor::testing
