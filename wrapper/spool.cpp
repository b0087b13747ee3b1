#include "wrapper/spool.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cronitor::wrapper {
namespace {

Result<void> write_line(int fd, std::string_view line, const std::string& path) {
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::unexpected(Error::from_errno("write", "\"" + path + "\""));
    if (n == 0) return fail("\"" + path + "\": write: wrote nothing");
    done += static_cast<size_t>(n);
  }
  if (::fdatasync(fd) != 0) return std::unexpected(Error::from_errno("fdatasync", "\"" + path + "\""));
  return {};
}

// Makes the new directory entry durable. Only the owner (root) can open a 1733 folder for
// reading; others rely on the file system committing the entry with the file's fdatasync
// (ext4 and xfs journal the creation together with it).
void sync_dir(const std::string& dir) {
  int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d < 0) return;
  ::fsync(d);
  ::close(d);
}

}  // namespace

std::string random_hex16() {
  unsigned char b[8] = {};
  ssize_t n;
  do n = getrandom(b, sizeof b, 0);
  while (n < 0 && errno == EINTR);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (unsigned char c : b) {
    s += kHex[c >> 4];
    s += kHex[c & 15];
  }
  return s;
}

Spool::~Spool() {
  if (fd_ >= 0) ::close(fd_);
}

Result<int> Spool::create(const std::string& name) {
  std::string path = dir_ + "/" + name;
  for (int attempt = 0; attempt < 2; ++attempt) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_APPEND | O_CLOEXEC,
                    0600);
    if (fd >= 0) return fd;
    if (errno != ENOENT || attempt > 0)
      return std::unexpected(Error::from_errno("open", "\"" + path + "\""));
    // No spool folder yet (agent never ran): create it with the shared mode.
    if (::mkdir(dir_.c_str(), 01733) == 0) ::chmod(dir_.c_str(), 01733);
    else if (errno != EEXIST)
      return std::unexpected(Error::from_errno("mkdir", "\"" + dir_ + "\""));
  }
  return fail("\"" + path + "\": cannot create");
}

Result<void> Spool::append(std::string_view run_id, std::string_view line) {
  std::string path = dir_ + "/" + std::string(run_id) + ".jsonl";
  bool created = false;
  if (fd_ < 0) {
    auto fd = create(std::string(run_id) + ".jsonl");
    if (!fd) return std::unexpected(fd.error());
    fd_ = *fd;
    created = true;
  }
  auto r = write_line(fd_, line, path);
  if (!r) {
    if (created) {  // leave nothing behind; a later event may try again
      ::unlink(path.c_str());
      ::close(fd_);
      fd_ = -1;
    } else if (::ftruncate(fd_, size_) != 0) {
      // The agent skips a last line without its "\n"; nothing more to do.
    }
    return r;
  }
  size_ += static_cast<long long>(line.size());
  if (created) sync_dir(dir_);
  return {};
}

Result<void> Spool::write_metric(std::string_view run_id, std::string_view line) {
  std::string rnd = random_hex16();
  std::string tmp_name = ".tmp." + rnd;
  std::string tmp = dir_ + "/" + tmp_name;
  std::string final_path = dir_ + "/" + std::string(run_id) + ".m" + rnd + ".jsonl";
  auto fd = create(tmp_name);
  if (!fd) return std::unexpected(fd.error());
  auto r = write_line(*fd, line, tmp);
  ::close(*fd);
  if (r && ::rename(tmp.c_str(), final_path.c_str()) != 0)
    r = std::unexpected(Error::from_errno("rename", "\"" + tmp + "\""));
  if (!r) {
    ::unlink(tmp.c_str());
    return r;
  }
  sync_dir(dir_);
  return {};
}

}  // namespace cronitor::wrapper
