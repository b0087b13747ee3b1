#include "discovery/crontab_rewriter.h"

#include <algorithm>

#include "discovery/cron_command.h"

namespace cronitor::discovery {

namespace {

struct Splice {
  std::size_t begin;
  std::size_t end;
  std::string replacement;
};

std::string apply_splices(std::string_view text, const std::vector<Splice>& splices) {
  std::string out;
  out.reserve(text.size() + splices.size() * 48);
  std::size_t pos = 0;
  for (const Splice& s : splices) {
    out.append(text.substr(pos, s.begin - pos));
    out.append(s.replacement);
    pos = s.end;
  }
  out.append(text.substr(pos));
  return out;
}

std::vector<std::string_view> split_lines(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (pos < s.size()) {
    std::size_t eol = s.find('\n', pos);
    if (eol == std::string_view::npos) {
      out.push_back(s.substr(pos));
      break;
    }
    out.push_back(s.substr(pos, eol - pos + 1));  // keeps '\n' to see a missing final newline
    pos = eol + 1;
  }
  return out;
}

void emit_line(std::string& out, char tag, std::string_view line) {
  out += tag;
  if (line.ends_with('\n')) {
    out.append(line);
  } else {
    out.append(line);
    out += "\n\\ No newline at end of file\n";
  }
}

}  // namespace

Rewrite wrap_crontab(std::string_view text, CrontabFormat format, std::string_view file,
                     const std::map<int, std::string>& keys, std::string_view exec_path) {
  Rewrite out;
  const ParsedCrontab parsed = parse_crontab(text, format, file);
  std::vector<Splice> splices;
  for (const CrontabEntry& e : parsed.entries) {
    if (e.disabled) continue;
    const auto key = keys.find(e.line);
    if (key == keys.end()) continue;
    if (parse_wrapped(e.command)) continue;
    if (!posix_shell(e.env.shell)) {
      out.skipped.push_back(Warning{std::string(file), e.line,
                                    "SHELL=" + e.env.shell + " is not a POSIX shell, leaving the line as it is"});
      continue;
    }
    auto wrapped = wrap_command(e.command, key->second, exec_path);
    if (!wrapped) {
      out.skipped.push_back(
          Warning{std::string(file), e.line, wrapped.error().message + ", leaving the line as it is"});
      continue;
    }
    splices.push_back(Splice{e.command_begin, e.command_end, std::move(*wrapped)});
    out.changes.push_back(LineChange{e.line, key->second});
  }
  out.text = apply_splices(text, splices);
  return out;
}

Rewrite unwrap_crontab(std::string_view text, CrontabFormat format, std::string_view file) {
  Rewrite out;
  const ParsedCrontab parsed = parse_crontab(text, format, file);
  std::vector<Splice> splices;
  for (const CrontabEntry& e : parsed.entries) {
    auto w = parse_wrapped(e.command);
    if (!w) continue;
    splices.push_back(Splice{e.command_begin, e.command_end, unwrap_command(*w)});
    out.changes.push_back(LineChange{e.line, w->key});
  }
  out.text = apply_splices(text, splices);
  return out;
}

std::string unified_diff(std::string_view before, std::string_view after, std::string_view path) {
  const auto a = split_lines(before);
  const auto b = split_lines(after);
  const std::size_t n = std::min(a.size(), b.size());
  std::vector<std::size_t> changed;
  for (std::size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) changed.push_back(i);
  }
  if (changed.empty() && a.size() == b.size()) return {};
  std::string out = "--- a" + std::string(path) + "\n+++ b" + std::string(path) + "\n";
  constexpr std::size_t kContext = 3;
  std::size_t i = 0;
  while (i < changed.size()) {
    // Lines changed within 2 * context of each other share a hunk.
    std::size_t j = i;
    while (j + 1 < changed.size() && changed[j + 1] - changed[j] <= 2 * kContext) ++j;
    const std::size_t first = changed[i] >= kContext ? changed[i] - kContext : 0;
    const std::size_t last = std::min(n, changed[j] + kContext + 1);
    out += "@@ -" + std::to_string(first + 1) + "," + std::to_string(last - first) + " +" + std::to_string(first + 1) +
           "," + std::to_string(last - first) + " @@\n";
    std::size_t k = i;
    for (std::size_t line = first; line < last;) {
      if (k <= j && changed[k] == line) {
        // A run of consecutive changed lines: all old lines, then all new ones.
        std::size_t run = k;
        while (run + 1 <= j && changed[run + 1] == changed[run] + 1) ++run;
        for (std::size_t r = k; r <= run; ++r) emit_line(out, '-', a[changed[r]]);
        for (std::size_t r = k; r <= run; ++r) emit_line(out, '+', b[changed[r]]);
        line = changed[run] + 1;
        k = run + 1;
      } else {
        emit_line(out, ' ', a[line]);
        ++line;
      }
    }
    i = j + 1;
  }
  return out;
}

}  // namespace cronitor::discovery
