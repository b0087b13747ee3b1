#include "agent/spool_reader.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <ctime>

namespace cronitor::agent {
namespace {

constexpr off_t kMaxSpoolFileBytes = 1 << 20;

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

SpoolScan read_spool(const std::string& dir, size_t max_files, std::chrono::seconds stale_after) {
  SpoolScan scan;
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    if (errno != ENOENT) scan.warnings.push_back("spool \"" + dir + "\": opendir: " + std::strerror(errno));
    return scan;
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.empty() || n[0] == '.' || !n.ends_with(".jsonl")) continue;
    if (names.size() >= max_files) {
      scan.more = true;
      break;
    }
    names.push_back(std::move(n));
  }
  ::closedir(d);
  const time_t now = ::time(nullptr);
  for (const auto& name : names) {
    SpoolFile f;
    f.path = dir + "/" + name;
    const bool metric_file = name.find(".m") != std::string::npos && name.find(".m") + 2 < name.size() - 6;
    Fd fd{::open(f.path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)};
    if (fd.fd < 0) {
      if (errno != ENOENT) {
        scan.warnings.push_back("spool file \"" + f.path + "\": open: " + std::strerror(errno) + ", ignoring");
        f.drop = errno == ELOOP;
        if (f.drop) scan.files.push_back(std::move(f));
      }
      continue;
    }
    struct stat st;
    if (::fstat(fd.fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 || st.st_size > kMaxSpoolFileBytes) {
      scan.warnings.push_back("spool file \"" + f.path + "\": not a single-link regular file under 1 MiB, dropping");
      f.drop = true;
      scan.files.push_back(std::move(f));
      continue;
    }
    std::string text(static_cast<size_t>(st.st_size), '\0');
    size_t off = 0;
    while (off < text.size()) {
      ssize_t n = ::pread(fd.fd, text.data() + off, text.size() - off, static_cast<off_t>(off));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    text.resize(off);
    size_t pos = 0;
    int lineno = 0;
    bool terminal = false;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) break;  // a line still being written
      ++lineno;
      std::string_view line(text.data() + pos, nl - pos + 1);
      pos = nl + 1;
      auto ev = cronitor::decode(line);
      if (!ev) {
        scan.warnings.push_back(f.path + ":" + std::to_string(lineno) + ": " + ev.error().message + ", skipping");
        continue;
      }
      if (st.st_uid != 0 && static_cast<int64_t>(st.st_uid) != ev->uid) {
        scan.warnings.push_back(f.path + ":" + std::to_string(lineno) + ": event for uid " + std::to_string(ev->uid) +
                                " in a file owned by uid " + std::to_string(st.st_uid) + ", rejecting");
        continue;
      }
      terminal = is_terminal(ev->state) || (metric_file && ev->state == RunState::kMetric);
      f.events.push_back(std::move(*ev));
    }
    f.finished = terminal;
    if (!f.finished && now - st.st_mtime > stale_after.count()) {
      if (f.events.empty()) scan.warnings.push_back("spool file \"" + f.path + "\": stale and unfinished, dropping");
      f.finished = true;  // store what it has, then delete it
    }
    scan.files.push_back(std::move(f));
  }
  return scan;
}

}  // namespace cronitor::agent
