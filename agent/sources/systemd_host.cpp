#include "agent/sources/systemd_host.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <charconv>
#include <memory>
#include <string_view>
#include <vector>

#include "agent/sources/host_facts.h"
#include "common/event_source.h"
#include "common/kernel_file.h"
#include "common/owned.h"
#include "common/text.h"
#include "common/unique_fd.h"

namespace cronitor::agent {
namespace {

constexpr size_t kMaxTailBytes = 4096;

uint64_t clock_usec(clockid_t id) {
  timespec ts{};
  ::clock_gettime(id, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

constexpr size_t kCgroupFileCap = 16384;  // a cgroup's small files are a few KiB at most

bool usable_cgroup(const std::string& cg) {
  return !cg.empty() && cg.front() == '/' && cg.find("/../") == std::string::npos && !cg.ends_with("/..");
}

}  // namespace

Result<uint64_t> read_cgroup_oom_kills(const std::string& root, const std::string& cg) {
  if (!usable_cgroup(cg)) return fail("no usable ControlGroup \"" + cg + "\"");
  const std::string v1 = root + "/memory" + cg + "/memory.oom_control";
  auto text = read_kernel_file(v1, kCgroupFileCap);
  std::string where = v1;
  if (!text) {
    where = root + cg + "/memory.events";
    auto t2 = read_kernel_file(where, kCgroupFileCap);
    if (!t2) return std::unexpected(text.error());  // the v1 reason: the usual hierarchy here
    text = std::move(t2);
  }
  auto n = keyed_number(*text, "oom_kill");
  if (!n) return fail(where + ": no oom_kill line");
  return *n;
}

namespace {

// A v1 memory cgroup's OOM notifications: an eventfd on the loop, sorted as they are read (the
// cgroup still there: an OOM; gone: its removal, plus any OOM read late).
struct CgroupV1OomWatch {
  UniqueFd fd;
  EventSource src;  // after fd: released before the eventfd it watches closes
  std::string oom_control;
  OomNotifications notes;
  void drain() {
    uint64_t n = 0;
    while (::read(fd.get(), &n, sizeof n) == sizeof n)
      (::access(oom_control.c_str(), F_OK) == 0 ? notes.while_there : notes.once_gone) += n;
  }
  static int on_ready(sd_event_source*, int, uint32_t, void* ud) {
    static_cast<CgroupV1OomWatch*>(ud)->drain();
    return 0;
  }
};

}  // namespace

Result<std::function<OomNotifications()>> watch_cgroup_oom(sd_event* ev, const std::string& root,
                                                           const std::string& cg) {
  if (!usable_cgroup(cg)) return fail("no usable ControlGroup \"" + cg + "\"");
  const std::string dir = root + "/memory" + cg;
  auto w = std::make_shared<CgroupV1OomWatch>();
  w->oom_control = dir + "/memory.oom_control";
  w->fd.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!w->fd) return std::unexpected(Error::from_errno("eventfd", dir));
  // Both closed on return: the kernel holds its own reference to oom_control.
  const UniqueFd ofd(::open(w->oom_control.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ofd) return std::unexpected(Error::from_errno("open", w->oom_control));
  const UniqueFd cfd(::open((dir + "/cgroup.event_control").c_str(), O_WRONLY | O_CLOEXEC));
  if (!cfd) return std::unexpected(Error::from_errno("open", dir + "/cgroup.event_control"));
  const std::string line = std::to_string(w->fd.get()) + " " + std::to_string(ofd.get());
  if (::write(cfd.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size()))
    return std::unexpected(Error::from_errno("write", dir + "/cgroup.event_control"));
  if (ev) {
    sd_event_source* s = nullptr;
    const int r = sd_event_add_io(ev, &s, w->fd.get(), EPOLLIN, CgroupV1OomWatch::on_ready, w.get());
    if (r < 0) return std::unexpected(Error::from_errno("sd_event_add_io", dir, -r));
    w->src.reset(s);
    // Before the bus: the OOM's note is read while the cgroup is there, not after the manager
    // has removed it and said the run ended (read late, only the removal's second note tells).
    sd_event_source_set_priority(w->src.get(), SD_EVENT_PRIORITY_IMPORTANT);
  }
  return [w] {
    w->drain();
    return w->notes;
  };
}

std::string journal_tail_of(sd_journal* j, const std::string& invocation_id, size_t max_lines) {
  if (!j || invocation_id.empty() || max_lines == 0) return {};
  const std::string sys = "_SYSTEMD_INVOCATION_ID=" + invocation_id;
  const std::string user = "USER_INVOCATION_ID=" + invocation_id;
  sd_journal_flush_matches(j);
  if (sd_journal_add_match(j, sys.data(), sys.size()) < 0 || sd_journal_add_disjunction(j) < 0 ||
      sd_journal_add_match(j, user.data(), user.size()) < 0 || sd_journal_seek_tail(j) < 0)
    return {};
  std::vector<std::string> lines;
  size_t bytes = 0;
  while (lines.size() < max_lines && bytes < kMaxTailBytes && sd_journal_previous(j) > 0) {
    const void* data = nullptr;
    size_t n = 0;
    if (sd_journal_get_data(j, "MESSAGE", &data, &n) < 0 || n < 8) continue;
    std::string line(static_cast<const char*>(data) + 8, n - 8);  // after "MESSAGE="
    if (bytes + line.size() + 1 > kMaxTailBytes) break;
    bytes += line.size() + 1;
    lines.push_back(std::move(line));
  }
  std::string out;
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) out += *it + "\n";
  return out;
}

SystemdHost SystemdHost::real(sd_event* ev) {
  SystemdHost h;
  h.realtime_usec = [] { return clock_usec(CLOCK_REALTIME); };
  h.monotonic_usec = [] { return clock_usec(CLOCK_MONOTONIC); };
  h.cgroup_oom_kills = [](const std::string& cg) { return read_cgroup_oom_kills("/sys/fs/cgroup", cg); };
  h.watch_oom = [ev](const std::string& cg) { return watch_cgroup_oom(ev, "/sys/fs/cgroup", cg); };
  h.system_oom_kills = [] { return host_oom_kills(); };
  // The invocation's output as `journalctl -u` shows it.
  h.journal_tail = [](const std::string& id, size_t lines) -> std::string {
    Owned<sd_journal, sd_journal_close> j;
    if (sd_journal_open(out_ptr(j), SD_JOURNAL_LOCAL_ONLY) < 0) return {};
    return journal_tail_of(j.get(), id, lines);
  };
  return h;
}

}  // namespace cronitor::agent
