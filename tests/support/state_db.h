// A new state.db of a test's own: the folder `dir` emptied and made, the store opened in it. The
// daemon parts' tests that read and write a real state.db share it (call it under
// ASSERT_NO_FATAL_FAILURE: an open that fails ends the test).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <optional>

#include "agent/state/state_store.h"

namespace cronitor::testing {

inline void open_fresh_state_db(const std::filesystem::path& dir, std::optional<agent::StateStore>& store) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto s = agent::StateStore::open((dir / "state.db").string(), nullptr);
  ASSERT_TRUE(s) << s.error().message;
  store.emplace(std::move(*s));
}

}  // namespace cronitor::testing
