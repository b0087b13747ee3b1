#include "discovery/crontab_rewriter.h"

#include <algorithm>

#include "discovery/adoption_comment.h"
#include "discovery/cron_command.h"
#include "discovery/fs_root.h"
#include "discovery/instrumented.h"

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

// The line before the one holding offset `at`: [begin, end) without its '\n', `next` past it.
// Empty (begin == end == next) for the first line.
struct LineSpan {
  std::size_t begin = 0, end = 0, next = 0;
};
LineSpan line_above(std::string_view text, std::size_t at) {
  const auto nl = at == 0 ? std::string_view::npos : text.rfind('\n', at - 1);
  if (nl == std::string_view::npos) return {};
  const auto prev = nl == 0 ? std::string_view::npos : text.rfind('\n', nl - 1);
  const std::size_t begin = prev == std::string_view::npos ? 0 : prev + 1;
  return LineSpan{begin, nl, nl + 1};
}

struct AdoptedLine {
  Splice comment;  // the settings added to the comment above, or the comment line inserted
  Splice command;
};

// `wrap --adopt` of one line: the command through cronitor-exec, the identity and the original
// command in the `# cronitor:` comment right above (added to one that holds settings already, or
// a line of its own). Checked to come back byte for byte before anything is written.
Result<AdoptedLine> adopt_line(std::string_view text, const CrontabEntry& e, const InstrumentedCommand& ic,
                               std::string_view key, std::string_view exec_path, bool users_own) {
  if (users_own) {
    if (std::string why = user_crontab_refusal(ic.what); !why.empty()) return fail(why);
  }
  auto command = adopt_command(e.command, ic, key, exec_path);
  if (!command) return std::unexpected(command.error());
  const std::string settings = adoption_settings(ic.what, e.command);
  AdoptedLine out;
  out.command = Splice{e.command_begin, e.command_end, *command};
  const LineSpan above = line_above(text, e.command_begin);
  std::string_view prev = text.substr(above.begin, above.end - above.begin);
  std::size_t content_end = prev.size();
  if (content_end > 0 && prev[content_end - 1] == '\r') --content_end;
  std::string_view body = prev.substr(0, content_end);
  while (!body.empty() && (body.front() == ' ' || body.front() == '\t')) body.remove_prefix(1);
  bool extend = false;
  if (above.end > above.begin && body.starts_with('#')) {
    std::string_view rest = body.substr(1);
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
    if (rest.starts_with("cronitor:")) {
      rest.remove_prefix(9);
      while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t')) rest.remove_suffix(1);
      while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
      if (rest == "ignore" || rest.find(" adopted=") != std::string_view::npos || rest.starts_with("adopted="))
        return fail("the comment above is not one settings can be added to");
      extend = !rest.empty();  // a bare "# cronitor:" stays as it is, with a line of ours below it
    }
  }
  // The comment line as it will read, to check that unwrap finds exactly what was there.
  std::string new_prev;
  std::size_t line_start = e.command_begin;
  while (line_start > 0 && text[line_start - 1] != '\n') --line_start;
  if (extend) {
    out.comment = Splice{above.begin + content_end, above.begin + content_end, " " + settings};
    new_prev = std::string(prev.substr(0, content_end)) + " " + settings + std::string(prev.substr(content_end));
  } else {
    out.comment = Splice{line_start, line_start, "# cronitor: " + settings + "\n"};
    new_prev = "# cronitor: " + settings;
  }
  auto back = parse_adoption(new_prev);
  if (!back || back->what.original != e.command || back->whole_line == extend ||
      back->what.setting != ic.what.setting || back->what.id != ic.what.id)
    return fail("its comment would not read back as written");
  auto wrapped = parse_wrapped(*command);
  if (!wrapped || wrapped->key != key) return fail("the adopted line would not read as wrapped");
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
                     const std::map<int, std::string>& keys, std::string_view exec_path, bool adopt) {
  Rewrite out;
  const ParsedCrontab parsed = parse_crontab(text, format, file);
  std::vector<Splice> splices;
  const bool users_own = format == CrontabFormat::kUser && base_of(file) != "root";
  for (const CrontabEntry& e : parsed.entries) {
    if (e.disabled) continue;
    const auto key = keys.find(e.line);
    if (key == keys.end()) continue;
    if (parse_wrapped(e.command)) continue;
    // A line an upstream's own tool already reports is never wrapped a second time; `--adopt`
    // moves it onto cronitor-exec with the same identity.
    const auto instrumented = parse_instrumented(e.command);
    if (instrumented && !adopt) continue;
    if (!posix_shell(e.env.shell)) {
      out.skipped.push_back(Warning{std::string(file), e.line,
                                    "SHELL=" + e.env.shell + " is not a POSIX shell, leaving the line as it is"});
      continue;
    }
    if (instrumented) {
      auto adopted = adopt_line(text, e, *instrumented, key->second, exec_path, users_own);
      if (!adopted) {
        out.skipped.push_back(Warning{std::string(file), e.line,
                                      "not adopted from " + instrumented->what.tool + ": " + adopted.error().message +
                                          ", leaving the line as it is"});
        continue;
      }
      splices.push_back(std::move(adopted->comment));
      splices.push_back(std::move(adopted->command));
      if (const auto& d = instrumented->what.dropped; !d.empty()) {
        std::string list;
        for (const auto& o : d) list += (list.empty() ? "" : ", ") + o;
        out.notes.push_back(Warning{std::string(file), e.line,
                                    "adopted from " + instrumented->what.tool + " without " + list +
                                        ": no setting of this agent carries them (the agent's own uplink settings "
                                        "decide where and what it reports)"});
      }
      out.changes.push_back(LineChange{e.line, key->second});
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
    // An adopted line: its comment holds the command as it was, and the settings `--adopt` added.
    const LineSpan above = line_above(text, e.command_begin);
    if (auto a = parse_adoption(text.substr(above.begin, above.end - above.begin)); a && above.end > above.begin) {
      if (a->whole_line)
        splices.push_back(Splice{above.begin, above.next, ""});
      else
        splices.push_back(Splice{above.begin + a->begin, above.begin + a->end, ""});
      splices.push_back(Splice{e.command_begin, e.command_end, a->what.original});
      out.changes.push_back(LineChange{e.line, w->key});
      continue;
    }
    splices.push_back(Splice{e.command_begin, e.command_end, unwrap_command(*w)});
    out.changes.push_back(LineChange{e.line, w->key});
  }
  out.text = apply_splices(text, splices);
  return out;
}

std::string unified_diff(std::string_view before, std::string_view after, std::string_view path) {
  const auto a = split_lines(before);
  const auto b = split_lines(after);
  if (a == b) return {};
  // An edit script for texts that differ in a few lines (wrapping changes lines in place; `wrap
  // --adopt` inserts a comment line above one, `unwrap` removes it): equal lines are matched
  // greedily, looking one line ahead for an inserted or removed one.
  struct Op {
    char tag;          // ' ', '-', '+'
    std::size_t a, b;  // line indexes; for '+' a is where it goes, for '-' b likewise
  };
  std::vector<Op> ops;
  std::size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (i < a.size() && j < b.size() && a[i] == b[j]) {
      ops.push_back({' ', i++, j++});
    } else if (i < a.size() && j + 1 < b.size() && a[i] == b[j + 1]) {
      ops.push_back({'+', i, j++});
    } else if (j < b.size() && i + 1 < a.size() && a[i + 1] == b[j]) {
      ops.push_back({'-', i++, j});
    } else {
      if (i < a.size()) ops.push_back({'-', i++, j});
      if (j < b.size()) ops.push_back({'+', i, j++});
    }
  }
  std::vector<std::size_t> changed;
  for (std::size_t k = 0; k < ops.size(); ++k)
    if (ops[k].tag != ' ') changed.push_back(k);
  std::string out = "--- a" + std::string(path) + "\n+++ b" + std::string(path) + "\n";
  constexpr std::size_t kContext = 3;
  std::size_t c = 0;
  while (c < changed.size()) {
    // Changes within 2 * context of each other share a hunk.
    std::size_t d = c;
    while (d + 1 < changed.size() && changed[d + 1] - changed[d] <= 2 * kContext + 1) ++d;
    const std::size_t lo = changed[c] >= kContext ? changed[c] - kContext : 0;
    const std::size_t hi = std::min(ops.size(), changed[d] + kContext + 1);
    std::size_t old_n = 0, new_n = 0;
    for (std::size_t k = lo; k < hi; ++k) {
      if (ops[k].tag != '+') ++old_n;
      if (ops[k].tag != '-') ++new_n;
    }
    const std::size_t old_at = ops[lo].a + (old_n > 0 ? 1 : 0);
    const std::size_t new_at = ops[lo].b + (new_n > 0 ? 1 : 0);
    out += "@@ -" + std::to_string(old_at) + "," + std::to_string(old_n) + " +" + std::to_string(new_at) + "," +
           std::to_string(new_n) + " @@\n";
    for (std::size_t k = lo; k < hi;) {
      if (ops[k].tag == ' ') {
        emit_line(out, ' ', a[ops[k].a]);
        ++k;
        continue;
      }
      // A run of changes: its old lines, then its new ones.
      std::size_t e = k;
      while (e < hi && ops[e].tag != ' ') ++e;
      for (std::size_t r = k; r < e; ++r)
        if (ops[r].tag == '-') emit_line(out, '-', a[ops[r].a]);
      for (std::size_t r = k; r < e; ++r)
        if (ops[r].tag == '+') emit_line(out, '+', b[ops[r].b]);
      k = e;
    }
    c = d + 1;
  }
  return out;
}

}  // namespace cronitor::discovery
