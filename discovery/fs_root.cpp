#include "discovery/fs_root.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "common/dir_listing.h"
#include "common/unique_fd.h"

namespace cronitor::discovery {

DiskRoot::DiskRoot(std::string root) : root_(std::move(root)) {
  while (!root_.empty() && root_.back() == '/') root_.pop_back();
}

std::string DiskRoot::real_path(std::string_view p) const {
  std::string out;
  out.reserve(root_.size() + 1 + p.size());  // one allocation, not a copy of the root grown again
  out += root_;
  if (p.empty() || p.front() != '/') out += '/';
  out += p;
  return out;
}

Result<std::string> DiskRoot::read_file(std::string_view p, std::size_t max_bytes) const {
  const std::string path = real_path(p);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd) return std::unexpected(Error::from_errno("open", path));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return std::unexpected(Error::from_errno("fstat", path));
  if (!S_ISREG(st.st_mode)) return fail(path + ": not a regular file");
  if (static_cast<std::size_t>(st.st_size) > max_bytes) {
    return fail(path + ": larger than " + std::to_string(max_bytes) + " bytes");
  }
  std::string out;
  out.resize(static_cast<std::size_t>(st.st_size) + 1);
  std::size_t got = 0;
  for (;;) {
    if (got == out.size()) {
      if (out.size() > max_bytes) return fail(path + ": larger than " + std::to_string(max_bytes) + " bytes");
      out.resize(out.size() * 2);
    }
    const ssize_t n = ::read(fd.get(), out.data() + got, out.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(Error::from_errno("read", path));
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
    // A short read that reached the size fstat gave is the file's end: a further read(2) only
    // to see 0 was a sixth of a full scan's syscalls (one per file). Files that say size 0
    // (/proc, /sys) are read to a 0 as before.
    if (got < out.size() && st.st_size > 0 && got >= static_cast<std::size_t>(st.st_size)) break;
  }
  out.resize(got);
  if (got > max_bytes) return fail(path + ": larger than " + std::to_string(max_bytes) + " bytes");
  return out;
}

Result<std::vector<DirEntry>> DiskRoot::list_dir(std::string_view p, std::size_t max_entries) const {
  const std::string path = real_path(p);
  const DirListing dir(::opendir(path.c_str()));
  if (!dir) return std::unexpected(Error::from_errno("opendir", path));
  std::vector<DirEntry> out;
  errno = 0;
  while (const dirent* d = ::readdir(dir.get())) {
    const std::string_view name = d->d_name;
    if (name == "." || name == "..") continue;
    if (out.size() >= max_entries) {
      return fail(path + ": more than " + std::to_string(max_entries) + " entries");
    }
    DirEntry e;
    e.name = std::string(name);
    e.directory = d->d_type == DT_DIR;
    e.symlink = d->d_type == DT_LNK;
    if (d->d_type == DT_UNKNOWN) {
      struct stat st {};
      if (::fstatat(dirfd(dir.get()), d->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        e.directory = S_ISDIR(st.st_mode);
        e.symlink = S_ISLNK(st.st_mode);
      }
    }
    out.push_back(std::move(e));
  }
  std::sort(out.begin(), out.end(), [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  return out;
}

std::optional<FileInfo> DiskRoot::stat(std::string_view p) const {
  const std::string path = real_path(p);
  struct stat lst {};
  if (::lstat(path.c_str(), &lst) != 0) return std::nullopt;
  FileInfo info;
  info.symlink = S_ISLNK(lst.st_mode);
  struct stat st = lst;
  if (info.symlink && ::stat(path.c_str(), &st) != 0) st = lst;  // dangling: describe the link
  info.mode = st.st_mode;
  info.uid = st.st_uid;
  info.gid = st.st_gid;
  info.size = st.st_size;
  return info;
}

std::optional<std::string> DiskRoot::read_link(std::string_view p) const {
  const std::string path = real_path(p);
  char buf[4096];
  const ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
  if (n < 0 || static_cast<std::size_t>(n) >= sizeof buf) return std::nullopt;
  return std::string(buf, static_cast<std::size_t>(n));
}

}  // namespace cronitor::discovery
