#include "discovery/job_identity.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory_resource>
#include <span>
#include <string>
#include <vector>

#include "discovery/cron_command.h"

namespace cronitor::discovery {

namespace {

bool blank_or_eol(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

uint64_t fnv1a(uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

// fnv1a over normalize_blanks(s), without building the string. Taken a word at a time: a
// blank is hashed as one ' ' between two words (per character, the tests of whether a blank was
// pending and whether a word came before it were most of a key's work).
uint64_t fnv1a_normalized(uint64_t h, std::string_view s) {
  const auto blank = [](char c) { return c == ' ' || c == '\t'; };
  const char* p = s.data();
  const char* const end = p + s.size();
  while (p != end && blank(*p)) ++p;
  while (p != end) {
    do {
      h ^= static_cast<unsigned char>(*p++);
      h *= 1099511628211ULL;
    } while (p != end && !blank(*p));
    while (p != end && blank(*p)) ++p;
    if (p != end) {
      h ^= ' ';
      h *= 1099511628211ULL;
    }
  }
  return h;
}

// Length and first character are compared inline before the rest (no set holds an empty word):
// a memcmp call for each of 60 words took a third of a simple command's name.
template <std::size_t N>
bool one_of(std::string_view w, const std::array<std::string_view, N>& set) {
  if (w.empty()) return false;
  for (std::string_view s : set) {
    if (s.size() == w.size() && s[0] == w[0] && w == s) return true;
  }
  return false;
}

constexpr std::array<std::string_view, 17> kKeywords = {
    "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "for", "!", "{", "}", "(", ")", "case", "esac"};
constexpr std::array<std::string_view, 19> kGuards = {"test",   "[",    "[[",     "command", "true",  "false", "sleep",
                                                      "cd",     "exit", ":",      "type",    "which", "pgrep", "echo",
                                                      "printf", "date", "export", "set",     "umask"};
constexpr std::array<std::string_view, 11> kWrappers = {"nice",    "ionice",  "env",  "sudo",   "exec", "nohup",
                                                        "chronic", "run-one", "time", "setsid", "su"};
constexpr std::array<std::string_view, 3> kWrappersWithArg = {"flock", "timeout", "cronic"};
// Tools that name a job only when nothing else does, and then with what they act on
// ("cat /proc/loadavg > /var/log/load.log" is "cat-load", not "cat").
constexpr std::array<std::string_view, 16> kPlainTools = {"cat",    "tee",  "touch", "rm",   "cp",    "mv",
                                                          "ls",     "find", "mkdir", "ln",   "chmod", "chown",
                                                          "logger", "wc",   "mail",  "mailx"};
constexpr std::array<std::string_view, 11> kInterpreters = {"sh",  "bash", "dash", "perl", "python", "python3",
                                                            "php", "ruby", "node", "zsh",  "ksh"};

struct Token {
  std::string_view text;  // into the command, or into the tokenizer's scratch text
  bool op = false;
  bool redirect = false;  // the target of a redirection ("> /var/log/x.log")
};

// A rough shell tokenizer: enough to find the programs a command line runs. Words are views:
// into `s` when written plainly (most are), else into `scratch`, which holds their unquoted text.
// Unquoting never lengthens a word, so `scratch` is reserved at s.size() once and never moves (a
// string per word took a third of the name's time).
// The characters the tokenizer looks at; a run of any others is part of a word.
constexpr std::array<bool, 256> kSpecial = [] {
  std::array<bool, 256> t{};
  for (unsigned char c : std::string_view(" \t\n\r'\"\\$;|&()<>")) t[c] = true;
  return t;
}();

// The spaces of `s`, counted eight bytes at a time (a byte-wise count was a tenth of naming a job).
std::size_t count_spaces(std::string_view s) {
  constexpr uint64_t kSpaces = 0x2020202020202020ULL, kLow7 = 0x7f7f7f7f7f7f7f7fULL;
  std::size_t n = 0, i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    const uint64_t x = w ^ kSpaces;                      // a space is a zero byte
    const uint64_t nonzero = ((x & kLow7) + kLow7) | x;  // each byte's top bit: the byte is not zero
    // One per zero byte, summed by a multiply (std::popcount is a libgcc call without -mpopcnt).
    n += static_cast<std::size_t>((((~nonzero & ~kLow7) >> 7) * 0x0101010101010101ULL) >> 56);
  }
  for (; i < s.size(); ++i) n += s[i] == ' ';
  return n;
}

std::pmr::vector<Token> tokenize(std::string_view s, std::pmr::string& scratch) {
  std::pmr::vector<Token> out(scratch.get_allocator());
  out.reserve(count_spaces(s) + 1);  // about a token a blank
  scratch.clear();
  scratch.reserve(s.size());
  bool in_word = false;
  bool plain = true;  // the word so far is s[begin, end)
  std::size_t begin = 0, end = 0;
  std::size_t from = 0;  // else it is scratch[from, ...)
  auto text = [&]() { return plain ? s.substr(begin, end - begin) : std::string_view(scratch).substr(from); };
  auto flush = [&] {
    if (in_word) out.push_back(Token{text(), false});
    in_word = false;
  };
  auto start = [&](std::size_t i) {
    if (in_word) return;
    in_word = true;
    plain = true;
    begin = end = i;
  };
  auto to_scratch = [&] {  // the word gets unquoted text: its plain part so far moves to scratch
    if (!plain) return;
    plain = false;
    from = scratch.size();
    scratch.append(s.substr(begin, end - begin));
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (blank_or_eol(c)) {
      flush();
    } else if (c == '\'' || c == '"') {
      const auto close = s.find(c, i + 1);
      const std::size_t stop = close == std::string_view::npos ? s.size() : close;
      start(i);
      to_scratch();
      scratch.append(s.substr(i + 1, stop - i - 1));
      i = stop;
    } else if (c == '\\' && i + 1 < s.size()) {
      start(i);
      to_scratch();
      scratch += s[++i];
    } else if (c == '$' && i + 1 < s.size() && s[i + 1] == '(') {
      int depth = 0;
      std::size_t j = i + 1;
      for (; j < s.size(); ++j) {
        if (s[j] == '(') ++depth;
        if (s[j] == ')' && --depth == 0) break;
      }
      const std::string_view sub = s.substr(i, j - i + 1);  // kept as written
      start(i);
      if (plain) {
        end = i + sub.size();
      } else {
        scratch.append(sub);
      }
      i = j;
    } else if (c == ';' || c == '|' || c == '&' || c == '(' || c == ')') {
      flush();
      std::size_t n = 1;
      if (i + 1 < s.size() && (s[i + 1] == c) && c != '(' && c != ')') n = 2;
      out.push_back(Token{s.substr(i, n), true});
      i += n - 1;
    } else if (c == '>' || c == '<') {
      // A redirection: drop it and its target ("2>&1", "> /dev/null").
      if (in_word) {
        const std::string_view w = text();
        if (!w.empty() && w.find_first_not_of("0123456789") == std::string_view::npos) in_word = false;
      }
      flush();
      while (i + 1 < s.size() && (s[i + 1] == '>' || s[i + 1] == '<' || s[i + 1] == '&')) ++i;
      std::size_t j = i + 1;
      while (j < s.size() && blank_or_eol(s[j])) ++j;
      const std::size_t target = j;
      while (j < s.size() && !blank_or_eol(s[j]) && s[j] != ';' && s[j] != '|' && s[j] != '&') ++j;
      std::string_view t = s.substr(target, j - target);
      if (t.find_first_of("'\"") != std::string_view::npos) {  // its quotes left out
        const std::size_t at = scratch.size();
        for (char q : t)
          if (q != '\'' && q != '"') scratch += q;
        t = std::string_view(scratch).substr(at);
      }
      if (!t.empty() && t.find_first_not_of("0123456789-") != std::string_view::npos && !t.starts_with("/dev/"))
        out.push_back(Token{t, false, true});
      i = j - 1;
    } else {  // a run of plain characters, taken whole
      start(i);
      std::size_t j = i + 1;
      while (j < s.size() && !kSpecial[static_cast<unsigned char>(s[j])]) ++j;
      if (plain) {
        end = j;
      } else {
        scratch.append(s.substr(i, j - i));
      }
      i = j - 1;
    }
  }
  flush();
  return out;
}

bool assignment(std::string_view w) {
  const auto eq = w.find('=');
  if (eq == std::string_view::npos || eq == 0) return false;
  for (std::size_t i = 0; i < eq; ++i) {
    const char c = w[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (i > 0 && c >= '0' && c <= '9'))) {
      return false;
    }
  }
  return true;
}

std::string_view base_name(std::string_view p) {
  while (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
  const auto slash = p.rfind('/');
  return slash == std::string_view::npos ? p : p.substr(slash + 1);
}

std::string program_name(std::string_view word) {
  std::string_view b = base_name(word);
  for (std::string_view ext : {".sh", ".py", ".pl", ".rb", ".php", ".bash", ".js"}) {
    if (b.size() > ext.size() && b.ends_with(ext)) {
      b.remove_suffix(ext.size());
      break;
    }
  }
  return slugify(b);
}

// The name of the shell command a "-c" option runs, or empty.
std::string name_of_inner(std::string_view command) {
  std::string n = derive_name(command);
  return n == "job" ? std::string() : n;
}

// The name of one simple command, or empty when it is a guard or noise.
std::string name_of_simple(std::span<const std::string_view> words) {
  std::size_t i = 0;
  for (;;) {
    while (i < words.size() && (assignment(words[i]) || one_of(words[i], kKeywords))) ++i;
    if (i >= words.size()) return {};
    const std::string_view prog = base_name(words[i]);
    if (one_of(prog, kGuards) || one_of(prog, kPlainTools) || prog.starts_with("$(")) return {};
    if (prog == "su") {  // "su - app -c 'cmd'": the command it runs, never the user's name
      for (std::size_t j = i + 1; j + 1 < words.size(); ++j)
        if (words[j] == "-c") return name_of_inner(words[j + 1]);
      return {};
    }
    if (one_of(prog, kWrappers) || one_of(prog, kWrappersWithArg)) {
      ++i;
      while (i < words.size() && words[i].starts_with("-")) {
        // Short options that take a value: "nice -n 10", "sudo -u app", "timeout -s KILL".
        const std::string_view opt = words[i++];
        if (opt.size() == 2 && std::string_view("ncskwEug").find(opt[1]) != std::string_view::npos) ++i;
      }
      if (one_of(prog, kWrappersWithArg) && i < words.size()) ++i;
      if (prog == "flock" && i + 1 < words.size() && words[i] == "-c") return name_of_inner(words[i + 1]);
      continue;
    }
    if (one_of(prog, kInterpreters)) {
      for (std::size_t j = i + 1; j < words.size(); ++j) {
        if (words[j] == "-c" && prog != "perl" && prog != "ruby" && prog != "php" && prog != "node")
          return j + 1 < words.size() ? name_of_inner(words[j + 1]) : std::string();
        if (words[j] == "-c" || words[j] == "-e" || words[j] == "-r") return {};
        if (!words[j].starts_with("-")) return program_name(words[j]);
      }
      return {};
    }
    if (prog == "invoke-rc.d" || prog == "service" || prog == "systemctl") {
      // The service it starts is the name ("systemctl start foo.service" -> "foo").
      for (std::size_t j = i + 1; j < words.size(); ++j) {
        if (words[j].starts_with("-")) continue;
        if (prog == "systemctl" && j == i + 1 && words.size() > j + 1) continue;  // the verb
        std::string_view unit = words[j];
        if (const auto dot = unit.rfind('.'); dot != std::string_view::npos && prog == "systemctl") {
          unit = unit.substr(0, dot);
        }
        return slugify(unit);
      }
    }
    if (prog == "run-parts") {
      for (std::size_t j = words.size(); j > i + 1; --j) {
        if (!words[j - 1].starts_with("-")) return slugify(base_name(words[j - 1]));
      }
    }
    return program_name(words[i]);
  }
}

}  // namespace

std::string normalize_blanks(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool pending = false;
  for (char c : s) {
    if (c == ' ' || c == '\t') {
      pending = !out.empty();
      continue;
    }
    if (pending) out += ' ';
    pending = false;
    out += c;
  }
  return out;
}

std::string derive_key(std::string_view kind, std::string_view user, std::string_view schedule,
                       std::string_view command) {
  uint64_t h = 14695981039346656037ULL;
  h = fnv1a(h, kind);
  h = fnv1a(h, std::string_view("\x1f", 1));
  h = fnv1a(h, user);
  h = fnv1a(h, std::string_view("\x1f", 1));
  h = fnv1a_normalized(h, schedule);
  h = fnv1a(h, std::string_view("\x1f", 1));
  h = fnv1a_normalized(h, command);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(12, '0');
  for (int i = 11; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kHex[h & 0xf];
    h >>= 4;
  }
  return out;
}

std::string slugify(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (ok) {
      out += c;
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
    if (out.size() >= 64) break;
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

std::string derive_name(std::string_view command) {
  const auto w = parse_wrapped(command);
  std::string_view inner = w ? std::string_view(w->inner) : command;
  // Cron's '%' rule changes only a command that has a '%': the others are read as they are.
  std::string shell;
  if (inner.find('%') != std::string_view::npos) {
    shell = shell_command(inner);
    inner = shell;
  }
  // The tokenizer's lists live in a buffer on the stack (the heap past it): allocating them was
  // four of the fifteen allocations of each crontab line in a full scan.
  std::array<std::byte, 2048> name_arena;
  std::pmr::monotonic_buffer_resource arena(name_arena.data(), name_arena.size());
  std::pmr::string scratch(&arena);
  const std::pmr::vector<Token> tokens = tokenize(inner, scratch);
  // The words of every simple command so far; each simple command's own are the last ones.
  std::pmr::vector<std::string_view> words(&arena);
  words.reserve(tokens.size());
  struct Simple {
    std::size_t from, to;     // its words
    std::string_view target;  // its first redirection target
  };
  std::pmr::vector<Simple> simples(&arena);
  simples.reserve(
      1 + static_cast<std::size_t>(std::count_if(tokens.begin(), tokens.end(), [](const Token& t) { return t.op; })));
  std::size_t from = 0;
  std::string_view target;
  // With no program that names the job, the first command names it with what it acts on:
  // "date >> /var/log/heartbeat.log" is "date-heartbeat", "cat /proc/loadavg" "cat-loadavg".
  // Only asked when nothing else names the job (asked first for every line, it took 10% of the name).
  auto fallback_of = [&](const Simple& c) {
    const std::span<const std::string_view> cw(words.data() + c.from, c.to - c.from);
    for (std::size_t i = 0; i < cw.size(); ++i) {
      if (assignment(cw[i]) || one_of(cw[i], kKeywords)) continue;
      std::string prog = program_name(cw[i]);
      std::string_view object = c.target;
      for (std::size_t j = i + 1; object.empty() && j < cw.size(); ++j)
        if (!cw[j].starts_with("-") && cw[j].find('/') != std::string_view::npos) object = cw[j];
      std::string_view base = base_name(object);
      if (const auto dot = base.rfind('.'); dot != std::string_view::npos && dot > 0) base = base.substr(0, dot);
      const std::string o = slugify(base);
      return o.empty() || o == prog ? prog : prog + "-" + o;
    }
    return std::string();
  };
  auto flush = [&]() -> std::string {
    if (words.size() == from) return {};
    simples.push_back(Simple{from, words.size(), target});
    std::string n = name_of_simple(std::span<const std::string_view>(words).subspan(from));
    from = words.size();
    target = {};
    return n;
  };
  for (const Token& t : tokens) {
    if (t.op) {
      if (std::string n = flush(); !n.empty()) return n;
      continue;
    }
    if (t.redirect) {
      if (target.empty()) target = t.text;
      continue;
    }
    words.push_back(t.text);
  }
  if (std::string n = flush(); !n.empty()) return n;
  for (const Simple& c : simples)
    if (std::string fallback = fallback_of(c); !fallback.empty()) return fallback;
  return "job";
}

}  // namespace cronitor::discovery
