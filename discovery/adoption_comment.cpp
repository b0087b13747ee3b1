#include "discovery/adoption_comment.h"

namespace cronitor::discovery {
namespace {

std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (c == '%' || c == '"' || c < 0x20 || c == 0x7f) {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::optional<std::string> percent_decode(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

}  // namespace

std::string adoption_settings(const Instrumentation& i, std::string_view original) {
  std::string out = "adopted=" + i.tool + " " + i.setting + "=" + i.id;
  if (!i.environment.empty()) out += " environment=" + i.environment;
  for (const auto& c : i.carried) out += " " + c;  // settings the agent reads from this comment
  out += " original=\"" + percent_encode(original) + "\"";
  return out;
}

std::optional<Adoption> parse_adoption(std::string_view line) {
  std::size_t end = line.size();
  if (end > 0 && line[end - 1] == '\r') --end;
  const std::string_view content = line.substr(0, end);
  const std::size_t hash = content.find_first_not_of(" \t");
  if (hash == std::string_view::npos || content[hash] != '#') return std::nullopt;
  if (content.substr(hash + 1).find_first_not_of(" \t") == std::string_view::npos ||
      !content.substr(hash + 1 + content.substr(hash + 1).find_first_not_of(" \t")).starts_with("cronitor:"))
    return std::nullopt;
  const auto at = content.find(" adopted=");
  if (at == std::string_view::npos) return std::nullopt;
  // Our settings run from " adopted=" to the end of the line, original="..." last.
  std::string_view rest = content.substr(at + 1);
  Adoption a;
  a.begin = at;
  a.end = end;
  auto next = [&rest]() -> std::string_view {
    const auto sp = rest.find(' ');
    std::string_view w = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
    return w;
  };
  std::string_view w = next();
  a.what.tool = std::string(w.substr(8));
  w = next();
  const auto eq = w.find('=');
  if (eq == std::string_view::npos) return std::nullopt;
  a.what.setting = std::string(w.substr(0, eq));
  a.what.id = std::string(w.substr(eq + 1));
  if (a.what.setting != "cronitor_key" && a.what.setting != "healthchecks_uuid" &&
      a.what.setting != "healthchecks_slug" && a.what.setting != "sentry_slug")
    return std::nullopt;
  if (rest.starts_with("environment=")) a.what.environment = std::string(next().substr(12));
  // The tool's options carried as settings (grace=5m, timezone=...), then original="..." last.
  while (!rest.empty() && !rest.starts_with("original=\"")) {
    const std::string_view c = next();
    if (c.find('=') == std::string_view::npos || c.find('"') != std::string_view::npos) return std::nullopt;
    a.what.carried.emplace_back(c);
  }
  if (!rest.starts_with("original=\"") || !rest.ends_with('"') || rest.size() < 11) return std::nullopt;
  const std::string_view enc = rest.substr(10, rest.size() - 11);
  if (enc.find('"') != std::string_view::npos) return std::nullopt;
  auto original = percent_decode(enc);
  if (!original) return std::nullopt;
  a.what.original = std::move(*original);
  a.what.adopted = true;
  // Nothing before our settings but "# cronitor:": `wrap --adopt` wrote the whole line.
  a.whole_line = content.substr(0, at) == "# cronitor:";
  return a;
}

}  // namespace cronitor::discovery
