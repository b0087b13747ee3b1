#include "agent/daemon/run_retention.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

namespace cronitor::agent {

RunRetention::RunRetention(const Config& config, StateStore& store, std::function<Instant()> now)
    : config_(config), store_(store), now_(std::move(now)) {}

void RunRetention::attach(sd_event* ev) {
  ev_ = ev;
  sd_event_source* s = nullptr;
  if (sd_event_add_time_relative(ev, &s, CLOCK_MONOTONIC, kPruneEveryUsec, 60000000, on_prune_cb, this) >= 0)
    timer_.reset(s);
}

void RunRetention::stored(const MonitorConfig& m) {
  ++events_stored_;
  uint32_t& n = runs_since_prune_[m.key];
  if (++n < kPruneEveryRuns) return;
  n = 0;
  int keep = config_.retention.runs;
  // A key nothing defines (not in the index before its first run: source_file empty) of a user.
  if (m.uid != 0 && m.source_file.empty()) keep = std::min(keep, kAdhocRunsPerKey);
  if (auto r = store_.prune_key(m.key, keep); !r)
    spdlog::warn("retention: pruning the runs of {}: {}", m.key, r.error().message);
}

void RunRetention::prune_all() {
  if (store_.begin()) {
    (void)store_.prune(config_.retention.runs, config_.retention.days, now_());
    (void)store_.commit();
  }
}

int RunRetention::on_prune_cb(sd_event_source* s, uint64_t, void* ud) {
  auto* r = static_cast<RunRetention*>(ud);
  r->prune_all();
  arm_once_in(r->ev_, s, kPruneEveryUsec);
  return 0;
}

}  // namespace cronitor::agent
