// A v1 memory cgroup's OOM notifications, from the real kernel (agent/sources/systemd_host.h
// watch_cgroup_oom): an OOM kill in the cgroup notifies its eventfd, and so does the cgroup's
// removal, exactly once. A watch read only after the cgroup is gone (the agent's loop was late;
// systemd removes a unit's cgroup as its run ends) still tells the OOM: two notes where a removal
// gives one.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "agent/sources/systemd_host.h"
#include "tests/support/memory_cgroup.h"

namespace {

using cronitor::agent::OomNotifications;
using cronitor::agent::watch_cgroup_oom;
using cronitor::testing::MemoryCgroup;
using cronitor::testing::wait_until;

constexpr const char* kMemoryRoot = "/sys/fs/cgroup/memory";

/// A child in `cg` that exits 0, or (`oom`) touches 256 MiB past the cgroup's 32 MiB limit and is
/// killed by the kernel: how it ended, as waitpid says.
int run_child(const MemoryCgroup& cg, bool oom) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (!cg.join()) ::_exit(120);
    if (oom) {
      const size_t n = 256u << 20;
      auto* p = static_cast<char*>(std::malloc(n));
      if (p == nullptr) ::_exit(121);
      for (size_t i = 0; i < n; i += 4096) p[i] = 1;
      ::_exit(122);  // not reached: the OOM killer ends it first
    }
    ::_exit(0);
  }
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return st;
}

struct Watched {
  MemoryCgroup cg{"cronitor-oomnotes", "32M"};
  std::function<OomNotifications()> notes;
  std::string skip;
  Watched() {
    if (::geteuid() != 0) {
      skip = "needs root (memory cgroups)";
      return;
    }
    if (!cg.ok()) {
      skip = "no v1 memory cgroup can be made here";
      return;
    }
    auto w = watch_cgroup_oom(nullptr, "/sys/fs/cgroup", cg.path().substr(std::strlen(kMemoryRoot)));
    if (!w) {
      skip = "no OOM notification here: " + w.error().message;
      return;
    }
    notes = std::move(*w);
  }
  /// The notes once the removal's has come (it is the kernel's deferred work after rmdir).
  OomNotifications after_removal() {
    OomNotifications n;
    EXPECT_TRUE(cg.remove());
    EXPECT_TRUE(wait_until([&] { return (n = notes()).once_gone > 0; }, std::chrono::seconds(10)))
        << "the cgroup's removal never notified";
    return n;
  }
};

TEST(CgroupOomNotes, AnOomReadOnlyAfterTheCgroupIsGoneIsStillAnOom) {
  Watched w;
  if (!w.skip.empty()) GTEST_SKIP() << w.skip;
  const int st = run_child(w.cg, true);
  ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) << "status " << st;
  // Nothing read until the cgroup is gone: the OOM's note is read with the removal's, which is
  // the kernel's deferred work after rmdir (read between the two, one note cannot tell yet).
  ASSERT_TRUE(w.cg.remove());
  OomNotifications n;
  EXPECT_TRUE(wait_until([&] { return (n = w.notes()).ooms() > 0; }, std::chrono::seconds(10)))
      << "read after the cgroup was gone: " << n.while_there << " note(s) while there, " << n.once_gone << " after";
  EXPECT_EQ(n.while_there, 0u);
  EXPECT_EQ(n.once_gone, 2u);
}

TEST(CgroupOomNotes, AnOomReadWhileTheCgroupIsThereIsCountedOnce) {
  Watched w;
  if (!w.skip.empty()) GTEST_SKIP() << w.skip;
  const int st = run_child(w.cg, true);
  ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) << "status " << st;
  const uint64_t read_in_time = w.notes().while_there;
  EXPECT_GE(read_in_time, 1u);
  const OomNotifications n = w.after_removal();
  EXPECT_EQ(n.once_gone, 1u) << "the removal notifies once";
  EXPECT_EQ(n.ooms(), read_in_time);
}

TEST(CgroupOomNotes, ARemovalAloneIsNoOom) {
  Watched w;
  if (!w.skip.empty()) GTEST_SKIP() << w.skip;
  const int st = run_child(w.cg, false);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "status " << st;
  const OomNotifications n = w.after_removal();
  EXPECT_EQ(n.while_there, 0u);
  EXPECT_EQ(n.once_gone, 1u) << "the removal notifies once";
  EXPECT_EQ(n.ooms(), 0u);
}

}  // namespace
