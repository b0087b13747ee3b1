// The kernel's small files (common/kernel_file.h): the one reader of /proc, /sys and cgroupfs files
// for the agent and the wrapper.
#include "common/kernel_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace cronitor {
namespace {

// The one reader of the kernel's small files: at most the bytes asked for, and an error that names
// the call and the file.
TEST(KernelFile, ReadsAtMostItsCapAndNamesTheFileItCouldNotOpen) {
  const std::string path = ::testing::TempDir() + "/kernel_file_test";
  std::ofstream(path) << "oom_kill 3\nlow 0\n";
  EXPECT_EQ(read_kernel_file(path, 4096).value_or("?"), "oom_kill 3\nlow 0\n");
  EXPECT_EQ(read_kernel_file(path, 8).value_or("?"), "oom_kill");
  EXPECT_EQ(read_kernel_file(path, 0).value_or("?"), "");
  const auto self = read_kernel_file("/proc/self/stat", 1024);
  ASSERT_TRUE(self.has_value()) << self.error().message;
  EXPECT_TRUE(self->starts_with(std::to_string(::getpid()) + " (")) << *self;
  const auto missing = read_kernel_file(path + ".missing", 64);
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message.find("open"), std::string::npos) << missing.error().message;
  EXPECT_NE(missing.error().message.find(path + ".missing"), std::string::npos) << missing.error().message;
  const auto folder = read_kernel_file(::testing::TempDir(), 64);  // read() of a folder: EISDIR
  ASSERT_FALSE(folder.has_value());
  EXPECT_NE(folder.error().message.find("read"), std::string::npos) << folder.error().message;
  std::remove(path.c_str());
}

}  // namespace
}  // namespace cronitor
