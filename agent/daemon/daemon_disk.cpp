// state.db on a full disk: the agent says so once (log and status), keeps what it can (an event it
// could not store is not acknowledged, so its wrapper spools it; nothing acknowledged is lost),
// looks for space every few seconds and reads the spool by itself once space returns.
#include <spdlog/spdlog.h>
#include <sys/statvfs.h>
#include <systemd/sd-daemon.h>

#include "agent/daemon/daemon.h"
#include "common/duration.h"

namespace cronitor::agent {
namespace {

constexpr uint64_t kRetryUsec = 5'000'000;
/// Free bytes under state_dir before a retry is worth a write.
constexpr uint64_t kEnoughRoom = 256 * 1024;

bool has_room(const std::string& dir) {
  struct statvfs v {};
  if (::statvfs(dir.c_str(), &v) != 0) return true;  // cannot tell: try the write
  return static_cast<uint64_t>(v.f_bavail) * v.f_frsize >= kEnoughRoom;
}

}  // namespace

void Daemon::on_store_failure(bool out_of_space, size_t events) {
  reload_states();
  if (!out_of_space) {
    if (events > 0) spdlog::error("storing {} events failed; their senders will spool them", events);
    return;
  }
  ++disk_full_failures_;
  if (disk_full_since_) return;
  disk_full_since_ = now();
  spdlog::error(
      "state.db: the disk under \"{}\" is full: events that cannot be stored are not acknowledged (their wrappers "
      "spool them); looking for space every {} s",
      config_.state_dir, kRetryUsec / 1000000);
  sd_notifyf(0, "STATUS=disk full under %s: waiting for space", config_.state_dir.c_str());
  if (!disk_retry_src_)
    sd_event_add_time_relative(ev_, &disk_retry_src_, CLOCK_MONOTONIC, kRetryUsec, 100000, on_disk_retry_cb, this);
  else
    sd_event_source_set_time_relative(disk_retry_src_, kRetryUsec);
  if (disk_retry_src_) sd_event_source_set_enabled(disk_retry_src_, SD_EVENT_ONESHOT);
}

void Daemon::on_store_ok() {
  if (!disk_full_since_) return;
  // A small commit can fit in pages state.db already holds while the disk is still full: the space
  // is back only when the disk has room again (else the log would say full, back, full, ...).
  if (!has_room(config_.state_dir)) return;
  spdlog::warn("state.db: disk space is back after {} ({} transactions failed meanwhile); reading the spool",
               format_duration(std::chrono::duration_cast<std::chrono::seconds>(now() - *disk_full_since_)),
               disk_full_failures_);
  disk_full_since_.reset();
  disk_full_failures_ = 0;
  if (disk_retry_src_) sd_event_source_set_enabled(disk_retry_src_, SD_EVENT_OFF);
  if (spool_) spool_->wake();
  rearm_deadline_timer();  // deadlines that fell due meanwhile are evaluated now
  notify_status();
}

int Daemon::on_disk_retry_cb(sd_event_source* s, uint64_t, void* ud) {
  auto* d = static_cast<Daemon*>(ud);
  if (!d->disk_full_since_) return 0;
  if (has_room(d->config_.state_dir)) {
    // A real write (the host row) proves the space: a commit without changes writes nothing.
    bool ok = static_cast<bool>(d->store_.begin());
    if (ok) {
      ok = d->flush_dirty() && d->host_record_.save(d->store_) && d->store_.commit();
      if (!ok) {
        const bool full = d->store_.out_of_space();
        d->store_.rollback();
        if (full) ++d->disk_full_failures_;
        d->reload_states();
      }
    }
    if (ok) {
      d->on_store_ok();
      d->pump_outbox();
      return 0;
    }
  }
  sd_event_source_set_time_relative(s, kRetryUsec);
  sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
  return 0;
}

void Daemon::reload_states() {
  auto rows = store_.jobs();
  if (!rows) {
    spdlog::error("reading state.db back after a failed write: {}", rows.error().message);
    return;
  }
  monitors_.reread(std::move(*rows));  // deadlines from the states read back
  host_record_.reread(store_);
}

}  // namespace cronitor::agent
