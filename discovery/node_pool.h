// Memory for the node maps a scan refills (the name book's, the key claims'): blocks of one size
// come from 16 KiB chunks of their own; a block freed goes on a list for its size and is handed
// out again; chunks are kept until the pool goes. When every block is back (the maps made anew
// for a full scan), each size starts again at its first chunk, so a scan's nodes lie in the order
// it makes them. Through malloc, the 40,000 nodes a full scan freed at once were most of its
// consolidation work; the standard unsynchronized_pool_resource spent 340 instructions a node
// finding which chunk a block came from; and a free list alone handed the nodes out scrambled.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <memory_resource>
#include <new>
#include <vector>

namespace cronitor::discovery {

class NodePool final : public std::pmr::memory_resource {
 public:
  NodePool() = default;
  NodePool(const NodePool&) = delete;
  NodePool& operator=(const NodePool&) = delete;

  /// Bytes taken from the heap for small blocks (the chunks), for tests.
  std::size_t chunk_bytes() const {
    std::size_t n = 0;
    for (const SizeClass& c : classes_) n += c.chunks.size() * kChunk;
    return n;
  }
  /// Small blocks handed out and not yet back.
  std::size_t live_blocks() const { return live_; }

  static constexpr std::size_t kAlign = 16;      // every block's alignment and size step
  static constexpr std::size_t kMaxBlock = 256;  // larger blocks (bucket arrays) go to the heap
  static constexpr std::size_t kChunk = 16 * 1024;

 private:
  struct Free {
    Free* next;
  };
  // Blocks of one size from chunks of their own: a map's nodes lie together, not between the
  // other maps' (one chunk for all sizes was slower than malloc).
  struct SizeClass {
    Free* free = nullptr;
    std::vector<std::unique_ptr<std::byte[]>> chunks;
    std::size_t used = 0;       // chunks in use: [0, used)
    std::byte* next = nullptr;  // the unused rest of chunk used - 1
    std::size_t left = 0;
  };
  static std::size_t size_class(std::size_t bytes) { return bytes == 0 ? 0 : (bytes - 1) / kAlign; }

  void* do_allocate(std::size_t bytes, std::size_t align) override {
    if (bytes > kMaxBlock || align > kAlign) return std::pmr::new_delete_resource()->allocate(bytes, align);
    ++live_;
    SizeClass& c = classes_[size_class(bytes)];
    if (c.free != nullptr) {
      Free* block = c.free;
      c.free = block->next;
      return block;
    }
    const std::size_t size = (size_class(bytes) + 1) * kAlign;
    if (c.left < size) {
      if (c.used == c.chunks.size()) c.chunks.push_back(std::make_unique_for_overwrite<std::byte[]>(kChunk));
      c.next = c.chunks[c.used++].get();  // new's alignment: 16
      c.left = kChunk;
    }
    void* block = c.next;
    c.next += size;
    c.left -= size;
    return block;
  }
  void do_deallocate(void* p, std::size_t bytes, std::size_t align) override {
    if (bytes > kMaxBlock || align > kAlign) return std::pmr::new_delete_resource()->deallocate(p, bytes, align);
    SizeClass& c = classes_[size_class(bytes)];
    c.free = ::new (p) Free{c.free};
    if (--live_ == 0) {  // all back: each size starts again at its first chunk
      for (SizeClass& k : classes_) {
        k.free = nullptr;
        k.used = 0;
        k.next = nullptr;
        k.left = 0;
      }
    }
  }
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override { return this == &other; }

  std::array<SizeClass, kMaxBlock / kAlign> classes_;
  std::size_t live_ = 0;
};

}  // namespace cronitor::discovery
