#include "agent/daemon/disk_full_watch.h"

#include <spdlog/spdlog.h>
#include <sys/statvfs.h>
#include <systemd/sd-daemon.h>

#include <utility>

#include "common/duration.h"

namespace cronitor::agent {
namespace {

/// Free bytes under state_dir before a retry is worth a write.
constexpr uint64_t kEnoughRoom = 256 * 1024;

}  // namespace

DiskFullWatch::DiskFullWatch(const std::string& dir, Hooks hooks) : dir_(dir), hooks_(std::move(hooks)) {
  if (!hooks_.has_room) hooks_.has_room = [this] { return has_room(dir_); };
}

bool DiskFullWatch::has_room(const std::string& dir) {
  struct statvfs v {};
  if (::statvfs(dir.c_str(), &v) != 0) return true;  // cannot tell: try the write
  return static_cast<uint64_t>(v.f_bavail) * v.f_frsize >= kEnoughRoom;
}

void DiskFullWatch::attach(sd_event* ev) {
  ev_ = ev;
  sd_event_source* s = nullptr;
  if (sd_event_add_time(ev, &s, CLOCK_MONOTONIC, UINT64_MAX, 100000, on_retry_cb, this) < 0) return;
  retry_.reset(s);
  sd_event_source_set_enabled(s, SD_EVENT_OFF);
}

void DiskFullWatch::failed() {
  ++failures_;
  if (since_) return;
  since_ = hooks_.now();
  spdlog::error(
      "state.db: the disk under \"{}\" is full: events that cannot be stored are not acknowledged (their wrappers "
      "spool them); looking for space every {} s",
      dir_, kRetryUsec / 1000000);
  sd_notifyf(0, "STATUS=disk full under %s: waiting for space", dir_.c_str());
  if (retry_) arm_once_in(ev_, retry_.get(), kRetryUsec);
}

void DiskFullWatch::ok() {
  if (!since_) return;
  // A small commit can fit in pages state.db already holds while the disk is still full: the space
  // is back only when the disk has room again (else the log would say full, back, full, ...).
  if (!hooks_.has_room()) return;
  space_is_back();
}

void DiskFullWatch::space_is_back() {
  spdlog::warn("state.db: disk space is back after {} ({} transactions failed meanwhile); reading the spool",
               format_duration(std::chrono::duration_cast<std::chrono::seconds>(hooks_.now() - *since_)), failures_);
  since_.reset();
  failures_ = 0;
  if (retry_) sd_event_source_set_enabled(retry_.get(), SD_EVENT_OFF);
  hooks_.space_back();
}

bool DiskFullWatch::retry() {
  if (!since_) return true;
  if (hooks_.has_room()) {
    // A real write (the host row) proves the space: a commit without changes writes nothing.
    const Write w = hooks_.prove_write();
    if (w == Write::kFull) ++failures_;
    if (w == Write::kOk) {
      ok();
      hooks_.retried();
      return true;
    }
  }
  if (retry_) arm_once_in(ev_, retry_.get(), kRetryUsec);
  return false;
}

bool DiskFullWatch::retry_armed() const {
  int enabled = SD_EVENT_OFF;
  return retry_ && sd_event_source_get_enabled(retry_.get(), &enabled) >= 0 && enabled != SD_EVENT_OFF;
}

int DiskFullWatch::on_retry_cb(sd_event_source*, uint64_t, void* ud) {
  static_cast<DiskFullWatch*>(ud)->retry();
  return 0;
}

}  // namespace cronitor::agent
