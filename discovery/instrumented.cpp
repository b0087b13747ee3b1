#include "discovery/instrumented.h"

#include <array>
#include <cctype>
#include <vector>

#include "discovery/cron_command.h"
#include "discovery/fs_root.h"
#include "discovery/shell_words.h"

namespace cronitor::discovery {
namespace {

using Tokens = std::vector<ShellToken>;

bool id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '.' || c == ':';
}

// Identities and environments go into a comment as plain words: nothing a word cannot hold.
bool plain_id(std::string_view s, std::size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s)
    if (!id_char(c)) return false;
  return true;
}

bool hc_slug(std::string_view s) {
  if (s.empty() || s.size() > 100) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
  return true;
}

bool is_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

// A token the tool reads as written: no quotes, no expansion.
bool literal(const ShellToken& t) { return t.word() && !t.expands; }

// The simple command that starts at token `from`: [from, end) up to the first list operator.
std::size_t simple_end(const Tokens& t, std::size_t from) {
  std::size_t i = from;
  while (i < t.size() && t[i].kind != ShellToken::Kind::kOperator) ++i;
  return i;
}

// Splits the words [from, end) of a simple command into its arguments and its redirections
// (each redirection with its target), as source text.
struct Split {
  std::vector<std::size_t> words;  // token indexes
  std::string redirections;        // "> /var/log/x.log 2>&1"
  bool ok = true;
};
Split split_redirections(std::string_view s, const Tokens& t, std::size_t from, std::size_t end) {
  Split out;
  for (std::size_t i = from; i < end; ++i) {
    if (t[i].kind == ShellToken::Kind::kRedirect) {
      if (i + 1 >= end || !t[i + 1].word()) {
        out.ok = false;
        return out;
      }
      if (!out.redirections.empty()) out.redirections += ' ';
      out.redirections.append(s.substr(t[i].begin, t[i + 1].end - t[i].begin));
      ++i;
    } else {
      out.words.push_back(i);
    }
  }
  return out;
}

// The arguments at `words` as source text, one blank between them.
std::string source_of(std::string_view s, const Tokens& t, const std::vector<std::size_t>& words, std::size_t first) {
  std::string out;
  for (std::size_t k = first; k < words.size(); ++k) {
    if (!out.empty()) out += ' ';
    out.append(s.substr(t[words[k]].begin, t[words[k]].end - t[words[k]].begin));
  }
  return out;
}

// A command-line option: "--name=value", "--name value", "-n value", "-nvalue". Returns how
// many tokens it took (0: not an option this tool knows, which ends the parse).
struct OptionSpec {
  std::string_view long_name;
  char short_name;
  bool takes_value;
};
struct OptionHit {
  std::string_view name;
  std::string value;
  std::size_t used = 0;
};
template <std::size_t N>
OptionHit read_option(const Tokens& t, const std::vector<std::size_t>& w, std::size_t k,
                      const std::array<OptionSpec, N>& specs, bool single_dash_long) {
  OptionHit hit;
  const std::string& a = t[w[k]].value;
  if (!literal(t[w[k]]) || a.size() < 2 || a[0] != '-' || a == "--") return hit;
  const bool dashdash = a[1] == '-';
  std::string_view body = std::string_view(a).substr(dashdash ? 2 : 1);
  std::string_view name = body.substr(0, body.find('='));
  const bool has_eq = name.size() < body.size();
  for (const OptionSpec& o : specs) {
    const bool long_match = (dashdash || single_dash_long) && name == o.long_name;
    const bool short_match =
        !dashdash && o.short_name != 0 && body[0] == o.short_name && !long_match && (body.size() == 1 || o.takes_value);
    if (!long_match && !short_match) continue;
    hit.name = o.long_name;
    if (!o.takes_value) {
      if (short_match && body.size() > 1) return OptionHit{};
      hit.used = 1;
      return hit;
    }
    if (long_match && has_eq) {
      hit.value = std::string(body.substr(name.size() + 1));
      hit.used = 1;
    } else if (short_match && body.size() > 1) {
      hit.value = std::string(body.substr(body[1] == '=' ? 2 : 1));
      hit.used = 1;
    } else if (k + 1 < w.size()) {
      hit.value = t[w[k + 1]].value;
      hit.used = 2;
    }
    return hit;
  }
  return hit;
}

