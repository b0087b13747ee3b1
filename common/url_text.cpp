#include "common/url_text.h"

#include <cctype>

namespace cronitor {
namespace {

bool unreserved(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == '~';
}
bool sub_delim(char c) { return std::string_view("!$&'()*+,;=").find(c) != std::string_view::npos; }
bool hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

struct Parts {
  std::string_view scheme;    // "http://"
  std::string_view userinfo;  // without the '@'; empty when none
  bool has_userinfo = false;
  std::string_view hostport;  // host[:port]
  std::string_view rest;      // path, query, fragment
};

bool split(std::string_view url, Parts& p) {
  for (std::string_view s : {"https://", "http://"})
    if (url.starts_with(s)) p.scheme = s;
  if (p.scheme.empty()) return false;
  std::string_view after = url.substr(p.scheme.size());
  const size_t end = std::min(after.find_first_of("/?#"), after.size());
  std::string_view authority = after.substr(0, end);
  p.rest = after.substr(end);
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    p.has_userinfo = true;
    p.userinfo = authority.substr(0, at);
    authority.remove_prefix(at + 1);
  }
  p.hostport = authority;
  return true;
}

}  // namespace

Result<void> check_url(std::string_view url) {
  for (size_t i = 0; i < url.size(); ++i) {
    const char c = url[i];
    if (c == '%') {
      if (i + 2 >= url.size() || !hex(url[i + 1]) || !hex(url[i + 2]))
        return fail("bad URL: \"%\" not followed by two hex digits");
      continue;
    }
    if (c == ' ' || c == '\t') return fail("bad URL: it holds a space (write it as %20)");
    if (!unreserved(c) && !sub_delim(c) && std::string_view(":/?#[]@").find(c) == std::string_view::npos)
      return fail("bad URL: character " +
                  (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f
                       ? std::string("with code ") + std::to_string(static_cast<unsigned char>(c))
                       : "'" + std::string(1, c) + "'") +
                  " is not allowed in a URL");
  }
  Parts p;
  if (!split(url, p)) return fail("bad URL: needs http:// or https://");
  std::string_view host = p.hostport, port;
  if (host.starts_with("[")) {
    const size_t close = host.find(']');
    if (close == std::string_view::npos) return fail("bad URL: \"[\" of an IPv6 address without its \"]\"");
    std::string_view literal = host.substr(1, close - 1);
    if (literal.empty() || literal.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos ||
        literal.find(':') == std::string_view::npos)
      return fail("bad URL: \"[" + std::string(literal.substr(0, 64)) + "]\" is not an IPv6 address");
    std::string_view tail = host.substr(close + 1);
    if (!tail.empty() && tail.front() != ':') return fail("bad URL: text after the IPv6 address");
    if (!tail.empty()) port = tail.substr(1);
    host = host.substr(0, close + 1);
  } else {
    if (host.find_first_of("[]") != std::string_view::npos)
      return fail("bad URL: \"[\" or \"]\" outside an IPv6 address");
    if (auto colon = host.find(':'); colon != std::string_view::npos) {
      port = host.substr(colon + 1);
      host = host.substr(0, colon);
    }
    if (host.empty()) return fail("bad URL: no host");
  }
  if (p.hostport.find(':') != std::string_view::npos && !host.starts_with("[") && port.empty())
    return fail("bad URL: empty port");
  if (!port.empty()) {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos)
      return fail("bad URL: port must be a number");
    if (const int n = std::stoi(std::string(port)); n < 1 || n > 65535) return fail("bad URL: port out of range");
  }
  if (p.rest.find_first_of("[]") != std::string_view::npos && p.rest.find('?') > p.rest.find_first_of("[]"))
    return fail("bad URL: \"[\" or \"]\" in the path");
  return {};
}

std::string redact_url(std::string_view url) {
  Parts p;
  if (!split(url, p)) return "...";
  std::string out(p.scheme);
  if (p.has_userinfo) out += "***@";
  out += std::string(p.hostport.substr(0, 128));
  if (!p.rest.empty()) out += "/...";
  return out;
}

}  // namespace cronitor
