#include "agent/control/textfile_writer.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "common/unique_fd.h"

namespace cronitor::agent {
namespace {

/// ".NAME.XXXXXXXXXXXX.tmp": hidden and not ending in ".prom", so node_exporter never reads it.
std::string temp_name(const std::string& base) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  unsigned char bytes[12] = {};
  if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes))
    for (size_t i = 0; i < sizeof bytes; ++i) bytes[i] = static_cast<unsigned char>(::random());
  std::string out = "." + base + ".";
  for (unsigned char b : bytes) out += kAlphabet[b % 36];
  return out + ".tmp";
}

}  // namespace

Result<void> write_textfile(const std::string& path, const std::string& text) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  if (base.empty() || base == "." || base == "..") return fail("\"" + path + "\" names no file");
  UniqueFd d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (d.get() < 0) return std::unexpected(Error::from_errno("open", "\"" + dir + "\""));
  struct stat st {};
  if (::fstat(d.get(), &st) != 0) return std::unexpected(Error::from_errno("fstat", "\"" + dir + "\""));
  // Checked on the folder opened, not its name: what is written below goes into this one.
  if (st.st_uid != 0 && st.st_uid != ::geteuid())
    return fail("the folder \"" + dir + "\" is owned by uid " + std::to_string(st.st_uid) +
                ", not root: its owner could point the file elsewhere");
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX) && (st.st_mode & S_IWOTH || st.st_gid != 0))
    return fail("the folder \"" + dir + "\" is writable by other users and not sticky (chmod +t or o-w it)");
  std::string tmp;
  UniqueFd out;
  for (int attempt = 0; attempt < 16 && out.get() < 0; ++attempt) {
    tmp = temp_name(base);
    // O_EXCL: a name someone planted (a symlink, a file of theirs) is never opened, only skipped.
    out.reset(::openat(d.get(), tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (out.get() < 0 && errno != EEXIST)
      return std::unexpected(Error::from_errno("open", "\"" + dir + "/" + tmp + "\""));
  }
  if (out.get() < 0) return fail("\"" + dir + "\": no free temporary name");
  auto drop = [&](const char* call) {
    Error e = Error::from_errno(call, "\"" + dir + "/" + tmp + "\"");
    ::unlinkat(d.get(), tmp.c_str(), 0);
    return std::unexpected(std::move(e));
  };
  // The umask must not make the file unreadable to node_exporter.
  if (::fchmod(out.get(), 0644) != 0) return drop("fchmod");
  for (size_t off = 0; off < text.size();) {
    const ssize_t n = ::write(out.get(), text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return drop("write");
    off += static_cast<size_t>(n);
  }
  if (::close(out.release()) != 0) {
    return drop("close");
  }
  // rename replaces a symlink at the target's name; it never writes through it.
  if (::renameat(d.get(), tmp.c_str(), d.get(), base.c_str()) != 0) return drop("rename");
  return {};
}

}  // namespace cronitor::agent
