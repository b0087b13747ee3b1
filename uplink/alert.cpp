#include "uplink/alert.h"

namespace cronitor::uplink {

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
  }
  return "unknown";
}

}  // namespace cronitor::uplink
