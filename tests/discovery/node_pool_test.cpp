// NodePool (discovery/node_pool.h): the node maps' memory, reused across full scans.
#include "discovery/node_pool.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <unordered_map>

namespace cronitor::discovery {
namespace {

TEST(NodePool, AFreedBlockIsHandedOutAgainForItsSizeOnly) {
  NodePool pool;
  void* a = pool.allocate(40, 8);
  void* b = pool.allocate(40, 8);
  EXPECT_NE(a, b);
  pool.deallocate(a, 40, 8);
  void* other = pool.allocate(100, 8);  // another size class: not the freed block
  EXPECT_NE(other, a);
  EXPECT_EQ(pool.allocate(33, 8), a);  // 33..48 bytes share a class
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(b) % NodePool::kAlign, 0u);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(other) % NodePool::kAlign, 0u);
}

TEST(NodePool, LargeBlocksGoToTheHeap) {
  NodePool pool;
  void* big = pool.allocate(NodePool::kMaxBlock + 1, 8);
  EXPECT_EQ(pool.chunk_bytes(), 0u);
  pool.deallocate(big, NodePool::kMaxBlock + 1, 8);
}

// Once every block is back, the chunks are handed out again from the start, in order.
TEST(NodePool, AllBlocksBackStartsAgainAtTheFirstChunk) {
  NodePool pool;
  void* a = pool.allocate(64, 8);
  void* b = pool.allocate(64, 8);
  EXPECT_EQ(pool.live_blocks(), 2u);
  pool.deallocate(a, 64, 8);
  pool.deallocate(b, 64, 8);
  EXPECT_EQ(pool.live_blocks(), 0u);
  EXPECT_EQ(pool.allocate(64, 8), a);  // not b, the last freed
  EXPECT_EQ(pool.allocate(64, 8), b);
  EXPECT_EQ(pool.chunk_bytes(), NodePool::kChunk);
}

// A map cleared and refilled, as a full scan does to the name book, takes no new chunk.
TEST(NodePool, AMapRefilledReusesItsNodes) {
  NodePool pool;
  std::pmr::unordered_map<std::string, int> m(&pool);
  std::size_t after_first = 0;
  for (int round = 0; round < 3; ++round) {
    m.clear();
    for (int i = 0; i < 10000; ++i) m.emplace("job-" + std::to_string(i), i);
    if (round == 0) after_first = pool.chunk_bytes();
    EXPECT_EQ(pool.chunk_bytes(), after_first);
    EXPECT_GT(after_first, 0u);
    EXPECT_EQ(m.at("job-9999"), 9999);
  }
}

}  // namespace
}  // namespace cronitor::discovery
