// Alert messages in each receiver's format: Slack, generic webhook, Discord, Teams, PagerDuty, email,
// Alertmanager.
#pragma once

#include <string>
#include <vector>

#include "uplink/alert.h"
#include "uplink/alertmanager.h"
#include "uplink/notify_target.h"

namespace cronitor::uplink {

/// One message ready to send: an HTTP POST, or (email) a mail for sendmail.
struct OutgoingMessage {
  std::string url;  // empty for email
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::string> headers;
  std::string mail_to;  // email only
};

/// The PagerDuty Events v2 endpoint (CRONITOR_PAGERDUTY_URL overrides it, for tests).
std::string pagerduty_url();

/// Formats `alert` for `target`; `host` names this machine. `am`: when an Alertmanager alert is
/// posted and how often it is posted again (its endsAt).
OutgoingMessage format_alert(const Alert& alert, const NotifyTarget& target, const std::string& host,
                             const AlertmanagerTiming& am = {});

/// Slack incoming-webhook JSON: `text` fallback plus blocks.
std::string slack_body(const Alert& a, const std::string& host);
/// The generic webhook body (documented in agent/README.md).
std::string webhook_body(const Alert& a, const std::string& host);

}  // namespace cronitor::uplink