constexpr std::array<OptionSpec, 17> kRunitorOptions = {{{"api-url", 0, true},
                                                         {"api-retries", 0, true},
                                                         {"api-tries", 0, true},
                                                         {"api-timeout", 0, true},
                                                         {"ping-key", 0, true},
                                                         {"slug", 0, true},
                                                         {"uuid", 0, true},
                                                         {"every", 0, true},
                                                         {"ping-body-limit", 0, true},
                                                         {"req-header", 0, true},
                                                         {"on-success", 0, true},
                                                         {"on-nonzero-exit", 0, true},
                                                         {"on-exec-fail", 0, true},
                                                         {"quiet", 0, false},
                                                         {"silent", 0, false},
                                                         {"no-start-ping", 0, false},
                                                         {"no-output-in-ping", 0, false}}};

constexpr std::array<OptionSpec, 10> kCronitorOptions = {{{"api-key", 'k', true},
                                                          {"config", 'c', true},
                                                          {"env", 0, true},
                                                          {"hostname", 'n', true},
                                                          {"log", 'l', true},
                                                          {"ping-api-key", 'p', true},
                                                          {"users", 'u', true},
                                                          {"verbose", 'v', false},
                                                          {"no-stdout", 0, false},
                                                          {"help", 'h', false}}};

constexpr std::array<OptionSpec, 16> kSentryOptions = {{{"environment", 'e', true},
                                                        {"schedule", 's', true},
                                                        {"check-in-margin", 0, true},
                                                        {"max-runtime", 0, true},
                                                        {"timezone", 0, true},
                                                        {"failure-issue-threshold", 0, true},
                                                        {"recovery-threshold", 0, true},
                                                        {"header", 0, true},
                                                        {"auth-token", 0, true},
                                                        {"api-key", 0, true},
                                                        {"url", 0, true},
                                                        {"log-level", 0, true},
                                                        {"org", 'o', true},
                                                        {"project", 'p', true},
                                                        {"quiet", 0, false},
                                                        {"allow-failure", 0, false}}};

// runitor [FLAGS] [--] CMD ARGS... (Go's flag package: -name or --name, "=value" or the next word;
// parsing stops at the first word that is not a flag, or after "--").
void parse_runitor(std::string_view s, const Tokens& t, const Split& sp, std::size_t first, InstrumentedCommand& ic) {
  std::string uuid, slug;
  std::size_t k = first;
  while (k < sp.words.size()) {
    const std::string& a = t[sp.words[k]].value;
    if (a == "--" && literal(t[sp.words[k]])) {
      ++k;
      break;
    }
    if (!a.starts_with("-")) break;
    const OptionHit o = read_option(t, sp.words, k, kRunitorOptions, true);
    if (o.used == 0) {
      ic.what.not_adoptable = "runitor option " + a + " is not one this agent knows";
      return;
    }
    if (o.name == "uuid") uuid = o.value;
    if (o.name == "slug") slug = o.value;
    if (o.name == "api-url") ic.what.server = o.value;
    if (o.name == "every") ic.what.not_adoptable = "runitor -every runs the command again and again by itself";
    // What the agent's own settings decide (where and how it pings, what a ping carries): named.
    if (o.name != "uuid" && o.name != "slug" && o.name != "every")
      ic.what.dropped.push_back("-" + std::string(o.name));  // no value: -ping-key's is a secret
    k += o.used;
  }
  if (!uuid.empty()) {
    ic.what.setting = "healthchecks_uuid";
    ic.what.id = uuid;
    if (!is_uuid(uuid)) ic.what.not_adoptable = "the check's UUID is not a UUID";
  } else if (!slug.empty()) {
    ic.what.setting = "healthchecks_slug";
    ic.what.id = slug;
    if (!hc_slug(slug)) ic.what.not_adoptable = "the check's slug is not a-z, 0-9, '-' and '_'";
  } else if (ic.what.not_adoptable.empty()) {
    ic.what.not_adoptable = "the check is named by the environment (CHECK_UUID, CHECK_SLUG), not by the line";
  }
  if (k >= sp.words.size() && ic.what.not_adoptable.empty()) ic.what.not_adoptable = "runitor has no command to run";
  ic.inner = source_of(s, t, sp.words, k);
}

