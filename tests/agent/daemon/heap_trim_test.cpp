// IdleHeapTrim (agent/daemon/heap_trim.h): malloc_trim(0) a delay after work, at most once per
// delay, never while the loop sleeps; it gives the freed heap back.
#include "agent/daemon/heap_trim.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <chrono>
#include <vector>

namespace cronitor::agent {
namespace {

constexpr uint64_t kQuiet = 20'000;  // 20 ms: the delay

struct Loop {
  sd_event* ev = nullptr;
  Loop() { EXPECT_GE(sd_event_new(&ev), 0); }
  ~Loop() { sd_event_unref(ev); }
  // Runs the loop until `done` or 5 s.
  template <class F>
  bool run_until(F done) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!done()) {
      if (std::chrono::steady_clock::now() > end) return false;
      if (sd_event_run(ev, 100'000) < 0) return false;
    }
    return true;
  }
  // Runs the loop for `usec`; the count of events it dispatched.
  int run_for(uint64_t usec) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::microseconds(usec);
    int n = 0;
    for (auto now = std::chrono::steady_clock::now(); now < end; now = std::chrono::steady_clock::now())
      n += sd_event_run(ev, std::chrono::duration_cast<std::chrono::microseconds>(end - now).count()) > 0;
    return n;
  }
};

int count_cb(sd_event_source*, void* ud) {
  ++*static_cast<int*>(ud);
  return 0;
}

TEST(IdleHeapTrim, TrimsAfterWorkAndNotWhileTheLoopSleeps) {
  Loop loop;
  IdleHeapTrim trim(kQuiet);
  trim.attach(loop.ev);
  EXPECT_EQ(trim.trims(), 0u);
  ASSERT_TRUE(loop.run_until([&] { return trim.trims() == 1; }));  // after the attach (the start's work)
  // Quiet now: no trim again (ten times the quiet time), and the loop sleeps (only the trim's
  // own post event, once).
  EXPECT_LE(loop.run_for(10 * kQuiet), 1);
  EXPECT_EQ(trim.trims(), 1u);
  // Work (an event dispatched), then quiet: one more trim.
  int work = 0;
  sd_event_source* s = nullptr;
  ASSERT_GE(sd_event_add_defer(loop.ev, &s, count_cb, &work), 0);
  sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
  ASSERT_TRUE(loop.run_until([&] { return trim.trims() == 2; }));
  EXPECT_EQ(work, 1);
  EXPECT_LE(loop.run_for(10 * kQuiet), 1);
  EXPECT_EQ(trim.trims(), 2u);
  sd_event_source_disable_unref(s);
}

TEST(IdleHeapTrim, AtMostOncePerDelayWhileEventsKeepComing) {
  // A busy host's process events never leave the loop quiet: the heap is trimmed all the same.
  Loop loop;
  IdleHeapTrim trim(5 * kQuiet);  // 100 ms
  trim.attach(loop.ev);
  ASSERT_TRUE(loop.run_until([&] { return trim.trims() == 1; }));
  // An event every 5 ms for about 400 ms.
  int work = 0;
  sd_event_source* s = nullptr;
  ASSERT_GE(sd_event_add_time_relative(
                loop.ev, &s, CLOCK_MONOTONIC, 5'000, 1,
                [](sd_event_source* src, uint64_t, void* ud) {
                  if (++*static_cast<int*>(ud) < 80) {
                    sd_event_source_set_time_relative(src, 5'000);
                    sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
                  }
                  return 0;
                },
                &work),
            0);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(loop.run_until([&] { return work == 80; }));
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GE(trim.trims(), 3u) << ms << " ms";                                       // trimmed meanwhile
  EXPECT_LE(trim.trims(), static_cast<unsigned>(1 + ms / 100 + 1)) << ms << " ms";  // once per 100 ms at most
  sd_event_source_disable_unref(s);
}

TEST(IdleHeapTrim, WithoutALoopTrimsAtOnce) {
  IdleHeapTrim trim(kQuiet);
  trim.attach(nullptr);
  EXPECT_EQ(trim.trims(), 1u);
}

TEST(IdleHeapTrim, GivesTheFreedTopOfTheHeapBack) {
  // As in the daemon: a trim threshold high enough that free() keeps what it frees.
  ASSERT_EQ(mallopt(M_TRIM_THRESHOLD, 64 << 20), 1);
  Loop loop;
  IdleHeapTrim trim(kQuiet);
  {
    std::vector<char*> blocks;
    // 4 KiB blocks: past the per-thread cache, so that freed they join the heap's top; 16 MiB,
    // more than what the tests before may have left free inside the heap.
    for (int i = 0; i < 4096; ++i) blocks.push_back(new char[4096]);
    for (char* b : blocks) delete[] b;
  }
  const size_t before = mallinfo2().keepcost;  // the free top of the main heap
  trim.attach(loop.ev);
  const bool trimmed = loop.run_until([&] { return trim.trims() == 1; });
  const size_t after = mallinfo2().keepcost;
  mallopt(M_TRIM_THRESHOLD, 128 << 10);  // glibc's default again
  ASSERT_TRUE(trimmed);
  EXPECT_GE(before, size_t{2} << 20);
  EXPECT_LT(after, size_t{256} << 10) << "before: " << before;
}

}  // namespace
}  // namespace cronitor::agent
