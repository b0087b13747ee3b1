#include "common/endpoint_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string_view>

#include "common/unique_fd.h"

namespace cronitor {
namespace {

constexpr size_t kMaxBytes = 4096;

bool valid_path(std::string_view p) {
  return !p.empty() && p.front() == '/' && p.size() < 4096 && p.find('\0') == std::string_view::npos;
}

}  // namespace

std::string endpoint_file_path() {
  const char* env = std::getenv("CRONITOR_ENDPOINT_FILE");
  return env != nullptr && *env == '/' ? env : "/run/cronitor-agent/endpoint";
}

Result<Endpoint> read_endpoint_file(const std::string& path) {
  const UniqueFd file(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  const int fd = file.get();
  if (!file) return std::unexpected(Error::from_errno("open", "\"" + path + "\""));
  struct stat st {};
  std::string text;
  Result<Endpoint> out = fail("\"" + path + "\": no socket= line");
  if (::fstat(fd, &st) != 0) {
    out = std::unexpected(Error::from_errno("fstat", "\"" + path + "\""));
  } else if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022) != 0) {
    out = fail("\"" + path + "\": not a root-owned regular file writable by root only, ignored");
  } else {
    char buf[kMaxBytes];
    ssize_t n;
    while (text.size() < kMaxBytes && (n = ::read(fd, buf, kMaxBytes - text.size())) > 0)
      text.append(buf, static_cast<size_t>(n));
    Endpoint e;
    std::string_view rest(text);
    while (!rest.empty()) {
      const size_t nl = rest.find('\n');
      std::string_view line = rest.substr(0, nl);
      rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
      const size_t eq = line.find('=');
      if (eq == std::string_view::npos) continue;
      std::string_view name = line.substr(0, eq), value = line.substr(eq + 1);
      if (!valid_path(value)) continue;
      if (name == "socket") e.socket = value;
      if (name == "spool") e.spool = value;
    }
    if (!e.socket.empty() || !e.spool.empty()) out = e;
  }
  return out;
}

Result<void> write_endpoint_file(const std::string& path, const Endpoint& e) {
  if (!valid_path(e.socket) || !valid_path(e.spool) || e.socket.find('\n') != std::string::npos ||
      e.spool.find('\n') != std::string::npos)
    return fail("\"" + path + "\": socket and spool must be absolute paths on one line");
  const size_t slash = path.rfind('/');
  const std::string folder = slash == std::string::npos || slash == 0 ? "/" : path.substr(0, slash);
  if (::mkdir(folder.c_str(), 0755) != 0 && errno != EEXIST)
    return std::unexpected(Error::from_errno("mkdir", "\"" + folder + "\""));
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!fd) return std::unexpected(Error::from_errno("open", "\"" + tmp + "\""));
  const std::string text = "socket=" + e.socket + "\nspool=" + e.spool + "\n";
  const bool ok =
      ::fchmod(fd.get(), 0644) == 0 && ::write(fd.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const int err = errno;
  fd.reset();
  if (!ok) {
    ::unlink(tmp.c_str());
    return std::unexpected(Error::from_errno("write", "\"" + tmp + "\"", err));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int rerr = errno;
    ::unlink(tmp.c_str());
    return std::unexpected(Error::from_errno("rename", "\"" + path + "\"", rerr));
  }
  return {};
}

}  // namespace cronitor
