#include "agent/sources/run_sources.h"

#include <nlohmann/json.hpp>

namespace cronitor::agent {

void RunSources::configure() {
  for (auto& e : sources_) e.source->configure(env_);
}

void RunSources::attach(sd_event* ev) {
  env_.ev = ev;
  for (auto& e : sources_) e.source->attach(env_);
}

void RunSources::start() {
  for (auto& e : sources_) e.source->start(env_);
}

void RunSources::stop() {
  for (auto& e : sources_) e.source->stop();
}

void RunSources::status(nlohmann::json& reply) const {
  for (const auto& e : sources_) e.source->status(reply);
}

}  // namespace cronitor::agent
