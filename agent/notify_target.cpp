#include <algorithm>

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

/// What an error may show of a target: its kind and, for a URL, scheme and host; never the path
/// or a key, which are the secret (a Slack webhook URL is its own token).
std::string shown(std::string_view text) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return "...";  // no kind: the whole text may be the secret
  const std::string kind(text.substr(0, std::min<size_t>(colon, 16)));
  const std::string_view address = text.substr(colon + 1);
  if (address.find('@') != std::string_view::npos && address.find('/') == std::string_view::npos &&
      address.size() < 256)
    return kind + ":" + std::string(address);  // an email address is no secret
  const auto slashes = address.find("//");
  if (slashes == std::string_view::npos || slashes > 6) return kind + ":...";
  const auto host_end = address.find('/', slashes + 2);
  return kind + ":" + std::string(address.substr(0, std::min(host_end, slashes + 2 + 80))) +
         (host_end != std::string_view::npos ? "/..." : "");
}

}  // namespace

Result<NotifyTarget> NotifyTarget::parse(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos)
    return fail("notify target \"" + shown(text) +
                "\": expected KIND:ADDRESS (slack, webhook, discord, teams, pagerduty, email)");
  std::string_view kind = text.substr(0, colon);
  std::string_view address = text.substr(colon + 1);
  if (address.empty() || address.size() > 2048)
    return fail("notify target \"" + shown(text) + "\": empty or too long address");
  for (auto [name, k] : kKinds) {
    if (name != kind) continue;
    bool url = k == Kind::kSlack || k == Kind::kWebhook || k == Kind::kDiscord || k == Kind::kTeams;
    if (url && !address.starts_with("https://") && !address.starts_with("http://"))
      return fail("notify target \"" + shown(text) + "\": " + std::string(name) + " needs an http:// or https:// URL");
    if (k == Kind::kEmail &&
        (address.find('@') == std::string_view::npos || address.find_first_of(" \n\r\t<>") != std::string_view::npos))
      return fail("notify target \"" + shown(text) + "\": not an email address");
    return NotifyTarget{k, std::string(address)};
  }
  return fail("notify target \"" + shown(text) + "\": unknown kind \"" + std::string(kind.substr(0, 16)) +
              "\" (slack, webhook, discord, teams, pagerduty, email)");
}

std::string NotifyTarget::redacted() const { return shown(text()); }

std::string NotifyTarget::text() const {
  for (auto [name, k] : kKinds)
    if (k == kind) return std::string(name) + ":" + address;
  return address;
}

std::string no_target_warning(const Config& c) {
  auto defaults = c.targets(c.defaults.notify);
  if (!defaults || !defaults->empty()) return {};  // a broken list is an error of its own
  bool some = false;
  for (const auto& m : c.monitors)
    if (m.settings.notify)
      if (auto t = c.targets(*m.settings.notify); t && !t->empty()) some = true;
  std::string where = c.source.starts_with("<") ? std::string(kDefaultConfigPath) : c.source;
  return std::string(some ? "defaults.notify has no target: alerts of monitors without a notify list of their own"
                          : "no notify target: alerts") +
         " are recorded but sent nowhere; add one to notify.default in " + where +
         " (e.g. slack:https://hooks.slack.com/services/...), then run cronitor-agent test-alert";
}

}  // namespace cronitor::agent
