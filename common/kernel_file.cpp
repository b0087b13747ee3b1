#include "common/kernel_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "common/unique_fd.h"

namespace cronitor {

Result<std::string> read_kernel_file(const std::string& path, size_t cap) {
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::unexpected(Error::from_errno("open", path));
  std::string buf(cap, '\0');
  size_t got = 0;
  while (got < cap) {
    const ssize_t n = ::read(fd.get(), buf.data() + got, cap - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::unexpected(Error::from_errno("read", path));
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  buf.resize(got);
  return buf;
}

}  // namespace cronitor
