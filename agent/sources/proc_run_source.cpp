#include "agent/sources/proc_run_source.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

namespace cronitor::agent {

void ProcRunSource::configure(const SourceEnv& env) {
  if (env.config.observe == "off" || !env.config.discovery.crontabs) {
    if (watch_) spdlog::info("process events: off");
    watch_.reset();
    return;
  }
  if (watch_) return;
  watch_ = std::make_unique<ProcWatch>(env.host, handler_);
  if (!watch_->live()) {
    spdlog::warn(
        "process events: {}; runs of cron jobs come from their wrapper and cron's log only (observe: off silences "
        "this)",
        watch_->why_not());
    return;
  }
  watch_->set_due(due_);
  if (env.ev)
    if (auto r = watch_->attach(env.ev); !r) spdlog::warn("process events: {}", r.error().message);
  spdlog::info("process events: following the jobs cron starts (the kernel's connector)");
}

void ProcRunSource::attach(const SourceEnv& env) {
  if (watch_)
    if (auto r = watch_->attach(env.ev); !r) spdlog::warn("process events: {}", r.error().message);
}

void ProcRunSource::status(nlohmann::json& reply) const {
  reply["process_events"] = watch_ ? watch_->status_json() : nlohmann::json();
}

}  // namespace cronitor::agent
