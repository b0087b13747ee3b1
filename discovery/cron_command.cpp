#include "discovery/cron_command.h"

#include <array>

#include "common/text.h"

namespace cronitor::discovery {

namespace {

std::string_view basename_of(std::string_view word) {
  const auto slash = word.rfind('/');
  return slash == std::string_view::npos ? word : word.substr(slash + 1);
}

bool key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '.' || c == ':';
}

bool plain_word(std::string_view w) {
  if (w.empty()) return false;
  for (char c : w) {
    if (!key_char(c) && c != '/' && c != '=' && c != ',' && c != '+') return false;
  }
  return true;
}

// Splits off the next blank-separated word starting at `pos` (no quote handling: only used for
// the plain words of the wrapper prefix).
std::string_view next_word(std::string_view s, std::size_t& pos) {
  while (pos < s.size() && is_blank(s[pos])) ++pos;
  const std::size_t start = pos;
  while (pos < s.size() && !is_blank(s[pos])) ++pos;
  return s.substr(start, pos - start);
}

// Reads a shell word made of single-quoted pieces joined by \' (what shell_single_quote writes)
// at s[pos]; returns the unquoted text and advances pos, or nullopt if the word is not that form.
std::optional<std::string> read_single_quoted(std::string_view s, std::size_t& pos) {
  std::string out;
  std::size_t p = pos;
  bool any = false;
  while (p < s.size()) {
    if (s[p] == '\'') {
      const auto close = s.find('\'', p + 1);
      if (close == std::string_view::npos) return std::nullopt;
      out.append(s.substr(p + 1, close - p - 1));
      p = close + 1;
      any = true;
    } else if (s[p] == '\\' && p + 1 < s.size() && s[p + 1] == '\'') {
      out += '\'';
      p += 2;
      any = true;
    } else {
      break;
    }
  }
  if (!any) return std::nullopt;
  pos = p;
  return out;
}

}  // namespace

std::size_t find_stdin_split(std::string_view command) {
  bool escaped = false;
  for (std::size_t i = 0; i < command.size(); ++i) {
    const char c = command[i];
    if (escaped) {
      escaped = false;
      continue;
    }
    if (c == '\\') {
      escaped = true;
    } else if (c == '%') {
      return i;
    }
  }
  return std::string_view::npos;
}

std::string shell_command(std::string_view command) {
  const std::size_t split = find_stdin_split(command);
  const std::string_view head = command.substr(0, split);
  std::string out;
  out.reserve(head.size());
  for (std::size_t i = 0; i < head.size(); ++i) {
    if (head[i] == '\\' && i + 1 < head.size()) {
      if (head[i + 1] == '%') {
        out += '%';
      } else {
        out += head[i];
        out += head[i + 1];
      }
      ++i;
      continue;
    }
    out += head[i];
  }
  return out;
}

std::string stdin_text(std::string_view command) {
  const std::size_t split = find_stdin_split(command);
  if (split == std::string_view::npos) return {};
  std::string out;
  bool escaped = false;
  for (std::size_t i = split + 1; i < command.size(); ++i) {
    char c = command[i];
    if (escaped) {
      if (c != '%') out += '\\';
    } else if (c == '%') {
      c = '\n';
    }
    escaped = c == '\\';
    if (!escaped) out += c;
  }
  if (escaped) out += '\\';
  return out;
}

std::string shell_single_quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += '\'';
  return out;
}

bool posix_shell(std::string_view shell) {
  static constexpr std::array<std::string_view, 8> kShells = {"sh",   "bash", "dash", "ksh",
                                                              "mksh", "zsh",  "ash",  "busybox"};
  const std::string_view base = basename_of(shell);
  for (std::string_view s : kShells) {
    if (base == s) return true;
  }
  return false;
}

std::optional<WrappedCommand> parse_wrapped(std::string_view command) {
  std::size_t pos = 0;
  const std::string_view first = next_word(command, pos);
  const std::string_view base = basename_of(first);
  // cronitor-cli's `cronitor exec KEY` reports to Cronitor itself, not to this agent: it is an
  // upstream's instrumentation (instrumented.h), which `unwrap` must leave alone.
  const bool cli_form = false;
  if (base != "cronitor-exec") return std::nullopt;
  if (!plain_word(first)) return std::nullopt;
  WrappedCommand w;
  bool seen_exec = !cli_form;
  bool canonical_prefix = !cli_form;
  for (;;) {
    std::size_t save = pos;
    const std::string_view word = next_word(command, pos);
    if (word.empty()) return std::nullopt;
    if (!seen_exec && word == "exec") {
      seen_exec = true;
      continue;
    }
    if (word.size() > 1 && word[0] == '-' && word != "--") {
      canonical_prefix = false;
      continue;
    }
    if (!seen_exec) return std::nullopt;
    bool ok = true;
    for (char c : word) ok = ok && key_char(c);
    if (!ok) return std::nullopt;
    w.key = std::string(word);
    // An optional "--", then the command.
    save = pos;
    const std::string_view dashdash = next_word(command, pos);
    if (dashdash != "--") {
      pos = save;
      canonical_prefix = false;
    }
    break;
  }
  while (pos < command.size() && is_blank(command[pos])) ++pos;
  const std::size_t body = pos;
  if (body >= command.size()) return std::nullopt;
  if (command[body] == '\'') {
    std::size_t p = body;
    if (auto inner = read_single_quoted(command, p)) {
      const std::string_view tail = command.substr(p);
      std::size_t t = 0;
      while (t < tail.size() && is_blank(tail[t])) ++t;
      if (t == tail.size() || tail[t] == '%') {
        w.inner = std::move(*inner);
        w.rest = std::string(tail);
        w.canonical = canonical_prefix && command.substr(body, p - body) == shell_single_quote(w.inner) &&
                      (tail.empty() || tail[0] == '%' || is_blank(tail[0]));
        return w;
      }
    }
  }
  // A hand-written form: the rest of the line, unquoted, up to cron's stdin split.
  const std::string_view rest = command.substr(body);
  const std::size_t split = find_stdin_split(rest);
  std::string_view inner = rest.substr(0, split);
  if (cli_form && inner.size() >= 2 && inner.front() == '"' && inner.back() == '"') {
    inner = inner.substr(1, inner.size() - 2);
  }
  w.inner = std::string(inner);
  w.rest = split == std::string_view::npos ? std::string() : std::string(rest.substr(split));
  return w;
}

Result<std::string> wrap_command(std::string_view command, std::string_view key, std::string_view exec_path) {
  std::size_t split = find_stdin_split(command);
  std::string_view head = command.substr(0, split);
  std::string_view tail = split == std::string_view::npos ? std::string_view() : command.substr(split);
  // Trailing blanks of the command stay outside the quotes (the outer shell drops them).
  std::size_t end = head.size();
  while (end > 0 && is_blank(head[end - 1])) --end;
  const std::string_view blanks = head.substr(end);
  head = head.substr(0, end);
  if (head.empty()) return fail("empty command");
  std::string out(exec_path);
  out += ' ';
  out += key;
  out += " -- ";
  out += shell_single_quote(head);
  out += blanks;
  out += tail;
  if (out.size() > kCronMaxCommand) {
    return fail("the wrapped command would be " + std::to_string(out.size()) + " bytes, over cron's limit of " +
                std::to_string(kCronMaxCommand));
  }
  return out;
}

std::string unwrap_command(const WrappedCommand& w) { return w.inner + w.rest; }

}  // namespace cronitor::discovery
