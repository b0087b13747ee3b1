// Where an alert goes: "slack:URL", "webhook:URL", ... as written in agent.yaml's notify lists.
#pragma once

#include <string>
#include <string_view>

#include "common/error.h"

namespace cronitor::uplink {

/// One destination of an alert: "slack:URL", "webhook:URL", "discord:URL", "teams:URL",
/// "pagerduty:ROUTING_KEY", "email:ADDRESS", "alertmanager:URL".
struct NotifyTarget {
  enum class Kind { kSlack, kWebhook, kDiscord, kTeams, kPagerDuty, kEmail, kAlertmanager };
  Kind kind = Kind::kSlack;
  std::string address;

  [[nodiscard]] static Result<NotifyTarget> parse(std::string_view text);
  std::string text() const;      // back to "kind:address"
  std::string redacted() const;  // what output and logs may show: "slack:https://hooks.slack.com/..."
  friend bool operator==(const NotifyTarget&, const NotifyTarget&) = default;
};

}  // namespace cronitor::uplink
