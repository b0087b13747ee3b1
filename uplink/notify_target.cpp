#include "uplink/notify_target.h"

#include <algorithm>

#include "common/url_text.h"

namespace cronitor::uplink {
namespace {

struct KindName {
  std::string_view name;
  NotifyTarget::Kind kind;
};
constexpr KindName kKinds[] = {
    {"slack", NotifyTarget::Kind::kSlack},
    {"webhook", NotifyTarget::Kind::kWebhook},
    {"discord", NotifyTarget::Kind::kDiscord},
    {"teams", NotifyTarget::Kind::kTeams},
    {"pagerduty", NotifyTarget::Kind::kPagerDuty},
    {"email", NotifyTarget::Kind::kEmail},
    {"alertmanager", NotifyTarget::Kind::kAlertmanager},
};

/// What an error may show of a target: its kind and, for a URL, scheme and host; never the path
/// or a key, which are the secret (a Slack webhook URL is its own token).
std::string redacted_target(std::string_view text) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return "...";  // no kind: the whole text may be the secret
  const std::string kind(text.substr(0, std::min<size_t>(colon, 16)));
  const std::string_view address = text.substr(colon + 1);
  if (address.find('@') != std::string_view::npos && address.find('/') == std::string_view::npos &&
      address.size() < 256)
    return kind + ":" + std::string(address);  // an email address is no secret
  if (text.starts_with("http://") || text.starts_with("https://")) return redact_url(text);  // a URL without its kind
  if (!address.starts_with("http://") && !address.starts_with("https://")) return kind + ":...";
  return kind + ":" + redact_url(address);  // no credentials, path or query: those are the secret
}

}  // namespace

Result<NotifyTarget> NotifyTarget::parse(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos)
    return fail("notify target \"" + redacted_target(text) +
                "\": expected KIND:ADDRESS (slack, webhook, discord, teams, pagerduty, email, alertmanager)");
  std::string_view kind = text.substr(0, colon);
  std::string_view address = text.substr(colon + 1);
  if (address.empty() || address.size() > 2048)
    return fail("notify target \"" + redacted_target(text) + "\": empty or too long address");
  for (auto [name, k] : kKinds) {
    if (name != kind) continue;
    bool url = k == Kind::kSlack || k == Kind::kWebhook || k == Kind::kDiscord || k == Kind::kTeams ||
               k == Kind::kAlertmanager;
    if (url && !address.starts_with("https://") && !address.starts_with("http://"))
      return fail("notify target \"" + redacted_target(text) + "\": " + std::string(name) +
                  " needs an http:// or https:// URL");
    if (url)
      if (auto ok = check_url(address); !ok)
        return fail("notify target \"" + redacted_target(text) + "\": " + ok.error().message);
    if (k == Kind::kEmail &&
        (address.find('@') == std::string_view::npos || address.find_first_of(" \n\r\t<>") != std::string_view::npos))
      return fail("notify target \"" + redacted_target(text) + "\": not an email address");
    return NotifyTarget{k, std::string(address)};
  }
  return fail("notify target \"" + redacted_target(text) + "\": unknown kind \"" + std::string(kind.substr(0, 16)) +
              "\" (slack, webhook, discord, teams, pagerduty, email, alertmanager)");
}

std::string NotifyTarget::redacted() const { return redacted_target(text()); }

std::string NotifyTarget::text() const {
  for (auto [name, k] : kKinds)
    if (k == kind) return std::string(name) + ":" + address;
  return address;
}

}  // namespace cronitor::uplink
