// RunSources: the registry of the daemon's sources of runs and host facts. The core registers
// each source once (one line in its list) and drives them all through RunSource's lifecycle
// (agent/sources/run_source.h), in the order registered; a call the core makes on one source
// alone (tell the process events which pid cron has) goes through the typed lookup, find<S>():
// a source is registered by its own class, and found by it.
// It owns the sources: they end with it, after stop().
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <type_traits>
#include <utility>
#include <vector>

#include "agent/sources/run_source.h"

namespace cronitor::agent {

class RunSources {
 public:
  explicit RunSources(SourceEnv env) : env_(std::move(env)) {}
  RunSources(const RunSources&) = delete;
  RunSources& operator=(const RunSources&) = delete;

  /// Registers `source` (one of each class, found by find<S>() as that class); the lifecycle
  /// steps already taken are not replayed, so the core registers every source before it
  /// configures them.
  template <class S>
  S& add(std::unique_ptr<S> source) {
    static_assert(std::is_base_of_v<RunSource, S> && !std::is_same_v<S, RunSource>,
                  "a source is registered by its own class: find<S>() looks it up by that class");
    S& s = *source;
    sources_.push_back({tag<S>(), std::move(source)});
    return s;
  }

  /// The lifecycle (run_source.h), each step to every source in the order registered.
  void configure();
  void attach(sd_event* ev);  // the loop is made: SourceEnv::ev from now on
  void start();
  void stop();
  /// Every source's keys of `status --json`, set in `reply`.
  void status(nlohmann::json& reply) const;

  /// The source registered as class `S`, or null. A walk of a few entries comparing one pointer
  /// each: cheap enough for a call per run event (the OOM verdict).
  template <class S>
  S* find() const {
    for (const auto& e : sources_)
      if (e.tag == tag<S>()) return static_cast<S*>(e.source.get());
    return nullptr;
  }
  size_t size() const { return sources_.size(); }
  const SourceEnv& env() const { return env_; }

 private:
  // One address per class: the class a source was registered as (no RTTI, no string compare).
  // Not const: a constant could share its address with another class's.
  template <class S>
  static const void* tag() {
    static char mark;
    return &mark;
  }
  struct Entry {
    const void* tag;
    std::unique_ptr<RunSource> source;
  };

  SourceEnv env_;
  std::vector<Entry> sources_;
};

}  // namespace cronitor::agent
