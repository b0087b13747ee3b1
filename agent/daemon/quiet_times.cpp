#include "agent/daemon/quiet_times.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "agent/sources/shutdown_watch.h"
#include "schedule/iso8601.h"

namespace cronitor::agent {
namespace {

std::string quiet_times_iso(Instant t) {
  return schedule::format_iso8601(std::chrono::floor<std::chrono::seconds>(t), schedule::Zone::utc());
}

}  // namespace

QuietTimes::QuietTimes(const Clock& clock, HostRecord& host, Hooks hooks)
    : clock_(clock), host_(host), hooks_(std::move(hooks)) {}

QuietTimes::~QuietTimes() = default;

void QuietTimes::start(sd_event* ev, bool watch_logind) {
  ev_ = ev;
  sd_event_source* s = nullptr;
  sd_event_add_time_relative(ev, &s, CLOCK_MONOTONIC, kHeartbeatUsec, kHeartbeatUsec / 6, on_heartbeat_cb, this);
  heartbeat_.reset(s);
  s = nullptr;
  sd_event_add_time(ev, &s, CLOCK_REALTIME, UINT64_MAX, 1000, on_snooze_cb, this);
  snooze_.reset(s);
  sd_event_source_set_enabled(snooze_.get(), SD_EVENT_OFF);
  arm_snooze();
  if (!watch_logind) return;
  shutdown_ = std::make_unique<ShutdownWatch>(ev, [this](bool active) { on_shutdown_signal(active); });
  shutdown_->start();
}

void QuietTimes::stop() {
  heartbeat_.reset();
  snooze_.reset();
  shutdown_.reset();
}

bool QuietTimes::quiet(Instant t) const {
  return shutting_down_ || (host_.state().snoozed_until && t < *host_.state().snoozed_until);
}

int QuietTimes::on_heartbeat_cb(sd_event_source* s, uint64_t, void* ud) {
  auto* q = static_cast<QuietTimes*>(ud);
  q->host_.changed();  // the save stamps last_seen
  q->hooks_.save();
  arm_once_in(q->ev_, s, kHeartbeatUsec);
  return 0;
}

void QuietTimes::on_stop_signal() {
  // The unit's SIGTERM during a shutdown: systemd says "stopping" (a plain `systemctl stop` does not).
  if (!shutting_down_ && shutdown_ && shutdown_->system_stopping()) {
    spdlog::info("the system is stopping: recording the host's shutdown");
    shutting_down_ = true;
    host_.state().shutdown_at = clock_.now();
  }
  host_.changed();  // last_seen, stamped at the final save
}

void QuietTimes::on_shutdown_signal(bool active) {
  const Instant t = clock_.now();
  if (active == shutting_down_) return;
  shutting_down_ = active;
  if (active) {
    host_.state().shutdown_at = t;
    spdlog::info("host shutting down at {}: alerts are recorded, not sent; the time until the next boot is downtime",
                 quiet_times_iso(t));
  } else {
    host_.state().shutdown_at.reset();
    spdlog::info("the shutdown was cancelled: alerting again");
  }
  host_.changed();
  hooks_.save();
}

void QuietTimes::arm_snooze() {
  const auto& until = host_.state().snoozed_until;
  clock_.arm_timer(snooze_.get(), until && *until != Instant::max() ? until : std::nullopt);  // max: no end
}

int QuietTimes::on_snooze_cb(sd_event_source*, uint64_t, void* ud) {
  static_cast<QuietTimes*>(ud)->hooks_.snooze_due();
  return 0;
}

}  // namespace cronitor::agent
