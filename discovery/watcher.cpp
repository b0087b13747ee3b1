#include "discovery/watcher.h"

#include <sys/inotify.h>

#include <algorithm>
#include <cstring>

#include "discovery/fs_root.h"

namespace cronitor::discovery {

namespace {

constexpr uint32_t kDirMask = IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF |
                              IN_MOVE_SELF | IN_ATTRIB | IN_ONLYDIR | IN_EXCL_UNLINK;
// On the parent of a folder that does not exist yet: only its appearance matters.
constexpr uint32_t kParentMask = IN_CREATE | IN_MOVED_TO | IN_ONLYDIR | IN_MASK_ADD;

bool within(const std::string& path, const std::string& dir) {
  return path == dir || (path.size() > dir.size() && path.starts_with(dir) && path[dir.size()] == '/');
}

}  // namespace

Result<std::unique_ptr<Watcher>> Watcher::create(Scanner& scanner, const DiskRoot& root, Options options) {
  UniqueFd fd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!fd) return std::unexpected(Error::from_errno("inotify_init1", ""));
  std::unique_ptr<Watcher> w(new Watcher(scanner, root, std::move(options), std::move(fd)));
  w->refresh_watches();
  return w;
}

Watcher::Watcher(Scanner& scanner, const DiskRoot& root, Options options, UniqueFd fd)
    : scanner_(scanner), root_(root), options_(std::move(options)), fd_(std::move(fd)) {}

void Watcher::log(const std::string& msg) const {
  if (options_.log) options_.log(msg);
}

void Watcher::refresh_watches() {
  missing_.clear();
  for (const std::string& dir : scanner_.watch_dirs()) {
    if (by_dir_.contains(dir)) continue;
    const std::string real = root_.real_path(dir);
    const int wd = ::inotify_add_watch(fd_.get(), real.c_str(), kDirMask);
    if (wd >= 0) {
      by_dir_[dir] = wd;
      by_wd_.try_emplace(wd, dir);  // two names of one folder (/lib -> /usr/lib) share a watch
      continue;
    }
    if (errno != ENOENT && errno != ENOTDIR) {
      degraded_ = true;
      log("inotify_add_watch " + real + ": " + std::strerror(errno) + "; its changes are seen at the next full rescan");
      continue;
    }
    // Watch the nearest existing ancestor to see the folder appear.
    missing_.push_back(dir);
    for (std::string up(parent_of(dir));; up = std::string(parent_of(up))) {
      if (by_dir_.contains(up)) break;
      const std::string real_up = root_.real_path(up);
      const int pwd = ::inotify_add_watch(fd_.get(), real_up.c_str(), kParentMask);
      if (pwd >= 0) {
        by_wd_.try_emplace(pwd, up);
        break;
      }
      if (up == "/") break;
    }
  }
}

void Watcher::note(std::string path, Duration now) {
  if (!first_event_) first_event_ = now;
  last_event_ = now;
  if (!full_pending_) {
    pending_.insert(std::move(path));
    if (pending_.size() > options_.max_pending) {
      full_pending_ = true;
      pending_.clear();
    }
  }
}

void Watcher::on_readable(Duration now) {
  alignas(inotify_event) char buf[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd_.get(), buf, sizeof buf);
    if (n <= 0) break;  // EAGAIN: drained
    for (ssize_t off = 0; off < n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      if (ev->mask & IN_Q_OVERFLOW) {
        log("inotify queue overflow: some changes were lost, rescanning everything");
        full_pending_ = true;
        pending_.clear();
        note({}, now);
        continue;
      }
      const auto it = by_wd_.find(ev->wd);
      if (it == by_wd_.end()) continue;
      const std::string dir = it->second;
      if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
        if (ev->mask & IN_IGNORED) {
          by_wd_.erase(it);
          std::erase_if(by_dir_, [&](const auto& kv) { return kv.second == ev->wd; });
        }
        if (!full_pending_) log("lost the watch on " + root_.real_path(dir) + ", rescanning everything");
        full_pending_ = true;
        refresh_pending_ = true;
        pending_.clear();
        note({}, now);
        continue;
      }
      std::string path = dir;
      if (ev->len > 0) {
        if (path != "/") path += '/';
        path += ev->name;
      }
      if (ev->mask & IN_ISDIR) {
        // A folder appearing may be one we wait for, or a new *.wants / drop-in folder.
        for (const std::string& m : missing_) {
          if (within(m, path)) {
            refresh_pending_ = true;
            note(m, now);
          }
        }
        if (ev->mask & (IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM)) refresh_pending_ = true;
      }
      if (scanner_.relevant(path)) note(std::move(path), now);
    }
  }
}

std::optional<Watcher::Duration> Watcher::settle_deadline() const {
  if (!first_event_) return std::nullopt;
  return std::min(last_event_ + options_.settle, *first_event_ + options_.max_delay);
}

Changes Watcher::poll(Duration now) {
  const auto deadline = settle_deadline();
  if (!deadline || now < *deadline) return {};
  // Watch new folders first, so that nothing created while we read them is missed.
  if (refresh_pending_) refresh_watches();
  refresh_pending_ = false;
  Changes changes;
  if (full_pending_) {
    ++full_rescans_;
    changes = scanner_.scan();
  } else {
    std::vector<std::string> paths(pending_.begin(), pending_.end());
    changes = scanner_.rescan(paths);
  }
  ++rescans_;
  full_pending_ = false;
  pending_.clear();
  first_event_.reset();
  refresh_watches();  // sources may name new folders (systemd drop-ins, *.wants)
  return changes;
}

}  // namespace cronitor::discovery
