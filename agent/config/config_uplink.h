// Parsing of the `uplink:`, `prometheus:` and `dashboard:` sections of agent.yaml (agent/config/config.cpp calls
// these); errors go to the document's one collector (yaml_errors.h).
#pragma once

#include <yaml-cpp/yaml.h>

#include "agent/config/config.h"
#include "agent/config/yaml_errors.h"

namespace cronitor::agent {

void parse_uplink(const YAML::Node& n, uplink::UplinkSettings& out, YamlErrors& errors);
/// The `dashboard:` section: listen (HOST:PORT; absent: no dashboard) and allow_remote (a
/// non-loopback listen is an error without it).
void parse_dashboard(const YAML::Node& n, std::string& listen, bool& allow_remote, YamlErrors& errors);
void parse_prometheus(const YAML::Node& n, uplink::PrometheusSettings& out, YamlErrors& errors);

}  // namespace cronitor::agent
