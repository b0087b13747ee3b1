// The one collector of agent.yaml's errors. Every section's parser (config.cpp for the top level,
// discovery, defaults, notify and monitors; config_uplink.cpp for uplink, prometheus and dashboard)
// reports through it, so that every error names the file and the line (and column) of the node it
// is about, and the whole document's errors are collected in one list.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

#include "agent/config/config.h"

namespace cronitor::agent {

/// Collects the errors of one YAML document, each tied to the node it is about.
class YamlErrors {
 public:
  explicit YamlErrors(std::string file) : file_(std::move(file)) {}

  /// An error about `at`; a node without a position (an undefined one) gives line 0: the file only.
  void add(const YAML::Node& at, const std::string& key, std::string message) {
    add(at.IsDefined() ? at.Mark() : YAML::Mark::null_mark(), key, std::move(message));
  }
  /// An error at a position yaml-cpp reported (its parse exception carries a mark, not a node).
  void add(const YAML::Mark& at, const std::string& key, std::string message) {
    const bool known = !at.is_null() && at.line >= 0;
    errors_.push_back(ConfigError{file_, known ? at.line + 1 : 0, key, std::move(message), known ? at.column + 1 : 0});
  }

  const std::string& file() const { return file_; }
  bool empty() const { return errors_.empty(); }
  const ConfigErrors& list() const { return errors_; }
  ConfigErrors take() { return std::exchange(errors_, {}); }

 private:
  std::string file_;
  ConfigErrors errors_;
};

}  // namespace cronitor::agent
