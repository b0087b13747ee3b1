#include "discovery/crontab_writer.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <ctime>
#include <vector>

#include "common/dir_listing.h"
#include "common/file_state.h"
#include "common/unique_fd.h"
#include "discovery/crontab_source.h"
#include "discovery/fs_root.h"

namespace cronitor::discovery {

namespace {

std::string real(const std::string& p) {
  char buf[PATH_MAX];
  if (::realpath(p.c_str(), buf) == nullptr) return {};
  return buf;
}

Result<void> write_all(int fd, std::string_view bytes, const std::string& what) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(Error::from_errno("write", what));
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

Result<std::string> read_at(int dirfd, const std::string& name, const std::string& what) {
  UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return std::unexpected(Error::from_errno("open", what));
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(Error::from_errno("read", what));
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > (8u << 20)) return fail(what + ": too large");
  }
  return out;
}

std::string random_suffix() {
  unsigned char raw[6];
  if (::getrandom(raw, sizeof raw, 0) != static_cast<ssize_t>(sizeof raw)) {
    for (unsigned char& c : raw) c = static_cast<unsigned char>(std::rand());
  }
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string s;
  for (unsigned char c : raw) s += kChars[c % 62];
  return s;
}

Result<void> make_dirs(const std::string& path) {
  std::size_t pos = 1;
  while (pos <= path.size()) {
    pos = path.find('/', pos);
    if (pos == std::string::npos) pos = path.size();
    const std::string part = path.substr(0, pos);
    if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) {
      return std::unexpected(Error::from_errno("mkdir", part));
    }
    ++pos;
  }
  return {};
}

}  // namespace

CrontabWriter::CrontabWriter(const DiskRoot& root, std::string backup_dir)
    : root_(root), backup_dir_(std::move(backup_dir)) {}

Result<CrontabWriter::Backup> CrontabWriter::backup(std::string_view path, std::string_view bytes) const {
  const std::string dir = backup_dir_ + std::string(parent_of(path));
  if (auto ok = make_dirs(dir); !ok) return std::unexpected(ok.error());
  // One backup per original: a retry (or a rewrite that failed after its backup) finds the
  // backup of these very bytes and reuses it, so backups never pile up.
  const std::string prefix = std::string(base_of(path)) + ".";
  if (UniqueFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)); d) {
    std::vector<std::string> names;
    if (const DirListing listing = open_listing(d.get()); listing) {
      while (const dirent* e = ::readdir(listing.get())) {
        if (std::string_view(e->d_name).starts_with(prefix) && names.size() < 10000) names.emplace_back(e->d_name);
      }
    }
    std::sort(names.begin(), names.end());
    for (const std::string& n : names) {
      auto old = read_at(d.get(), n, dir + "/" + n);
      if (old && *old == bytes) return Backup{dir + "/" + n, false};
    }
  }
  char stamp[32];
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string name = dir + "/" + prefix + stamp;
    if (attempt > 0) name += "." + std::to_string(attempt);
    UniqueFd fd(::open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) {
      if (errno == EEXIST) continue;
      return std::unexpected(Error::from_errno("open", name));
    }
    if (auto ok = write_all(fd.get(), bytes, name); !ok) return std::unexpected(ok.error());
    if (::fsync(fd.get()) != 0) return std::unexpected(Error::from_errno("fsync", name));
    return Backup{name, true};
  }
  return fail(dir + ": too many backups of " + std::string(base_of(path)) + " this second");
}

