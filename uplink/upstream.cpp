// What the upstreams share: URL encoding, slugs, masking, the factory.
#include "uplink/upstream.h"

namespace cronitor::uplink {

std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

bool valid_slug(std::string_view slug) {
  if (slug.empty() || slug.size() > 50) return false;
  for (char c : slug)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  return true;
}

std::string identity_problem(std::string_view setting, std::string_view v) {
  auto all = [&v](auto ok) {
    for (char c : v)
      if (!ok(c)) return false;
    return true;
  };
  auto lower = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'; };
  if (setting == "cronitor_key") {
    if (!v.empty() && v.size() <= 100 &&
        all([&](char c) { return lower(c) || (c >= 'A' && c <= 'Z') || c == '.' || c == ':'; }))
      return {};
    return "cronitor_key: 1 to 100 of A-Z, a-z, 0-9, '-', '_', '.' and ':'";
  }
  if (setting == "healthchecks_uuid") {
    bool ok = v.size() == 36;
    for (size_t i = 0; ok && i < v.size(); ++i) {
      const char c = v[i];
      ok = (i == 8 || i == 13 || i == 18 || i == 23)
               ? c == '-'
               : (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }
    return ok ? std::string() : "healthchecks_uuid: not a UUID (8-4-4-4-12 hex digits)";
  }
  if (setting == "healthchecks_slug") {
    if (!v.empty() && v.size() <= 100 && all(lower)) return {};
    return "healthchecks_slug: 1 to 100 of a-z, 0-9, '-' and '_'";
  }
  if (setting == "sentry_slug") return valid_slug(v) ? std::string() : "sentry_slug: 1 to 50 of a-z, 0-9, '-' and '_'";
  return "unknown upstream identity setting";
}

std::string slugify(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (ok)
      out += c;
    else if (!out.empty() && out.back() != '-')
      out += '-';
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  if (out.size() > 50) out.resize(50);  // Sentry's slug limit; Healthchecks takes any length
  return out.empty() ? "job" : out;
}

std::string utf8_tail(std::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  size_t from = s.size() - max;
  while (from < s.size() && (static_cast<unsigned char>(s[from]) & 0xC0) == 0x80) ++from;
  return std::string(s.substr(from));
}

std::string mask(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& secret : secrets) {
    if (secret.size() < 4) continue;
    const std::string shown = secret.substr(0, 4) + "…";
    for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + shown.size()))
      text.replace(at, secret.size(), shown);
  }
  return text;
}

Result<std::vector<std::unique_ptr<Upstream>>> make_upstreams(const UplinkSettings& s) {
  std::vector<std::unique_ptr<Upstream>> out;
  if (s.cronitor) out.push_back(make_cronitor(*s.cronitor));
  if (s.healthchecks) out.push_back(make_healthchecks(*s.healthchecks));
  if (s.sentry) {
    auto u = make_sentry(*s.sentry);
    if (!u) return std::unexpected(u.error());
    out.push_back(std::move(*u));
  }
  return out;
}

}  // namespace cronitor::uplink
