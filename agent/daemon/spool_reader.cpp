#include "agent/daemon/spool_reader.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <ctime>

namespace cronitor::agent {
namespace {

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// The reason a file is refused whole, or "" when its complete lines are all valid.
std::string check_lines(SpoolFile& f, const std::string& text, bool metric_file, const struct stat& st) {
  size_t pos = 0;
  size_t lineno = 0;
  const size_t max_lines = metric_file ? 1 : kMaxSpoolRunLines;
  bool terminal = false;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) break;  // a line still being written
    if (++lineno > max_lines)
      return "more than " + std::to_string(max_lines) + (max_lines == 1 ? " line" : " lines") + " (a run has " +
             (metric_file ? "one metric event" : "a run and an end event") + ")";
    std::string_view line(text.data() + pos, nl - pos + 1);
    pos = nl + 1;
    auto ev = cronitor::decode(line);
    if (!ev) return "line " + std::to_string(lineno) + ": " + ev.error().message.substr(0, 200);
    if (st.st_uid != 0 && static_cast<int64_t>(st.st_uid) != ev->uid)
      return "line " + std::to_string(lineno) + ": event for uid " + std::to_string(ev->uid) +
             " in a file owned by uid " + std::to_string(st.st_uid);
    if (metric_file != (ev->state == RunState::kMetric))
      return "line " + std::to_string(lineno) + ": a " + std::string(to_string(ev->state)) + " event in a " +
             (metric_file ? "metric" : "run") + " file";
    terminal = is_terminal(ev->state) || metric_file;
    f.events.push_back(std::move(*ev));
  }
  f.finished = terminal;
  return "";
}

}  // namespace

SpoolScan read_spool(const std::string& dir, size_t max_files, std::chrono::seconds stale_after) {
  SpoolOptions o;
  o.max_files = max_files;
  o.stale_after = stale_after;
  return read_spool(dir, o);
}

SpoolScan read_spool(const std::string& dir, const SpoolOptions& options) {
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
    if (names.size() >= options.max_names) {
      scan.more = true;
      break;
    }
    names.push_back(std::move(n));
  }
  ::closedir(d);
  const time_t now = ::time(nullptr);
  size_t read = 0;
  for (const auto& name : names) {
    SpoolFile f;
    f.path = dir + "/" + name;
    const bool metric_file = name.find(".m") != std::string::npos && name.find(".m") + 2 < name.size() - 6;
    Fd fd{::open(f.path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)};
    if (fd.fd < 0) {
      if (errno != ENOENT) {
        scan.warnings.push_back("spool file \"" + f.path + "\": open: " + std::strerror(errno) + ", dropping");
        f.drop = true;
        scan.files.push_back(std::move(f));
      }
      continue;
    }
    struct stat st;
    if (::fstat(fd.fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 || st.st_size > kMaxSpoolFileBytes) {
      scan.warnings.push_back("spool file \"" + f.path + "\": not a single-link regular file under " +
                              std::to_string(kMaxSpoolFileBytes >> 10) + " KiB, dropping");
      f.drop = true;
      scan.files.push_back(std::move(f));
      continue;
    }
    f.owner = st.st_uid;
    if (options.want && !options.want(f.path, st.st_uid, st.st_size, st.st_mtime)) continue;
    if (read >= options.max_files) {
      scan.more = true;
      break;
    }
    ++read;
    std::string text(static_cast<size_t>(st.st_size), '\0');
    size_t off = 0;
    while (off < text.size()) {
      ssize_t n = ::pread(fd.fd, text.data() + off, text.size() - off, static_cast<off_t>(off));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    text.resize(off);
    f.size = static_cast<off_t>(off);
    if (auto why = check_lines(f, text, metric_file, st); !why.empty()) {
      scan.warnings.push_back("spool file \"" + f.path + "\" (uid " + std::to_string(st.st_uid) + "): " + why +
                              ", refusing the file");
      f.events.clear();
      f.drop = true;
      scan.files.push_back(std::move(f));
      continue;
    }
    if (!f.finished && now - st.st_mtime > options.stale_after.count()) {
      if (f.events.empty()) scan.warnings.push_back("spool file \"" + f.path + "\": stale and unfinished, dropping");
      f.finished = true;  // store what it has, then delete it
    }
    scan.files.push_back(std::move(f));
  }
  return scan;
}

}  // namespace cronitor::agent
