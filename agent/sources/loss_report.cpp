#include "agent/sources/loss_report.h"

#include <spdlog/fmt/fmt.h>

namespace cronitor::agent {

std::optional<std::string> LossReport::loss(int64_t now_ns, uint64_t checked, uint64_t unknown) {
  ++losses_;
  checked_ += checked;
  unknown_ += unknown;
  if (said_ && now_ns - said_at_ns_ < kEveryNs) return std::nullopt;
  std::string line =
      losses_ == 1 ? fmt::format(
                         "the kernel dropped events (ENOBUFS); {} followed processes checked in /proc, {} runs end "
                         "with their outcome unknown",
                         checked_, unknown_)
                   : fmt::format(
                         "the kernel dropped events (ENOBUFS) {} times in the last {} s; {} followed processes checked "
                         "in /proc, {} runs end with their outcome unknown (said at most once a minute)",
                         losses_, (now_ns - said_at_ns_) / 1'000'000'000, checked_, unknown_);
  said_ = true;
  said_at_ns_ = now_ns;
  losses_ = checked_ = unknown_ = 0;
  return line;
}

}  // namespace cronitor::agent