Result<std::string> CrontabWriter::replace(std::string_view path, std::string_view expected,
                                           std::string_view content) const {
  const std::string_view host_dir = parent_of(path);
  const bool spool = host_dir == kSpoolDir;
  if (!(path == kSystemCrontab || host_dir == kCronDir || spool)) {
    return fail(std::string(path) + ": not a crontab location cronitor-agent rewrites");
  }
  // The folder must be the expected one, not a link to somewhere else.
  const std::string root_real = real(root_.root().empty() ? "/" : root_.root());
  const std::string dir_lexical = root_.real_path(host_dir);
  const std::string dir_real = real(dir_lexical);
  const std::string want = (root_real == "/" ? "" : root_real) + std::string(host_dir);
  if (dir_real.empty() || dir_real != want) {
    return fail(dir_lexical + ": resolves to \"" + dir_real + "\" through a symbolic link, not writing there");
  }
  UniqueFd dirfd(::open(dir_lexical.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  if (!dirfd) return std::unexpected(Error::from_errno("open", dir_lexical));
  const std::string name(base_of(path));
  const std::string real_file = dir_lexical + "/" + name;
  struct stat st {};
  if (::fstatat(dirfd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return std::unexpected(Error::from_errno("stat", real_file));
  }
  if (S_ISLNK(st.st_mode)) return fail(real_file + ": is a symbolic link, not following it");
  if (!S_ISREG(st.st_mode)) return fail(real_file + ": not a regular file");
  auto current = read_at(dirfd.get(), name, real_file);
  if (!current) return std::unexpected(current.error());
  if (*current != expected) return fail(real_file + ": changed while being rewritten, try again");

  auto saved = backup(path, expected);
  if (!saved) return std::unexpected(saved.error());
  // A failed rewrite leaves no new backup behind (an older one of the same bytes stays).
  auto drop_backup = [&](Error e) -> Result<std::string> {
    if (saved->created) ::unlink(saved->path.c_str());
    return std::unexpected(std::move(e));
  };

  // crontab(1) writes "tmp.XXXX" in the spool (cron skips those); elsewhere a dotted name.
  std::string tmp;
  UniqueFd out;
  int open_err = EEXIST;
  for (int attempt = 0; attempt < 10 && !out; ++attempt) {
    tmp = spool ? "tmp.cronitor." + random_suffix() : "." + name + ".cronitor-" + random_suffix();
    out.reset(::openat(dirfd.get(), tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!out) open_err = errno;
    if (!out && open_err != EEXIST) break;
  }
  if (!out) {
    // A read-only folder around a writable file: /etc under ProtectSystem= with the file itself
    // in ReadWritePaths= (a bind mount). Only an in-place rewrite can work there.
    if (open_err == EROFS || open_err == EACCES || open_err == EPERM) {
      if (auto ok = rewrite_in_place(dirfd.get(), name, st, content, real_file); !ok) return drop_backup(ok.error());
      return saved->path;
    }
    return drop_backup(open_err == EEXIST ? Error{dir_lexical + ": could not create a temporary file", 0}
                                          : Error::from_errno("open", dir_lexical + "/" + tmp, open_err));
  }
  auto cleanup_fail = [&](Error e) -> Result<std::string> {
    ::unlinkat(dirfd.get(), tmp.c_str(), 0);
    return drop_backup(std::move(e));
  };
  if (auto ok = write_all(out.get(), content, tmp); !ok) return cleanup_fail(ok.error());
  if (::fchown(out.get(), st.st_uid, st.st_gid) != 0) return cleanup_fail(Error::from_errno("fchown", tmp));
  if (::fchmod(out.get(), st.st_mode & 07777) != 0) return cleanup_fail(Error::from_errno("fchmod", tmp));
  if (::fsync(out.get()) != 0) return cleanup_fail(Error::from_errno("fsync", tmp));
  out.reset();
  if (before_rename) before_rename();
  // The backup and the fsync took time: a `crontab` run meanwhile (a config tool adds lines one
  // call at a time) replaced the file. Renaming now would drop that user's edit.
  struct stat again {};
  if (::fstatat(dirfd.get(), name.c_str(), &again, AT_SYMLINK_NOFOLLOW) != 0 || !unchanged(st, again))
    return cleanup_fail(Error{real_file + ": changed while being rewritten, try again", 0});
  if (::renameat(dirfd.get(), tmp.c_str(), dirfd.get(), name.c_str()) != 0) {
    const int err = errno;
    ::unlinkat(dirfd.get(), tmp.c_str(), 0);
    // EBUSY: the file is a mount point (a bind mount of the file alone); EXDEV: another mount.
    if (err == EBUSY || err == EXDEV || err == EROFS) {
      if (auto ok = rewrite_in_place(dirfd.get(), name, st, content, real_file); !ok) return drop_backup(ok.error());
      return saved->path;
    }
    return drop_backup(Error::from_errno("rename", real_file, err));
  }
  ::fsync(dirfd.get());
  // cron polls modification times: bump the folder's, as crontab(1) does for the spool.
  ::futimens(dirfd.get(), nullptr);
  return saved->path;
}

Result<void> CrontabWriter::rewrite_in_place(int dirfd, const std::string& name, const struct stat& before,
                                             std::string_view content, const std::string& what) {
  UniqueFd fd(::openat(dirfd, name.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY));
  if (!fd) return std::unexpected(Error::from_errno("open", what));
  struct stat now {};
  if (::fstat(fd.get(), &now) != 0) return std::unexpected(Error::from_errno("fstat", what));
  if (!unchanged(before, now)) return fail(what + ": replaced while being rewritten, try again");
  // Not atomic: the backup holds the original until the fsync below is done. cron reads the file
  // when its mtime moved, at most once a minute, so it sees the finished bytes.
  std::string_view rest = content;
  off_t at = 0;
  while (!rest.empty()) {
    const ssize_t n = ::pwrite(fd.get(), rest.data(), rest.size(), at);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(Error::from_errno("write", what));
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
    at += n;
  }
  if (::ftruncate(fd.get(), static_cast<off_t>(content.size())) != 0) {
    return std::unexpected(Error::from_errno("ftruncate", what));
  }
  if (::fsync(fd.get()) != 0) return std::unexpected(Error::from_errno("fsync", what));
  return {};
}

}  // namespace cronitor::discovery
