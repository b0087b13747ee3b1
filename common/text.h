// Small text helpers shared by the parsers of agent.yaml values and `# cronitor:` comments.
#pragma once

#include <cctype>
#include <string_view>

namespace cronitor {

/// `s` without leading and trailing whitespace (isspace: blanks, tabs, newlines, CR).
inline std::string_view trim_space(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace cronitor
