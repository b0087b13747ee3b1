// The one reader of the kernel's small files (/proc, /sys, cgroupfs) for the whole product: the
// agent's process and host facts, the cgroup OOM counters, and the wrapper's OOM probe.
#pragma once

#include <cstddef>
#include <string>

#include "common/error.h"

namespace cronitor {

/// A small file the kernel makes whole at open, at most `cap` bytes: bounded so that a hostile
/// command line costs no memory. The error names the path and open() or read().
Result<std::string> read_kernel_file(const std::string& path, size_t cap);

}  // namespace cronitor
