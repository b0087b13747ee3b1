// Parsing of the `uplink:`, `prometheus:` and `dashboard:` sections of agent.yaml (agent/config/config.cpp calls
// these).
#pragma once

#include <yaml-cpp/yaml.h>

#include "agent/config/config.h"

namespace cronitor::agent {

void parse_uplink(const YAML::Node& n, const std::string& file, uplink::UplinkSettings& out, ConfigErrors& errors);
/// The `dashboard:` section: listen (HOST:PORT; absent: no dashboard) and allow_remote (a
/// non-loopback listen is an error without it).
void parse_dashboard(const YAML::Node& n, const std::string& file, std::string& listen, bool& allow_remote,
                     ConfigErrors& errors);
void parse_prometheus(const YAML::Node& n, const std::string& file, uplink::PrometheusSettings& out,
                      ConfigErrors& errors);

}  // namespace cronitor::agent
