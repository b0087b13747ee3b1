#include "agent/sources/spool_reader.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <map>

#include "common/dir_listing.h"
#include "common/text.h"
#include "common/unique_fd.h"

namespace cronitor::agent {
namespace {

bool hex16(std::string_view s) {
  return s.size() == 16 &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

/// The names wrappers write (common/event.h): "<run_id>.jsonl" and "<run_id>.m<16 hex>.jsonl".
/// Anything else ending in .jsonl is someone else's.
bool wrapper_name(std::string_view name, bool* metric) {
  if (!name.ends_with(".jsonl") || name.size() < 36 + 6 || !cronitor::valid_run_id(name.substr(0, 36))) return false;
  const std::string_view rest = name.substr(36, name.size() - 36 - 6);
  *metric = !rest.empty();
  return rest.empty() || (rest.starts_with(".m") && hex16(rest.substr(2)));
}

/// A name as it goes into a warning: escaped (it may hold newlines and ESC bytes), and cut.
std::string shown(const std::string& dir, std::string_view name) {
  return escape_text(dir + "/" + std::string(name.substr(0, 200)));
}

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
    if (!ev) return "line " + std::to_string(lineno) + ": " + escape_text(ev.error().message.substr(0, 200));
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

void SpoolIndex::note(std::string_view name) {
  if (name.empty() || name[0] == '.' || !name.ends_with(".jsonl")) return;
  std::string n(name);
  if (queued_.contains(n)) return;
  if (queued_.size() >= 100000) {  // more than a listing costs: list instead
    relist_ = true;
    return;
  }
  queued_.insert(n);
  fresh_.push_back(std::move(n));
}

void SpoolIndex::list(int dirfd, const SpoolOptions& o, time_t now) {
  relist_ = false;
  listed_at_ = now;
  const DirListing d = open_listing(dirfd);
  if (!d) {
    relist_ = true;
    return;
  }
  const time_t stale = now - o.stale_after.count();
  while (dirent* e = ::readdir(d.get())) {
    const std::string_view n = e->d_name;
    if (n.empty() || n[0] == '.' || !n.ends_with(".jsonl")) continue;
    if (auto it = seen_.find(std::string(n)); it != seen_.end() && it->second.ino == e->d_ino) {
      const Seen& s = it->second;
      const bool due = s.size == 0 ? s.mtime < now - o.empty_after.count() : s.mtime < stale;
      if (!due) continue;  // read or empty, unchanged (the watch would have said so)
    }
    if (odd_.contains({std::string(n), e->d_ino})) continue;  // warned about already
    if (queued_.size() >= o.max_remembered) {
      relist_ = true;  // the rest at the next listing, once these are done
      break;
    }
    if (queued_.insert(std::string(n)).second) backlog_.emplace_back(n);
  }
}

void SpoolIndex::odd(const std::string& dir, const std::string& name, ino_t ino, const std::string& why, bool drop,
                     const SpoolOptions& o, SpoolScan& scan) {
  if (drop) {  // removed by the caller (root may, in the sticky folder)
    SpoolFile f;
    f.path = dir + "/" + name;
    f.name = name;
    f.drop = true;
    scan.files.push_back(std::move(f));
  }
  if (odd_.contains({name, ino})) return;  // warned about once
  if (odd_.size() >= o.max_remembered) {
    if (!odd_full_warned_)
      scan.warnings.push_back("spool \"" + escape_text(dir) + "\": more than " + std::to_string(o.max_remembered) +
                              " odd entries; no longer naming them");
    odd_full_warned_ = true;
    return;
  }
  odd_.insert({name, ino});
  // A few named per window, the rest counted: thousands of planted entries are a few log lines.
  if (odd_named_ >= kOddNamed) {
    ++odd_unnamed_;
    return;
  }
  ++odd_named_;
  scan.warnings.push_back("spool entry \"" + shown(dir, name) + "\": " + why + (drop ? ", dropping" : ", ignoring it"));
}

void SpoolIndex::look(int dirfd, const std::string& dir, const std::string& name, const SpoolOptions& o, time_t now,
                      SpoolScan& scan, std::vector<std::pair<uid_t, Candidate>>& found) {
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) {
      seen_.erase(name);
    } else {
      odd(dir, name, 0, std::string("stat: ") + std::strerror(errno), false, o, scan);
    }
    return;
  }
  bool metric = false;
  if (S_ISDIR(st.st_mode)) return odd(dir, name, st.st_ino, "a directory", false, o, scan);
  if (!wrapper_name(name, &metric))
    return odd(dir, name, st.st_ino, "not a name a wrapper writes (RUN_ID.jsonl)", true, o, scan);
  if (!S_ISREG(st.st_mode) || st.st_nlink != 1 || st.st_size > kMaxSpoolFileBytes)
    return odd(dir, name, st.st_ino,
               "not a single-link regular file under " + std::to_string(kMaxSpoolFileBytes >> 10) + " KiB", true, o,
               scan);
  if (auto it = seen_.find(name); it != seen_.end() && it->second.ino == st.st_ino && it->second.size == st.st_size &&
                                  st.st_size > 0 && st.st_mtim.tv_sec >= now - o.stale_after.count())
    return;  // read already, unchanged
  if (st.st_size == 0) {
    // Nothing to read. A wrapper writes its first line right after creating the file, so an
    // old empty one is litter: removed without opening it, counted, not named one by one.
    if (st.st_mtim.tv_sec < now - o.empty_after.count()) {
      SpoolFile f;
      f.path = dir + "/" + name;
      f.name = name;
      f.owner = st.st_uid;
      f.drop = f.empty = true;
      scan.files.push_back(std::move(f));
    } else if (seen_.size() < o.max_remembered) {
      seen_[name] = Seen{st.st_ino, 0, st.st_mtim.tv_sec};  // the watch reports its first line
    }
    return;
  }
  found.push_back({st.st_uid, Candidate{name, st.st_ino, st.st_size, st.st_mtim.tv_sec}});
}

void SpoolIndex::read(int dirfd, const std::string& dir, uid_t owner, const Candidate& c, const SpoolOptions& o,
                      time_t now, SpoolScan& scan) {
  SpoolFile f;
  f.path = dir + "/" + c.name;
  f.name = c.name;
  f.owner = owner;
  bool metric = false;
  wrapper_name(c.name, &metric);
  UniqueFd fd{::openat(dirfd, c.name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)};
  struct stat st;
  if (fd.get() < 0 || ::fstat(fd.get(), &st) != 0) {
    if (errno != ENOENT) note(c.name);  // looked at again next pass
    return;
  }
  if (st.st_ino != c.ino || !S_ISREG(st.st_mode) || st.st_nlink != 1 || st.st_size > kMaxSpoolFileBytes ||
      st.st_uid != owner) {
    note(c.name);  // replaced since it was looked at
    return;
  }
  std::string text(static_cast<size_t>(st.st_size), '\0');
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::pread(fd.get(), text.data() + off, text.size() - off, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  text.resize(off);
  f.size = static_cast<off_t>(off);
  if (auto why = check_lines(f, text, metric, st); !why.empty()) {
    scan.warnings.push_back("spool file \"" + shown(dir, c.name) + "\" (uid " + std::to_string(st.st_uid) +
                            "): " + why + ", refusing the file");
    f.events.clear();
    f.drop = true;
    scan.files.push_back(std::move(f));
    return;
  }
  if (!f.finished && now - st.st_mtim.tv_sec > o.stale_after.count()) {
    if (f.events.empty())
      scan.warnings.push_back("spool file \"" + shown(dir, c.name) + "\": stale and unfinished, dropping");
    f.finished = true;  // store what it has, then delete it
  }
  scan.files.push_back(std::move(f));
}

SpoolScan SpoolIndex::pass(const std::string& dir, const SpoolOptions& o, time_t now) {
  SpoolScan scan;
  if (now - odd_window_ >= kOddWindow) odd_named_ = 0, odd_window_ = now;
  for (auto& name : deferred_) note(name);  // out of their owner's budget last time
  deferred_.clear();
  UniqueFd d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (d.get() < 0) {
    if (errno != ENOENT) scan.warnings.push_back("spool \"" + escape_text(dir) + "\": open: " + std::strerror(errno));
    return scan;
  }
  // A listing once the last one's names are all looked at (at start, after lost events, on
  // SIGHUP, and every relist_every for what no event announced: stale files, old empty ones).
  if (o.may_list && backlog_.empty() && (relist_ || (queued() == 0 && now - listed_at_ >= o.relist_every.count())))
    list(d.get(), o, now);
  // Look at a bounded number of names: the watch's first (a new file is most likely a run
  // ending now), then the listing's.
  std::vector<std::pair<uid_t, Candidate>> found;
  for (size_t looked = 0; looked < o.max_names && queued() > 0; ++looked) {
    std::deque<std::string>& q = !fresh_.empty() ? fresh_ : backlog_;
    std::string name = std::move(q.front());
    q.pop_front();
    queued_.erase(name);
    look(d.get(), dir, name, o, now, scan, found);
  }
  // Read root's files first, then one file of each owner in turn, each owner up to its share:
  // one user's thousands of files never keep another's (or root's) failure waiting.
  std::map<uid_t, std::deque<Candidate>> by_owner;
  for (auto& [uid, c] : found) by_owner[uid].push_back(std::move(c));
  size_t read_files = 0;
  std::map<uid_t, size_t> taken;
  for (bool any = true; any && read_files < o.max_files;) {
    any = false;
    for (auto& [uid, files] : by_owner) {
      if (read_files >= o.max_files) break;
      // Root's files are all taken before anyone's (up to the pass's bound).
      const size_t share = uid == 0 ? o.max_files : o.max_per_owner;
      while (!files.empty() && taken[uid] < share && read_files < o.max_files) {
        Candidate c = std::move(files.front());
        files.pop_front();
        const std::string path = dir + "/" + c.name;
        if (o.want && !o.want(path, uid, c.size, c.mtime)) {
          deferred_.push_back(std::move(c.name));  // its owner is out of budget: at a later pass
          continue;
        }
        ++taken[uid];
        ++read_files;
        read(d.get(), dir, uid, c, o, now, scan);
        any = true;
        if (uid != 0) break;  // round-robin over the others
      }
    }
  }
  for (auto& [uid, files] : by_owner)
    for (auto& c : files) note(c.name);  // over this pass's bounds
  scan.more = queued() > 0 || relist_;
  if (odd_unnamed_ > 0 && (!scan.more || now - odd_said_ >= kOddSayEvery)) {
    scan.warnings.push_back("spool \"" + escape_text(dir) + "\": " + std::to_string(odd_unnamed_) +
                            " more odd entries (directories, names no wrapper writes, links), not named");
    odd_unnamed_ = 0;
    odd_said_ = now;
  }
  return scan;
}

void SpoolIndex::stored(const SpoolFile& f, bool removed) {
  if (removed) {
    seen_.erase(f.name);
    // A new file may get the name, and the inode, again.
    odd_.erase(odd_.lower_bound({f.name, 0}), odd_.upper_bound({f.name, static_cast<ino_t>(-1)}));
    return;
  }
  if (f.finished || f.drop) return;  // could not be removed: warned once already (odd_)
  struct stat st;
  if (seen_.size() < 100000 && ::lstat(f.path.c_str(), &st) == 0)
    seen_[f.name] = Seen{st.st_ino, f.size, st.st_mtim.tv_sec};  // unfinished: read again once it grows
}

SpoolScan read_spool(const std::string& dir, size_t max_files, std::chrono::seconds stale_after) {
  SpoolOptions o;
  o.max_files = max_files;
  o.stale_after = stale_after;
  return read_spool(dir, o);
}

SpoolScan read_spool(const std::string& dir, const SpoolOptions& options) {
  SpoolIndex index;
  return index.pass(dir, options, ::time(nullptr));
}

}  // namespace cronitor::agent