// sentry-cli's monitor options as this agent's settings: --check-in-margin (minutes) is the
// grace, --timezone the zone, --failure-issue-threshold N alerts at the Nth failure in a row
// (failure_tolerance N-1), --recovery-threshold the same. --schedule is the line's own (what cron
// runs is what the agent sends); the tool's output and where it reports are the agent's.
void carry_sentry_option(const OptionHit& o, Instrumentation& w) {
  auto whole = [&](long lo, long hi) -> long {
    if (o.value.empty() || o.value.size() > 6 || o.value.find_first_not_of("0123456789") != std::string::npos)
      return -1;
    const long n = std::stol(o.value);
    return n >= lo && n <= hi ? n : -1;
  };
  const std::string shown = "--" + std::string(o.name);  // no value: --auth-token's is a secret
  auto zone_like = [](const std::string& v) {
    if (v.empty() || v.size() > 64) return false;
    for (char c : v)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '/' && c != '_' && c != '-' && c != '+') return false;
    return true;
  };
  if (o.name == "check-in-margin" && whole(1, 40320) > 0) {
    w.carried.push_back("grace=" + o.value + "m");
  } else if (o.name == "timezone" && zone_like(o.value)) {
    w.carried.push_back("timezone=" + o.value);
  } else if (o.name == "failure-issue-threshold" && whole(1, 720) > 0) {
    w.carried.push_back("failure_tolerance=" + std::to_string(whole(1, 720) - 1));
  } else if (o.name == "recovery-threshold" && whole(1, 720) > 0) {
    w.carried.push_back("recovery_threshold=" + o.value);
  } else if (o.name != "environment" && o.name != "schedule" && o.name != "log-level" && o.name != "quiet") {
    w.dropped.push_back(shown);
  }
}

// sentry-cli [GLOBAL OPTIONS] monitors run [OPTIONS] SLUG [OPTIONS] -- CMD ARGS... (clap)
void parse_sentry(std::string_view s, const Tokens& t, const Split& sp, std::size_t first, InstrumentedCommand& ic) {
  std::size_t k = first;
  int verbs = 0;  // "monitors", then "run"
  std::string slug;
  bool command = false;
  while (k < sp.words.size()) {
    const ShellToken& w = t[sp.words[k]];
    if (w.value == "--" && literal(w)) {
      ++k;
      command = true;
      break;
    }
    if (w.value.starts_with("-") && w.value.size() > 1) {
      const OptionHit o = read_option(t, sp.words, k, kSentryOptions, false);
      if (o.used == 0) {
        ic.what.not_adoptable = "sentry-cli option " + w.value + " is not one this agent knows";
        return;
      }
      if (o.name == "environment") ic.what.environment = o.value;
      if (o.name == "url") ic.what.server = o.value;
      carry_sentry_option(o, ic.what);
      k += o.used;
      continue;
    }
    if (verbs == 0 && w.value == "monitors") {
      ++verbs;
    } else if (verbs == 1 && w.value == "run") {
      ++verbs;
    } else if (verbs == 2 && slug.empty()) {
      slug = w.value;
      if (!literal(w)) ic.what.not_adoptable = "the monitor slug is not written as it is";
    } else {
      break;
    }
    ++k;
  }
  if (verbs < 2 || slug.empty()) return;  // another sentry-cli command: not instrumentation
  ic.what.setting = "sentry_slug";
  ic.what.id = slug;
  if (!plain_id(slug, 50) && ic.what.not_adoptable.empty())
    ic.what.not_adoptable = "the monitor slug is not a plain word";
  if (!ic.what.environment.empty() && !plain_id(ic.what.environment, 64) && ic.what.not_adoptable.empty())
    ic.what.not_adoptable = "the environment is not a plain word";
  if (!command && ic.what.not_adoptable.empty())
    ic.what.not_adoptable = "sentry-cli monitors run has no \"--\" command";
  ic.inner = source_of(s, t, sp.words, k);
}

