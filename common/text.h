// Small text helpers shared by the parsers of agent.yaml values, `# cronitor:` comments and the
// kernel's "name value" files (memory.events, /proc/vmstat).
#pragma once

#include <cctype>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>

namespace cronitor {

/// `s` without leading and trailing whitespace (isspace: blanks, tabs, newlines, CR).
inline std::string_view trim_space(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

/// The number after "name " at the start of a line of `text` ("oom_kill 2" in memory.events).
inline std::optional<uint64_t> keyed_number(std::string_view text, std::string_view name) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (line.size() > name.size() && line.starts_with(name) && line[name.size()] == ' ') {
      uint64_t v = 0;
      auto num = line.substr(name.size() + 1);
      if (std::from_chars(num.data(), num.data() + num.size(), v).ec == std::errc()) return v;
      return std::nullopt;
    }
    pos = end + 1;
  }
  return std::nullopt;
}

}  // namespace cronitor
