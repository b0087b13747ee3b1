// Parsing of the `uplink:` and `prometheus:` sections of agent.yaml (agent/config/config.cpp calls these).
#pragma once

#include <yaml-cpp/yaml.h>

#include "agent/config/config.h"

namespace cronitor::agent {

void parse_uplink(const YAML::Node& n, const std::string& file, uplink::UplinkSettings& out, ConfigErrors& errors);
void parse_prometheus(const YAML::Node& n, const std::string& file, uplink::PrometheusSettings& out,
                      ConfigErrors& errors);

}  // namespace cronitor::agent
