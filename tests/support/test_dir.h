// One temporary folder per test and process, named after the running test.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace cronitor::testing {

/// `<tmp>/<prefix>-<pid>-<test name>`: one folder per test and process, so parallel runs differ.
inline std::filesystem::path test_dir(const std::string& prefix) {
  return std::filesystem::temp_directory_path() / (prefix + "-" + std::to_string(::getpid()) + "-" +
                                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
}

}  // namespace cronitor::testing
