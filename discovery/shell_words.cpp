#include "discovery/shell_words.h"

namespace cronitor::discovery {
namespace {

bool shell_blank(char c) { return c == ' ' || c == '\t' || c == '\n'; }
bool operator_char(char c) { return c == ';' || c == '&' || c == '|' || c == '(' || c == ')' || c == '<' || c == '>'; }

// The end (one past) of a substitution that starts at s[i] ("$(", "${", "`"), nested quotes and
// substitutions included; npos when it is not closed on this line.
std::size_t skip_substitution(std::string_view s, std::size_t i) {
  if (s[i] == '`') {
    for (std::size_t j = i + 1; j < s.size(); ++j) {
      if (s[j] == '\\') {
        ++j;
      } else if (s[j] == '`') {
        return j + 1;
      }
    }
    return std::string_view::npos;
  }
  const char open = s[i + 1];  // '(' or '{'
  const char close = open == '(' ? ')' : '}';
  int depth = 0;
  for (std::size_t j = i + 1; j < s.size(); ++j) {
    const char c = s[j];
    if (c == '\\') {
      ++j;
    } else if (c == '\'') {
      const auto q = s.find('\'', j + 1);
      if (q == std::string_view::npos) return q;
      j = q;
    } else if (c == '"') {
      for (++j; j < s.size() && s[j] != '"'; ++j)
        if (s[j] == '\\') ++j;
      if (j >= s.size()) return std::string_view::npos;
    } else if (c == '`') {
      const auto e = skip_substitution(s, j);
      if (e == std::string_view::npos) return e;
      j = e - 1;
    } else if (c == open) {
      ++depth;
    } else if (c == close && --depth == 0) {
      return j + 1;
    }
  }
  return std::string_view::npos;
}

}  // namespace

Result<std::vector<ShellToken>> split_shell(std::string_view s) {
  std::vector<ShellToken> out;
  std::size_t i = 0;
  while (i < s.size()) {
    if (shell_blank(s[i])) {
      ++i;
      continue;
    }
    if (s[i] == '#') break;  // a comment: sh reads no further
    if (operator_char(s[i])) {
      ShellToken t;
      t.begin = i;
      const char c = s[i];
      if (c == '<' || c == '>') {
        t.kind = ShellToken::Kind::kRedirect;
        if (c == '<' && i + 1 < s.size() && s[i + 1] == '<') return fail("a here-document (<<)");
        ++i;
        if (i < s.size() && (s[i] == '>' || s[i] == '&' || s[i] == '|' || (c == '<' && s[i] == '>'))) ++i;
      } else {
        t.kind = ShellToken::Kind::kOperator;
        ++i;
        if ((c == '&' || c == '|' || c == ';') && i < s.size() && s[i] == c) ++i;
      }
      t.end = i;
      t.value = std::string(s.substr(t.begin, t.end - t.begin));
      out.push_back(std::move(t));
      continue;
    }
    ShellToken t;
    t.begin = i;
    bool first = true;
    // `...`, $(...) and ${...}, quoted or not: kept as written, and the word expands.
    auto substitution_at = [&](std::size_t at) {
      return s[at] == '`' || (s[at] == '$' && at + 1 < s.size() && (s[at + 1] == '(' || s[at + 1] == '{'));
    };
    auto take_substitution = [&] {
      const auto e = skip_substitution(s, i);
      if (e == std::string_view::npos) return false;
      t.value.append(s.substr(i, e - i));
      t.expands = true;
      i = e;
      return true;
    };
    while (i < s.size() && !shell_blank(s[i]) && !operator_char(s[i])) {
      const char c = s[i];
      if (c == '\\') {
        t.quoted = true;
        if (i + 1 < s.size() && s[i + 1] != '\n') t.value += s[i + 1];
        i += 2;
      } else if (c == '\'') {
        const auto q = s.find('\'', i + 1);
        if (q == std::string_view::npos) return fail("an unclosed single quote");
        t.value.append(s.substr(i + 1, q - i - 1));
        t.quoted = true;
        i = q + 1;
      } else if (c == '"') {
        t.quoted = true;
        ++i;
        for (;;) {
          if (i >= s.size()) return fail("an unclosed double quote");
          const char d = s[i];
          if (d == '"') {
            ++i;
            break;
          }
          if (d == '\\' && i + 1 < s.size()) {
            const char e = s[i + 1];
            if (e == '$' || e == '`' || e == '"' || e == '\\') {
              t.value += e;
            } else if (e != '\n') {
              t.value += d;
              t.value += e;
            }
            i += 2;
          } else if (substitution_at(i)) {
            if (!take_substitution()) return fail("an unclosed substitution");
          } else {
            if (d == '$') t.expands = true;
            t.value += d;
            ++i;
          }
        }
      } else if (substitution_at(i)) {
        if (!take_substitution()) return fail("an unclosed substitution");
      } else {
        if (c == '$' || c == '*' || c == '?' || c == '[' || (c == '~' && first)) t.expands = true;
        t.value += c;
        ++i;
      }
      first = false;
    }
    t.end = i;
    // "2>file": digits right before a redirection are its descriptor, not a word.
    if (i < s.size() && (s[i] == '<' || s[i] == '>') && !t.quoted &&
        t.value.find_first_not_of("0123456789") == std::string::npos) {
      ShellToken r;
      r.kind = ShellToken::Kind::kRedirect;
      r.begin = t.begin;
      if (s[i] == '<' && i + 1 < s.size() && s[i + 1] == '<') return fail("a here-document (<<)");
      const char c = s[i++];
      if (i < s.size() && (s[i] == '>' || s[i] == '&' || s[i] == '|' || (c == '<' && s[i] == '>'))) ++i;
      r.end = i;
      r.value = std::string(s.substr(r.begin, r.end - r.begin));
      out.push_back(std::move(r));
      continue;
    }
    out.push_back(std::move(t));
  }
  return out;
}

bool shell_assignment(std::string_view command, const ShellToken& t) {
  if (!t.word()) return false;
  const auto eq = t.value.find('=');
  if (eq == std::string::npos || eq == 0) return false;
  for (std::size_t i = 0; i < eq; ++i) {
    const char c = t.value[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  // The name and '=' must be written plainly: "'A'=1" is a command word, not an assignment.
  return command.substr(t.begin, eq + 1) == std::string_view(t.value).substr(0, eq + 1);
}

}  // namespace cronitor::discovery
