#include "agent/sources/spool_intake.h"

#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <vector>

namespace cronitor::agent {
namespace {

constexpr uint64_t kRetryMinUsec = 200000;  // a uid out of budget: its files are looked at again after this

}  // namespace

void SpoolIntake::attach(sd_event* ev) {
  ev_ = ev;
  fd_.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!fd_ || ::inotify_add_watch(fd_.get(), dir_.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO | IN_MODIFY) < 0) {
    spdlog::warn("watching the spool \"{}\": {}; it is drained at start and on SIGHUP only", dir_,
                 std::strerror(errno));
  } else {
    sd_event_source* s = nullptr;
    sd_event_add_io(ev, &s, fd_.get(), EPOLLIN, on_watch_cb, this);
    watch_src_.reset(s);
  }
  sd_event_source* s = nullptr;
  sd_event_add_defer(ev, &s, on_drain_cb, this);
  drain_src_.reset(s);
  sd_event_source_set_priority(s, SD_EVENT_PRIORITY_IDLE);
  sd_event_source_set_enabled(s, SD_EVENT_OFF);
  s = nullptr;
  sd_event_add_time(ev, &s, CLOCK_MONOTONIC, UINT64_MAX, 50000, on_retry_cb, this);
  retry_src_.reset(s);
  sd_event_source_set_enabled(s, SD_EVENT_OFF);
}

int SpoolIntake::on_watch_cb(sd_event_source*, int, uint32_t, void* ud) {
  auto* s = static_cast<SpoolIntake*>(ud);
  if (s->take_events()) sd_event_source_set_enabled(s->drain_src_.get(), SD_EVENT_ONESHOT);
  return 0;
}

int SpoolIntake::on_drain_cb(sd_event_source*, void* ud) {
  static_cast<SpoolIntake*>(ud)->drain();
  return 0;
}

int SpoolIntake::on_retry_cb(sd_event_source*, uint64_t, void* ud) {
  static_cast<SpoolIntake*>(ud)->drain();
  return 0;
}

bool SpoolIntake::take_events() {
  // The events name the files: only those are looked at again (a lost event: all of them).
  alignas(inotify_event) char buf[16384];
  for (ssize_t n; fd_ && (n = ::read(fd_.get(), buf, sizeof buf)) > 0;) {
    ready_ = true;
    for (ssize_t off = 0; off + static_cast<ssize_t>(sizeof(inotify_event)) <= n;) {
      const auto* e = reinterpret_cast<const inotify_event*>(buf + off);
      if (e->mask & IN_Q_OVERFLOW) index_.relist();
      if (e->len > 0) index_.note(std::string_view(e->name, ::strnlen(e->name, e->len)));
      off += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
    }
  }
  return ready_;
}

void SpoolIntake::wake() {
  ready_ = true;
  sd_event_source_set_enabled(drain_src_.get(), SD_EVENT_ONESHOT);
}

// Spooled events are older than those waiting on the socket: they go first (the daemon calls
// this before its batch). Each file is judged whole, once: refused files are deleted with one log
// line; the files of a uid out of its rate budget wait, unread, for a later drain.
void SpoolIntake::drain(bool before_batch) {
  ready_ = false;
  const uint64_t mono = loop_mono_usec(ev_);
  std::set<uid_t> waiting;
  SpoolOptions o;
  o.stale_after = std::chrono::hours(48);
  if (before_batch) {  // the acks wait for this one: the names the watch just gave, no listing
    o.max_names = o.max_files = 256;
    o.may_list = false;
  }
  o.want = [&](const std::string&, uid_t owner, off_t, time_t) {
    if (handler_.spool_take(owner, mono)) return true;  // one event's token now; the file's others below
    waiting.insert(owner);
    return false;
  };
  auto scan = index_.pass(dir_, o, ::time(nullptr));
  for (const auto& w : scan.warnings) spdlog::warn("{}", w);
  std::vector<Spooled> events;
  std::set<std::string> refused_files;
  for (const auto& f : scan.files) {
    if (f.events.size() > 1) handler_.spool_charge(f.owner, mono, static_cast<double>(f.events.size() - 1));
    // The socket's rule: the owner of the file (the sender) must own the job.
    std::optional<std::string> why;
    for (const auto& e : f.events)
      if (!why) why = handler_.spool_refuse(e, f.owner);
    if (why) {
      spdlog::warn("spool file \"{}\" (uid {}): {}, refusing the file", f.path, f.owner, *why);
      refused_files.insert(f.path);
      continue;
    }
    for (const auto& e : f.events) events.emplace_back(&e, f.owner);
  }
  for (uid_t u : waiting)
    if (waiting_.insert(u).second) spdlog::info("spool: files of uid {} wait for its rate limit", u);
  std::erase_if(waiting_, [&](uid_t u) { return !waiting.contains(u); });
  if (!waiting.empty()) {
    uint64_t wait = UINT64_MAX;
    for (uid_t u : waiting) wait = std::min(wait, handler_.spool_wait_usec(u, mono));
    sd_event_source_set_time(retry_src_.get(), mono + std::max(wait, kRetryMinUsec));
    sd_event_source_set_enabled(retry_src_.get(), SD_EVENT_ONESHOT);
  }
  if (scan.files.empty()) {
    if (scan.more) sd_event_source_set_enabled(drain_src_.get(), SD_EVENT_ONESHOT);
    return;
  }
  // Late events take their place in time: oldest first (the timestamps sort as text).
  std::stable_sort(events.begin(), events.end(),
                   [](const auto& a, const auto& b) { return a.first->ts < b.first->ts; });
  if (!handler_.spool_store(events)) {
    for (const auto& f : scan.files) index_.retry(f);
    return;
  }
  size_t removed = 0, empty = 0;
  for (const auto& f : scan.files) {
    if (f.finished || f.drop || refused_files.contains(f.path)) {
      const bool gone = ::unlink(f.path.c_str()) == 0 || errno == ENOENT;
      removed += gone;
      empty += gone && f.empty;
      index_.stored(f, gone);
    } else {
      index_.stored(f, false);  // unfinished: read again once it grows
    }
  }
  if (!events.empty()) spdlog::info("spool: {} events stored, {} files removed", events.size(), removed);
  if (empty > 0) spdlog::info("spool: {} empty files older than a minute removed", empty);
  if (scan.more) sd_event_source_set_enabled(drain_src_.get(), SD_EVENT_ONESHOT);
  handler_.spool_stored();
}

}  // namespace cronitor::agent
