// A source of runs or host facts as the daemon's core sees it: what the core gives every source
// (SourceEnv: the loop, the config in force, the host's name, the clock, and RunSink, where runs
// go) and the lifecycle every source goes through (RunSource), driven by the registry of them all
// (agent/sources/run_sources.h). What one source needs of the core beyond this (the monitors, the
// transaction) is the handler its class already takes; what the core calls on one source alone,
// it reaches through the registry's typed lookup.
#pragma once

#include <systemd/sd-event.h>

#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "agent/config/config.h"
#include "agent/eval/run_event.h"
#include "common/event.h"

namespace cronitor::agent {

/// Where a source's runs go: the core's next transaction, as if a wrapper had sent them.
class RunSink {
 public:
  virtual ~RunSink() = default;
  /// Run events, oldest first, ingested as root's (the agent's own).
  virtual void take_runs(std::vector<cronitor::RunEvent> events) = 0;
};

/// What the core gives every source. The references stay valid as long as the registry: the
/// config and the host's name are the core's own, assigned anew on a reload.
struct SourceEnv {
  sd_event* ev = nullptr;  // the loop; null until the core makes it (attach)
  const Config& config;    // the config in force
  const std::string& host;
  std::function<Instant()> now;  // the core's wall clock (simulated in tests)
  RunSink& sink;
};

/// One source's lifecycle, in the order the core calls it: configure (at start and on every
/// reload), attach (the loop is made), start (the daemon runs), stop (the daemon ends). Each step
/// is optional: a source overrides those it needs.
class RunSource {
 public:
  virtual ~RunSource() = default;
  /// The config is read (at start, before the loop, and after each reload, before the monitors
  /// are built from it): a source the config turns on or off is made or closed here.
  virtual void configure(const SourceEnv& /*env*/) {}
  /// The loop exists (`env.ev`): the source puts its event sources on it.
  virtual void attach(const SourceEnv& /*env*/) {}
  /// The daemon runs: the late events and the gap's runs are in, the clock's deadlines next.
  virtual void start(const SourceEnv& /*env*/) {}
  /// The daemon ends: event sources and descriptors closed, before state.db is.
  virtual void stop() {}
  /// Its keys of `status --json`'s reply (e.g. "process_events"); none by default.
  virtual void status(nlohmann::json& /*reply*/) const {}
};

/// A source that is one watch, made and closed as the config or the daemon says (the process
/// events, systemd's timers, cron's log): it owns the watch, closes it at stop, and lends it to
/// the core.
template <class Watch>
class OwnedWatchSource : public RunSource {
 public:
  void stop() override { watch_.reset(); }
  /// The watch; null while there is none (off, not made yet, or it could not be opened).
  Watch* watch() const { return watch_.get(); }
  /// The watch while it is live (its connector open, a manager answering); else null.
  Watch* live() const { return watch_ && watch_->live() ? watch_.get() : nullptr; }

 protected:
  std::unique_ptr<Watch> watch_;
};

}  // namespace cronitor::agent
