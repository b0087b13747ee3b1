// Cron's own log (agent/sources/cron_log_watch.h) as a run source: opened once the loop is made,
// when crontabs are discovered and discovery.cron_log is not off; a journal is read from the
// agent's last sign of life (the runs of the gap are recovered at start). Its runs go to the
// core's sink; which jobs it observes, and what its CMD lines tell the process events, are the
// core's hooks.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "agent/sources/cron_log_watch.h"
#include "agent/sources/run_source.h"

namespace cronitor::agent {

class CronLogRunSource final : public OwnedWatchSource<CronLogWatch> {
 public:
  struct Hooks {
    /// Where the host's paths are: "" for the host itself; nullopt: discovery is off.
    std::function<std::optional<std::string>()> host_root;
    /// The agent's last sign of life before this start (the gap's runs are read from it).
    std::function<std::optional<Instant>()> last_seen;
    /// Every CMD line read (CronLogWatch::set_cmd_observer).
    CronLogWatch::CmdObserver on_cmd;
    /// The log is open: the core tells it the jobs it observes.
    std::function<void(CronLogWatch&)> opened;
  };

  explicit CronLogRunSource(Hooks hooks) : hooks_(std::move(hooks)) {}

  void attach(const SourceEnv& env) override;

 private:
  Hooks hooks_;
};

}  // namespace cronitor::agent