// cronitor [FLAGS] exec [--no-stdout] KEY CMD... (cobra): cronitor-cli runs the words after KEY
// joined by blanks with `sh -c`, so that joined text is what cronitor-exec runs.
void parse_cronitor(const Tokens& t, const Split& sp, std::size_t first, InstrumentedCommand& ic) {
  std::size_t k = first;
  bool exec = false;
  while (k < sp.words.size()) {
    const ShellToken& w = t[sp.words[k]];
    if (!exec && w.value == "exec" && literal(w)) {
      exec = true;
      ++k;
      continue;
    }
    if (w.value.starts_with("-") && w.value.size() > 1 && w.value != "--") {
      const OptionHit o = read_option(t, sp.words, k, kCronitorOptions, false);
      if (o.used == 0) {
        ic.what.not_adoptable = "cronitor option " + w.value + " is not one this agent knows";
        if (!exec) return;
        ++k;
        continue;
      }
      if (o.name == "env") ic.what.environment = o.value;
      if (o.name != "env" && o.name != "verbose" && o.name != "help")
        ic.what.dropped.push_back("--" + std::string(o.name));  // no value: --api-key's is a secret
      k += o.used;
      continue;
    }
    break;
  }
  if (!exec || k >= sp.words.size()) return;  // another cronitor command (ping, sync, ...)
  const ShellToken& key = t[sp.words[k++]];
  ic.what.setting = "cronitor_key";
  ic.what.id = key.value;
  if (!literal(key) || !plain_id(key.value, 100)) ic.what.not_adoptable = "the monitor key is not a plain word";
  if (k < sp.words.size() && t[sp.words[k]].value == "--") ++k;
  if (!ic.what.environment.empty() && !plain_id(ic.what.environment, 64) && ic.what.not_adoptable.empty())
    ic.what.not_adoptable = "the environment is not a plain word";
  for (; k < sp.words.size(); ++k) {
    if (!ic.inner.empty()) ic.inner += ' ';
    ic.inner += t[sp.words[k]].value;
  }
  if (ic.inner.empty() && ic.what.not_adoptable.empty()) ic.what.not_adoptable = "cronitor exec has no command";
}

// A Healthchecks ping URL: https://hc-ping.com/UUID, .../PING_KEY/SLUG, or a self-hosted
// .../ping/UUID, each with an optional /start, /fail, /log, /EXIT or /$? and a query.
struct HcPing {
  std::string setting, id, server, kind;  // kind: "", "start", "fail", "log", "exit"
};
std::optional<HcPing> hc_ping(std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos || (url.substr(0, scheme) != "https" && url.substr(0, scheme) != "http"))
    return std::nullopt;
  // The query starts at a '?' that is not the shell's "$?" (the exit status in ".../$?").
  for (std::size_t q = url.find_first_of("?#"); q != std::string_view::npos; q = url.find_first_of("?#", q + 1)) {
    if (url[q] == '?' && q > 0 && url[q - 1] == '$') continue;
    url = url.substr(0, q);
    break;
  }
  const auto path_at = url.find('/', scheme + 3);
  if (path_at == std::string_view::npos) return std::nullopt;
  const std::string_view host = url.substr(scheme + 3, path_at - scheme - 3);
  std::vector<std::string_view> seg;
  for (std::string_view p = url.substr(path_at + 1); !p.empty();) {
    const auto slash = p.find('/');
    seg.push_back(p.substr(0, slash));
    if (slash == std::string_view::npos) break;
    p.remove_prefix(slash + 1);
  }
  std::size_t at = 0;
  const bool hosted = host == "hc-ping.com" || host == "hchk.io";
  if (!hosted) {
    while (at < seg.size() && seg[at] != "ping") ++at;
    if (at == seg.size()) return std::nullopt;
    ++at;
  }
  HcPing out;
  out.server = std::string(url.substr(0, path_at));
  for (std::size_t i = 0; i < at; ++i) out.server += "/" + std::string(seg[i]);
  if (at < seg.size() && is_uuid(seg[at])) {
    out.setting = "healthchecks_uuid";
    out.id = std::string(seg[at]);
    ++at;
  } else if (at + 1 < seg.size() && plain_id(seg[at], 64) && hc_slug(seg[at + 1])) {
    out.setting = "healthchecks_slug";
    out.id = std::string(seg[at + 1]);
    at += 2;
  } else {
    return std::nullopt;
  }
  if (at < seg.size()) {
    const std::string_view k = seg[at++];
    if (k == "start" || k == "fail" || k == "log") {
      out.kind = std::string(k);
    } else if (k == "$?" || k == "${?}" ||
               (!k.empty() && k.size() <= 3 && k.find_first_not_of("0123456789") == k.npos)) {
      out.kind = "exit";
    } else {
      return std::nullopt;
    }
  }
  if (at < seg.size() && !(at + 1 == seg.size() && seg[at].empty())) return std::nullopt;
  return out;
}

