#include "agent/sources/systemd_run_source.h"

#include <nlohmann/json.hpp>

#include "agent/sources/sd_systemd_bus.h"
#include "agent/sources/systemd_host.h"

namespace cronitor::agent {

void SystemdRunSource::start(const SourceEnv& env) {
  if (!env.config.discovery.systemd || watch_) return;
  SystemdWatch::Handler h = handler_;
  h.on_runs = [&sink = env.sink](std::vector<cronitor::RunEvent> events) { sink.take_runs(std::move(events)); };
  SystemdWatch::Options options;
  watch_ = std::make_unique<SystemdWatch>(std::make_unique<SdSystemdBus>(env.ev, options.call_timeout_usec),
                                          SystemdHost::real(env.ev), env.host, std::move(h), options);
  watch_->start();
}

void SystemdRunSource::status(nlohmann::json& reply) const {
  using nlohmann::json;
  json timers = nullptr;
  if (watch_)
    timers = {{"live", watch_->live()},
              {"why_not", watch_->live() ? json() : json(watch_->why_not())},
              {"timers", watch_->timer_count()}};
  reply["systemd"] = timers;
}

}  // namespace cronitor::agent
