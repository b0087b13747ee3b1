#include "agent/daemon/host_record.h"

namespace cronitor::agent {

void HostRecord::load(StateStore& store) {
  if (auto h = store.host()) state_ = *h;
  previous_run_ = state_;
}

Result<void> HostRecord::flush(StateStore& store, Instant now) {
  if (!dirty_) return {};
  dirty_ = false;
  state_.last_seen = now;  // every host save is a sign of life (report_downtime)
  return store.save_host(state_);
}

Result<void> HostRecord::save(StateStore& store) const { return store.save_host(state_); }

void HostRecord::reread(StateStore& store) {
  if (auto h = store.host()) state_ = *h;
}

}  // namespace cronitor::agent
