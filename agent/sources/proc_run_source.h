// The process events (agent/sources/proc_watch.h) as a run source: made when the config observes
// cron's jobs (observe: not off, with crontabs discovered), before the monitors are built (the
// jobs it reports are not "unreported"), and closed when a reload turns it off. A connector that
// cannot be opened leaves it there but not live: status says why, and the agent keeps its other
// sources.
#pragma once

#include <memory>

#include "agent/sources/proc_job_matcher.h"
#include "agent/sources/proc_watch.h"
#include "agent/sources/run_source.h"

namespace cronitor::agent {

class ProcRunSource final : public OwnedWatchSource<ProcWatch> {
 public:
  /// `handler`: the core's (the runs, the wrapper's reports, a loss); `due`: whether a job's slot
  /// is in the minute cron started a run (two lines with one command and user).
  ProcRunSource(ProcWatch::Handler& handler, ProcJobMatcher::Due due) : handler_(handler), due_(std::move(due)) {}

  void configure(const SourceEnv& env) override;
  void attach(const SourceEnv& env) override;
  /// "process_events": followed, or why not (observe: off: null).
  void status(nlohmann::json& reply) const override;

 private:
  ProcWatch::Handler& handler_;
  ProcJobMatcher::Due due_;
};

}  // namespace cronitor::agent
