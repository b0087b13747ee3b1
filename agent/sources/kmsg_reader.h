// Reads the kernel's log (/dev/kmsg) from its end, one record per read(), without blocking.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"
#include "common/unique_fd.h"

namespace cronitor::agent {

/// An open /dev/kmsg positioned at its end: only records printed from now on are read.
class KmsgReader {
 public:
  /// Opens `path` (O_RDONLY | O_NONBLOCK | O_CLOEXEC) and seeks to its end (SEEK_END).
  [[nodiscard]] static Result<KmsgReader> open(const std::string& path = "/dev/kmsg");
  int fd() const { return fd_.get(); }

  /// What one drain saw.
  struct Drained {
    size_t records = 0;
    size_t lost = 0;    // EPIPE: records overwritten in the ring buffer before they were read
    bool more = false;  // stopped at `max_records`: call again
  };
  /// Reads every record available now (at most `max_records`), each given to `on_record`.
  /// Errors other than EAGAIN, EPIPE and EINTR end the drain with an error naming read().
  [[nodiscard]] Result<Drained> drain(const std::function<void(std::string_view)>& on_record,
                                      size_t max_records = 4096);

 private:
  explicit KmsgReader(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

/// The process group of `pid` from /proc/PID/stat (a zombie's too), or nothing if it is gone.
std::optional<int64_t> process_group_of(int64_t pid);
/// The ancestors of `pid` from /proc, its parent first; empty when it is gone.
std::vector<int64_t> ancestors_of(int64_t pid);

}  // namespace cronitor::agent
