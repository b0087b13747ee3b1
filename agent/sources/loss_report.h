// What the log says when the kernel drops process events (ENOBUFS): the first loss in full, then at
// most one line a minute that sums up the losses since the last one said. A host that overruns the
// connector's queue again and again (a fork storm) gets a few lines, not one per overrun; status
// --json counts every loss (process_events.losses).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace cronitor::agent {

class LossReport {
 public:
  static constexpr int64_t kEveryNs = 60'000'000'000;

  /// One loss at `now_ns` (CLOCK_MONOTONIC): `checked` followed processes were read again in /proc
  /// and `unknown` runs ended with their outcome unknown. Returns the line to warn now, or nullopt
  /// when it waits for the next line (at a loss a minute or more after the last line said).
  std::optional<std::string> loss(int64_t now_ns, uint64_t checked, uint64_t unknown);

 private:
  bool said_ = false;
  int64_t said_at_ns_ = 0;
  uint64_t losses_ = 0, checked_ = 0, unknown_ = 0;  // since the last line
};

}  // namespace cronitor::agent
