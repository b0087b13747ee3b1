#include "uplink/alert.h"

#include <cctype>

namespace cronitor::uplink {
namespace {

/// A key as one shell word: keys are mostly [A-Za-z0-9._-], others are single-quoted.
std::string shell_word(const std::string& s) {
  bool plain = !s.empty();
  for (unsigned char c : s)
    if (!(std::isalnum(c) || c == '.' || c == '_' || c == '-' || c == ':' || c == '/' || c == '@')) plain = false;
  if (plain) return s;
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

}  // namespace

std::vector<std::string> act_commands(const Alert& a) {
  if (a.key.empty() || a.key.starts_with("host:") || a.key.starts_with("uplink:") || a.kind == Alert::Kind::kTest ||
      a.kind == Alert::Kind::kDigest)
    return {};
  const std::string k = shell_word(a.key);
  if (a.kind == Alert::Kind::kRemoved) return {"cronitor-agent history " + k};
  return {"cronitor-agent pause " + k + " --for 2h", "cronitor-agent history " + k};
}

const char* kind_name(Alert::Kind k) {
  switch (k) {
    case Alert::Kind::kMissed:
      return "missed";
    case Alert::Kind::kFailed:
      return "failed";
    case Alert::Kind::kHung:
      return "hung";
    case Alert::Kind::kOverlap:
      return "overlapped";
    case Alert::Kind::kAssertion:
      return "assertion-failed";
    case Alert::Kind::kRemoved:
      return "removed";
    case Alert::Kind::kRecovered:
      return "recovered";
    case Alert::Kind::kRealert:
      return "still-failing";
    case Alert::Kind::kCronDown:
      return "cron-down";
    case Alert::Kind::kCronUp:
      return "cron-up";
    case Alert::Kind::kTest:
      return "test";
    case Alert::Kind::kFlapping:
      return "flapping";
    case Alert::Kind::kDigest:
      return "digest";
    case Alert::Kind::kDowntime:
      return "downtime";
    case Alert::Kind::kSnoozeEnded:
      return "snooze-ended";
    case Alert::Kind::kTooOften:
      return "ran-too-often";
    case Alert::Kind::kZoneChanged:
      return "timezone-changed";
    case Alert::Kind::kSkipped:
      return "skipped";
  }
  return "unknown";
}

Alert test_alert(const std::string& host, Instant at) {
  Alert a;
  a.kind = Alert::Kind::kTest;
  a.key = "test-alert";
  a.name = "test-alert";
  a.at = at;
  a.summary = "Test alert from cronitor-agent on " + host;
  a.detail = "If you can read this, alerts from this host reach you.";
  return a;
}

}  // namespace cronitor::uplink
