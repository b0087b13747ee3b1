// A private sd-event loop for tests of the parts that own event sources: run until a condition
// holds (with a deadline), or dispatch what is ready now.
#pragma once

#include <systemd/sd-event.h>

#include <chrono>

namespace cronitor::testing {

struct SdLoop {
  sd_event* ev = nullptr;
  SdLoop() { sd_event_new(&ev); }
  ~SdLoop() { sd_event_unref(ev); }
  SdLoop(const SdLoop&) = delete;
  SdLoop& operator=(const SdLoop&) = delete;

  /// Runs the loop until `done()` or `limit`; false on the deadline.
  template <class F>
  bool run_until(F done, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > end) return false;
      if (sd_event_run(ev, 50'000) < 0) return false;
    }
    return true;
  }
  /// Dispatches every source ready now (no waiting).
  void dispatch_ready() {
    for (int i = 0; i < 100 && sd_event_run(ev, 0) > 0; ++i) {
    }
  }
  uint64_t mono_usec() const {
    uint64_t t = 0;
    sd_event_now(ev, CLOCK_MONOTONIC, &t);
    return t;
  }
};

}  // namespace cronitor::testing