// The ping of one simple command [from, end) that runs curl with a Healthchecks URL.
std::optional<HcPing> curl_ping(std::string_view s, const Tokens& t, std::size_t from, std::size_t end) {
  std::size_t i = from;
  while (i < end && shell_assignment(s, t[i])) ++i;
  if (i >= end || !literal(t[i]) || base_of(t[i].value) != "curl") return std::nullopt;
  std::optional<HcPing> found;
  for (++i; i < end; ++i) {
    if (t[i].kind == ShellToken::Kind::kRedirect) {
      ++i;
      continue;
    }
    if (auto p = hc_ping(t[i].value)) {
      if (found) return std::nullopt;  // two URLs: not a plain ping
      found = std::move(p);
    }
  }
  return found;
}

// COMMAND && curl .../UUID, COMMAND ; curl .../UUID/$?, curl .../start && COMMAND && curl ...,
// COMMAND 2>&1 | curl --data-binary @- ..., COMMAND && curl URL || curl URL/fail.
std::optional<InstrumentedCommand> parse_curl(std::string_view s, const Tokens& t) {
  struct Item {
    std::size_t from, end;  // tokens of one simple command (or subshell)
    std::string sep_after;  // the operator after it
  };
  std::vector<Item> items;
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i].op("(")) ++depth;
    if (t[i].op(")")) --depth;
    if (depth == 0 && t[i].kind == ShellToken::Kind::kOperator && !t[i].op("(") && !t[i].op(")")) {
      items.push_back(Item{start, i, t[i].value});
      start = i + 1;
    }
  }
  if (start < t.size()) items.push_back(Item{start, t.size(), ""});
  if (items.size() < 2 || !items.back().sep_after.empty()) return std::nullopt;
  std::optional<HcPing> id;
  auto same = [&](const HcPing& p) {
    if (!id) id = p;
    return id->setting == p.setting && id->id == p.id;
  };
  std::size_t last = items.size();
  while (last > 1) {
    auto p = curl_ping(s, t, items[last - 1].from, items[last - 1].end);
    const std::string& sep = items[last - 2].sep_after;
    if (!p || p->kind == "start" || p->kind == "log" || !same(*p)) break;
    if (sep != "&&" && sep != ";" && sep != "||" && sep != "|") return std::nullopt;
    --last;
  }
  if (!id) return std::nullopt;
  std::size_t first = 0;
  while (first + 1 < last) {
    auto p = curl_ping(s, t, items[first].from, items[first].end);
    if (!p || p->kind != "start" || !same(*p)) break;
    if (items[first].sep_after != "&&" && items[first].sep_after != ";") return std::nullopt;
    ++first;
  }
  if (first >= last) return std::nullopt;
  InstrumentedCommand ic;
  ic.what.tool = "curl";
  ic.what.setting = id->setting;
  ic.what.id = id->id;
  ic.what.server = id->server;
  const std::size_t b = t[items[first].from].begin;
  const std::size_t e = t[items[last - 1].end - 1].end;
  ic.inner = std::string(s.substr(b, e - b));
  if (items[last - 1].sep_after == "&" || items[last - 1].sep_after == "|&")
    ic.what.not_adoptable = "the command runs in the background";
  return ic;
}

}  // namespace

