// OomProbe's choice of counter, against a fake cgroup tree laid out like this process's
// /proc/self/cgroup says (v1 memory, else v2 memory.events, else /proc/vmstat).
#include "wrapper/oom_probe.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/wrapper/wrapper_harness.h"

namespace cronitor::wrapper {
namespace {

using cronitor::testing::TempDir;
using cronitor::testing::write_file;

// This process's cgroup path for a v1 controller or ("" ) v2, as /proc/self/cgroup lists it.
std::optional<std::string> own_path(const std::string& controller) {
  std::ifstream f("/proc/self/cgroup");
  std::string line;
  while (std::getline(f, line)) {
    auto c1 = line.find(':'), c2 = line.find(':', c1 + 1);
    if (line.substr(c1 + 1, c2 - c1 - 1) == controller) {
      std::string p = line.substr(c2 + 1);
      return p == "/" ? "" : p;
    }
  }
  return std::nullopt;
}

TEST(OomProbe, PrefersTheV1MemoryCgroup) {
  auto v1 = own_path("memory");
  if (!v1) GTEST_SKIP() << "no v1 memory line in /proc/self/cgroup";
  TempDir root;
  std::string dir = root / ("memory" + *v1);
  std::filesystem::create_directories(dir);
  write_file(dir + "/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 5\n");
  write_file(dir + "/memory.max_usage_in_bytes", "67108864\n");
  OomProbe p = OomProbe::locate(root.path());
  EXPECT_TRUE(p.cgroup_scoped());
  EXPECT_EQ(p.kills(), 5u);
  EXPECT_EQ(p.cgroup_peak_bytes(), 67108864);
  write_file(dir + "/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 6\n");
  EXPECT_EQ(p.kills(), 6u);
}

TEST(OomProbe, UsesV2MemoryEventsWithoutV1) {
  auto v2 = own_path("");
  if (!v2) GTEST_SKIP() << "no v2 line in /proc/self/cgroup";
  TempDir root;
  std::string dir = root.path() + *v2;
  std::filesystem::create_directories(dir);
  write_file(dir + "/memory.events", "low 0\nhigh 0\nmax 4\noom 2\noom_kill 2\noom_group_kill 0\n");
  write_file(dir + "/memory.peak", "1234\n");
  OomProbe p = OomProbe::locate(root.path());
  EXPECT_TRUE(p.cgroup_scoped());
  EXPECT_EQ(p.kills(), 2u);
  EXPECT_EQ(p.cgroup_peak_bytes(), 1234);
}

TEST(OomProbe, FallsBackToVmstat) {
  TempDir root;  // no cgroup files at all
  OomProbe p = OomProbe::locate(root.path());
  EXPECT_FALSE(p.cgroup_scoped());
  EXPECT_EQ(p.counter_file(), "/proc/vmstat");
  EXPECT_TRUE(p.kills().has_value()) << "/proc/vmstat has oom_kill since Linux 4.13";
  EXPECT_FALSE(p.cgroup_peak_bytes().has_value());
}

}  // namespace
}  // namespace cronitor::wrapper
