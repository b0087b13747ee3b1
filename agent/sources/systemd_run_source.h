// The systemd manager's timers (agent/sources/systemd_watch.h) as a run source: made on the real
// bus when the daemon runs (after the late events and the gap's runs, before the clock's first
// deadlines: a slot that passed while the host was off may have been served), when the config
// discovers systemd timers. Its runs go to the core's sink; what the manager tells of its timers
// goes to the core's handler.
#pragma once

#include <memory>

#include "agent/sources/run_source.h"
#include "agent/sources/systemd_watch.h"

namespace cronitor::agent {

class SystemdRunSource final : public OwnedWatchSource<SystemdWatch> {
 public:
  /// `handler`: the core's, but for on_runs (the sink's).
  explicit SystemdRunSource(SystemdWatch::Handler handler) : handler_(std::move(handler)) {}

  void start(const SourceEnv& env) override;
  /// "systemd": the timers observed live, or why not (null: systemd discovery is off).
  void status(nlohmann::json& reply) const override;

 private:
  SystemdWatch::Handler handler_;
};

}  // namespace cronitor::agent