std::string Instrumentation::upstream() const {
  if (setting == "cronitor_key" || tool == "cronitor") return "cronitor";
  if (setting == "sentry_slug" || tool == "sentry-cli") return "sentry";
  return "healthchecks";
}

std::string Instrumentation::describe() const {
  std::string what = setting == "cronitor_key"        ? "key"
                     : setting == "healthchecks_uuid" ? "uuid"
                     : setting.empty()                ? ""
                                                      : "slug";
  std::string out = tool + ": " + upstream();
  // A check's UUID is its secret (anyone with it can ping): shown as the agent masks secrets.
  if (!what.empty()) out += " " + what + " " + (what == "uuid" && id.size() > 4 ? id.substr(0, 4) + "…" : id);
  if (!environment.empty()) out += " (environment " + environment + ")";
  return out;
}

// Variables that configure the tool itself (where it reports, its key), not the job: the agent's
// own settings replace them, so a line that sets them is not adopted.
bool configures_tool(std::string_view assignment) {
  for (std::string_view p : {"CRONITOR_", "SENTRY_", "HC_", "CHECK_", "PING_KEY"})
    if (assignment.starts_with(p)) return true;
  return false;
}

namespace {

// True when `s` holds `word` once the characters that quoting removes are left out ("cu'r'l"): a
// word's unquoted value is its text less some quotes and backslashes, so a line without it names
// no tool. (Discovery asks this of every crontab line; splitting each into shell words for it took
// about 40% of a full scan.)
bool holds_unquoted(std::string_view s, std::string_view word) {
  const auto removable = [](char c) { return c == '\'' || c == '"' || c == '\\' || c == '\n'; };
  for (std::size_t i = s.find(word.front()); i != std::string_view::npos; i = s.find(word.front(), i + 1)) {
    std::size_t k = 1;
    for (std::size_t j = i + 1; k < word.size() && j < s.size() && (s[j] == word[k] || removable(s[j])); ++j)
      if (s[j] == word[k]) ++k;
    if (k == word.size()) return true;
  }
  return false;
}

}  // namespace

