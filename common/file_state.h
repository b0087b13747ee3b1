// Whether a file changed between two looks at it, from stat(2) alone.
#pragma once

#include <sys/stat.h>

namespace cronitor {

/// `now` is still the file `before` describes: the same regular file (not replaced by a rename),
/// with the same size and modification time (not written in place).
inline bool unchanged(const struct stat& before, const struct stat& now) {
  return S_ISREG(now.st_mode) && now.st_dev == before.st_dev && now.st_ino == before.st_ino &&
         now.st_size == before.st_size && now.st_mtim.tv_sec == before.st_mtim.tv_sec &&
         now.st_mtim.tv_nsec == before.st_mtim.tv_nsec;
}

}  // namespace cronitor
