// Small text helpers shared by the parsers of agent.yaml values, `# cronitor:` comments and the
// kernel's "name value" files (memory.events, /proc/vmstat), and the one escaping function for
// text a user can name (job names, commands, output, file names) on a terminal or in the log.
#pragma once

#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace cronitor {

/// `s` safe to print to a terminal or a log line: valid UTF-8 is kept, except what a terminal
/// acts on or what reorders text. ESC is `\e`; newline, CR and tab `\n`, `\r`, `\t`; other C0
/// controls, DEL and bytes that are not UTF-8 `\xNN`; C1 controls, U+2028/2029 and the bidi
/// overrides `\uNNNN`. Backslashes stay as they are (cron commands are full of them).
[[nodiscard]] std::string escape_text(std::string_view s);

/// Text of several lines (a diff, a message) escaped line by line: its newlines are kept.
[[nodiscard]] std::string escape_lines(std::string_view s);

/// The longest prefix of `s` of at most `max_bytes` that does not end inside a UTF-8 sequence.
[[nodiscard]] std::string_view cut_utf8(std::string_view s, size_t max_bytes);

/// `s` with every byte that is not part of a valid UTF-8 sequence replaced by U+FFFD.
[[nodiscard]] std::string replace_invalid_utf8(std::string_view s);

/// `s` without leading and trailing whitespace (isspace: blanks, tabs, newlines, CR).
inline std::string_view trim_space(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

/// A blank as cron and unit files have them: a space or a tab.
inline bool is_blank(char c) { return c == ' ' || c == '\t'; }

/// A line's text without leading blanks and without trailing blanks and CRs (DOS line ends).
inline std::string_view trim_blank(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && (is_blank(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

/// `s` with ASCII letters in lower case (keywords, month and day names: no locale).
inline std::string ascii_lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// Whether `a` and `b` are equal but for the case of ASCII letters.
inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

/// `s` between double quotes, as error messages show what was read: nothing escaped.
inline std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

/// "SIGTERM" for a signal number, "signal 70" for one without a name.
inline std::string signal_name(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

/// The whole of `s` as a number of type T (std::from_chars: digits, and a leading '-' for signed
/// types); nullopt when it is empty, has anything else or does not fit.
template <typename T>
std::optional<T> whole_number(std::string_view s) {
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
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