std::optional<InstrumentedCommand> parse_instrumented(std::string_view command) {
  // cronitor, runitor, sentry-cli or curl: nothing else is read as a tool.
  if (!holds_unquoted(command, "nitor") && !holds_unquoted(command, "sentry-cli") && !holds_unquoted(command, "curl"))
    return std::nullopt;
  // What the shell runs: cron's '%' part is stdin, "\%" a '%'.
  const std::string shell = shell_command(command);
  auto tokens = split_shell(shell);
  if (!tokens || tokens->empty()) return std::nullopt;
  const Tokens& t = *tokens;
  // The tool may follow other commands (`cd /srv && runitor ...`, `cd X; sentry-cli ...`): the
  // first simple command, at the top level, whose first word (after assignments) is a tool.
  std::size_t from = 0;
  std::string before_ops;  // an operator before it other than "&&" and ";" (why it cannot be adopted)
  int depth = 0;
  for (std::size_t k = 0; k <= t.size(); ++k) {
    if (k < t.size() && t[k].op("(")) ++depth;
    if (k < t.size() && t[k].op(")")) --depth;
    if (k < t.size() && !(depth == 0 && t[k].kind == ShellToken::Kind::kOperator && !t[k].op("(") && !t[k].op(")")))
      continue;
    std::size_t i = from;
    while (i < k && shell_assignment(shell, t[i])) ++i;
    if (i < k && literal(t[i])) {
      const std::string_view tool = base_of(t[i].value);
      if (tool == "cronitor" || tool == "runitor" || tool == "sentry-cli") {
        const std::size_t end = simple_end(t, i);
        const Split sp = split_redirections(shell, t, i + 1, end);
        InstrumentedCommand ic;
        ic.what.tool = std::string(tool);
        if (!sp.ok) return std::nullopt;
        if (tool == "runitor") parse_runitor(shell, t, sp, 0, ic);
        if (tool == "sentry-cli") parse_sentry(shell, t, sp, 0, ic);
        if (tool == "cronitor") parse_cronitor(t, sp, 0, ic);
        if (tool != "runitor" && ic.what.setting.empty()) return std::nullopt;
        ic.outside = sp.redirections;
        auto refuse = [&ic](std::string why) {
          if (ic.what.not_adoptable.empty()) ic.what.not_adoptable = std::move(why);
        };
        for (std::size_t a = from; a < i; ++a)
          if (configures_tool(t[a].value))
            refuse("the line sets " + t[a].value.substr(0, t[a].value.find('=')) + " for " + ic.what.tool +
                   ", which configures the tool (the agent's own settings replace it)");
        if (!before_ops.empty())
          refuse(ic.what.tool + " runs after \"" + before_ops + "\" (only \"&&\" and \";\" are kept)");
        if (end < t.size()) refuse("the line runs more after " + ic.what.tool + " (\"" + t[end].value + "\")");
        if (!ic.what.not_adoptable.empty()) return ic;
        // What runs before the tool, and the variables set for it, stay with the job: cronitor-exec
        // runs `cd /srv && ./job`, `FOO=1 ./job` (the tool ran the job with FOO in its
        // environment). cronitor exec ran its words with `sh -c`: a subshell keeps them one command.
        std::string job = ic.inner;
        if (i > from) {
          const std::string assigns = shell.substr(t[from].begin, t[i - 1].end - t[from].begin);
          job = tool == "cronitor" ? "(export " + assigns + "; " + job + ")" : assigns + " " + job;
        } else if (from > 0 && tool == "cronitor") {
          job = "(" + job + ")";
        }
        if (from > 0) job = shell.substr(t[0].begin, t[from].begin - t[0].begin) + job;
        ic.inner = std::move(job);
        return ic;
      }
    }
    if (k >= t.size()) break;
    if (!t[k].op("&&") && !t[k].op(";") && before_ops.empty()) before_ops = t[k].value;
    from = k + 1;
  }
  return parse_curl(shell, t);
}

std::string user_crontab_refusal(const Instrumentation& i) {
  if (i.setting == "healthchecks_uuid") return {};
  return "in a user's crontab the agent takes no " + i.setting +
         " from a comment (it could name another user's check): set it for this key in agent.yaml";
}

Result<std::string> adopt_command(std::string_view command, const InstrumentedCommand& ic, std::string_view key,
                                  std::string_view exec_path) {
  if (!ic.what.not_adoptable.empty()) return fail(ic.what.not_adoptable);
  if (ic.what.setting.empty()) return fail("the line does not name the upstream check");
  // The job's shell text goes back into the crontab: a '%' there must be "\%" again for cron.
  std::string inner;
  for (char c : ic.inner) {
    if (c == '%') inner += '\\';
    inner += c;
  }
  while (!inner.empty() && (inner.back() == ' ' || inner.back() == '\t')) inner.pop_back();
  if (inner.empty()) return fail("no command is left without the tool");
  std::string_view job = ic.inner;
  while (!job.empty() && (job.back() == ' ' || job.back() == '\t')) job.remove_suffix(1);
  if (find_stdin_split(inner) != std::string::npos || shell_command(inner) != job)
    return fail("the command cannot be written back for cron as it is");
  const std::size_t split = find_stdin_split(command);
  const std::string_view tail = split == std::string_view::npos ? std::string_view() : command.substr(split);
  std::string out(exec_path);
  out += ' ';
  out += key;
  out += " -- ";
  out += shell_single_quote(inner);
  if (!ic.outside.empty()) {
    std::string outside;
    for (char c : ic.outside) {
      if (c == '%') outside += '\\';
      outside += c;
    }
    out += ' ';
    out += outside;
  }
  out += tail;
  if (out.size() > kCronMaxCommand)
    return fail("the adopted command would be " + std::to_string(out.size()) + " bytes, over cron's limit of " +
                std::to_string(kCronMaxCommand));
  return out;
}

}  // namespace cronitor::discovery
