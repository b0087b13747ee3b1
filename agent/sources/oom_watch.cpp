#include "agent/sources/oom_watch.h"

#include <spdlog/spdlog.h>
#include <time.h>

#include <cstdlib>
#include <utility>

#include "common/event_source.h"

namespace cronitor::agent {
namespace {}  // namespace

OomWatch::OomWatch(std::function<Instant()> now, OomKillLog::PgidOf pgid_of, OomKillLog::AncestorsOf ancestors)
    : now_(std::move(now)), pgid_of_(std::move(pgid_of)), ancestors_of_(std::move(ancestors)) {}

std::string OomWatch::default_path() {
  const char* env = std::getenv("CRONITOR_KMSG");
  return env && *env ? env : "/dev/kmsg";
}

void OomWatch::start(sd_event* ev, const std::string& path) {
  if (path == "off") return;
  auto reader = KmsgReader::open(path);
  if (!reader) {
    spdlog::warn("OOM kills: {}; a job's OOM kill is told by its memory cgroup's counter alone",
                 reader.error().message);
    return;
  }
  kmsg_ = std::make_unique<KmsgReader>(std::move(*reader));
  log_ = std::make_unique<OomKillLog>(pgid_of_, ancestors_of_);
  log_->start(now_());
  sd_event_source* s = nullptr;
  if (!ev || sd_event_add_io(ev, &s, kmsg_->fd(), EPOLLIN, on_kmsg_cb, this) < 0) {
    spdlog::warn("OOM kills: cannot watch {}; read when a run ends only", path);
    return;
  }
  src_.reset(s);
  // Ahead of the socket and the spool: a victim's process group is read while it still exists.
  sd_event_source_set_priority(s, SD_EVENT_PRIORITY_IMPORTANT);
  spdlog::info("OOM kills: reading the kernel's log \"{}\"", path);
}

void OomWatch::read() {
  if (!kmsg_) return;
  const Instant t = now_();
  const uint64_t mono = monotonic_usec();
  auto d = kmsg_->drain([&](std::string_view record) { log_->on_record(record, t, mono); });
  if (!d) {
    spdlog::warn("OOM kills: {}; no longer reading the kernel's log", d.error().message);
    src_.reset();
    kmsg_.reset();
    log_.reset();
    return;
  }
  if (d->lost > 0) {
    spdlog::info("OOM kills: {} kernel log records were overwritten before they were read", d->lost);
    log_->on_loss(t);
  }
}

int OomWatch::on_kmsg_cb(sd_event_source*, int, uint32_t, void* ud) {
  static_cast<OomWatch*>(ud)->read();
  return 0;
}

void OomWatch::attribute(RunEvent& ev, bool by_process) {
  if (ev.state != RunEvent::State::kFail) return;
  // Only a SIGKILL (or a shell's 137 for its killed child) can be the OOM killer's.
  if (ev.signal != "SIGKILL" && ev.exit_code != 137) return;
  if (!log_) return;  // the kernel's log cannot be read here: the wrapper's hint stands
  read();             // the kernel printed the kill before the process died, so before this event
  if (!log_) return;
  const Instant start = ev.ts - std::chrono::milliseconds(ev.duration_ms.value_or(0));
  // A wrapped run is its own process group; a run the process events saw is its shell's tree.
  const auto v = by_process ? log_->judge_process(ev.pid, start, ev.ts) : log_->judge(ev.pid, start, ev.ts);
  using K = OomKillLog::Verdict::Kind;
  switch (v.kind) {
    case K::kOom:
      ev.oom = true;
      ev.oom_victim = v.kill->describe();
      ev.memory_limit_bytes = v.kill->limit_bytes;
      break;
    case K::kNotOom:
      ev.oom = false;
      if (v.other) ev.oom_other = v.other->describe();
      break;
    case K::kAmbiguous:
      ev.oom = false;
      ev.oom_other = v.other->describe();
      ev.oom_maybe = ev.oom_hint;
      break;
    case K::kUnknown:  // not watched for the whole run (the agent started during it)
      break;
  }
  if (by_process) {
    if (ev.oom)
      spdlog::info("run {} of {} (pid {}): killed by the OOM killer ({})", ev.run_id, ev.key, ev.pid, ev.oom_victim);
    return;
  }
  if (ev.oom != ev.oom_hint)
    spdlog::info("run {} of {} (process group {}): {}", ev.run_id, ev.key, ev.pid,
                 ev.oom ? "killed by the OOM killer (" + ev.oom_victim + "), though its cgroup counter did not say so"
                        : "not killed by the OOM killer, though its memory cgroup counted one (" +
                              (ev.oom_other.empty() ? std::string("no victim named") : ev.oom_other) + ")");
}

}  // namespace cronitor::agent
