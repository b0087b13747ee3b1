#include "agent/config.h"

namespace cronitor::agent {
namespace {

struct KindName {
  std::string_view name;
  NotifyTarget::Kind kind;
};
constexpr KindName kKinds[] = {
    {"slack", NotifyTarget::Kind::kSlack},         {"webhook", NotifyTarget::Kind::kWebhook},
    {"discord", NotifyTarget::Kind::kDiscord},     {"teams", NotifyTarget::Kind::kTeams},
    {"pagerduty", NotifyTarget::Kind::kPagerDuty}, {"email", NotifyTarget::Kind::kEmail},
};

}  // namespace

Result<NotifyTarget> NotifyTarget::parse(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos)
    return fail("notify target \"" + std::string(text) +
                "\": expected KIND:ADDRESS (slack, webhook, discord, teams, pagerduty, email)");
  std::string_view kind = text.substr(0, colon);
  std::string_view address = text.substr(colon + 1);
  if (address.empty() || address.size() > 2048)
    return fail("notify target \"" + std::string(text) + "\": empty or too long address");
  for (auto [name, k] : kKinds) {
    if (name != kind) continue;
    bool url = k == Kind::kSlack || k == Kind::kWebhook || k == Kind::kDiscord || k == Kind::kTeams;
    if (url && !address.starts_with("https://") && !address.starts_with("http://"))
      return fail("notify target \"" + std::string(text) + "\": " + std::string(name) +
                  " needs an http:// or https:// URL");
    if (k == Kind::kEmail &&
        (address.find('@') == std::string_view::npos || address.find_first_of(" \n\r\t<>") != std::string_view::npos))
      return fail("notify target \"" + std::string(text) + "\": not an email address");
    return NotifyTarget{k, std::string(address)};
  }
  return fail("notify target \"" + std::string(text) + "\": unknown kind \"" + std::string(kind) +
              "\" (slack, webhook, discord, teams, pagerduty, email)");
}

std::string NotifyTarget::text() const {
  for (auto [name, k] : kKinds)
    if (k == kind) return std::string(name) + ":" + address;
  return address;
}

}  // namespace cronitor::agent
