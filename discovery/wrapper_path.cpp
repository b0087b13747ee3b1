#include "discovery/wrapper_path.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <climits>
#include <vector>

namespace cronitor::discovery {

namespace {

constexpr int kMaxLinks = 40;  // as the kernel's MAXSYMLINKS

std::vector<std::string> split(std::string_view p) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < p.size()) {
    std::size_t end = p.find('/', pos);
    if (end == std::string_view::npos) end = p.size();
    if (end > pos) out.emplace_back(p.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

/// The owner and mode rule for one component (folder or file) at host path `host`.
Result<void> safe_owner(const struct stat& st, const std::string& host) {
  if (st.st_uid != 0) return fail(host + " is owned by uid " + std::to_string(st.st_uid) + ", not root");
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) return fail(host + " is writable by group or others");
  return {};
}

}  // namespace

Result<void> check_wrapper_path(const DiskRoot& root, std::string_view path) {
  const std::string shown(path);
  if (path.empty() || path.front() != '/') return fail("\"" + shown + "\" is not an absolute path");
  for (char c : path) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '-' || c == '_' || c == '.';
    if (!ok) return fail("\"" + shown + "\" is not a plain path (letters, digits, / - _ .)");
  }
  // "/" itself counts on the host; under --root the root folder is the test's or the admin's.
  if (root.root().empty()) {
    struct stat st {};
    if (::stat("/", &st) != 0) return std::unexpected(Error::from_errno("stat", "/"));
    if (auto ok = safe_owner(st, "/"); !ok) return ok;
  }
  // Walk host components one by one with lstat, so a symlink is followed only inside `root` and
  // every folder actually traversed is checked.
  std::vector<std::string> todo = split(path);
  std::vector<std::string> done;  // resolved components so far
  int links = 0;
  std::size_t i = 0;
  while (i < todo.size()) {
    const std::string& part = todo[i];
    if (part == ".") {
      ++i;
      continue;
    }
    if (part == "..") {
      if (!done.empty()) done.pop_back();
      ++i;
      continue;
    }
    std::string host;
    for (const auto& d : done) host += "/" + d;
    host += "/" + part;
    const std::string real = root.real_path(host);
    struct stat st {};
    if (::lstat(real.c_str(), &st) != 0) {
      Error e = Error::from_errno("lstat", host);
      return std::unexpected(std::move(e));
    }
    if (S_ISLNK(st.st_mode)) {
      if (st.st_uid != 0) return fail(host + " is a symbolic link owned by uid " + std::to_string(st.st_uid));
      if (++links > kMaxLinks) return fail(shown + ": too many levels of symbolic links");
      char buf[PATH_MAX];
      const ssize_t n = ::readlink(real.c_str(), buf, sizeof buf - 1);
      if (n < 0) return std::unexpected(Error::from_errno("readlink", host));
      const std::string target(buf, static_cast<std::size_t>(n));
      std::vector<std::string> rest = split(target);
      rest.insert(rest.end(), todo.begin() + static_cast<std::ptrdiff_t>(i) + 1, todo.end());
      if (!target.empty() && target.front() == '/') done.clear();
      todo = std::move(rest);
      i = 0;
      continue;
    }
    if (auto ok = safe_owner(st, host); !ok) return ok;
    const bool last = i + 1 == todo.size();
    if (!last && !S_ISDIR(st.st_mode)) return fail(host + " is not a folder");
    if (last) {
      if (!S_ISREG(st.st_mode)) return fail(host + " is not a regular file");
      if ((st.st_mode & S_IXUSR) == 0) return fail(host + " is not executable");
    }
    done.push_back(part);
    ++i;
  }
  if (done.empty()) return fail("\"" + shown + "\" names no file");
  return {};
}

}  // namespace cronitor::discovery
