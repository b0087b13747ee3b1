// The default agent.yaml, compiled in so the agent runs on a host without /etc/cronitor/agent.yaml.
#include "agent/config/config.h"

namespace cronitor::agent {

std::string_view embedded_default_config() {
  static constexpr std::string_view kText =
#include "default_config.inc"
      ;
  return kText;
}

}  // namespace cronitor::agent
