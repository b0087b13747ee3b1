// Values several tests of agent/ share: one definition each, so that the tests compiled together
// (a unity build puts several test files in one translation unit) agree on them.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>

#include "common/event.h"
#include "schedule/zone.h"

namespace cronitor::agent::test_values {

/// The uid of nobody on Debian.
inline constexpr uid_t kNobody = 65534;
/// A pid above any pid_max: never a process.
inline constexpr pid_t kNoProcess = 0x7ffffff0;
/// Notify targets that nothing listens on: an Alertmanager and a Slack webhook.
inline const std::string kAm = "alertmanager:http://127.0.0.1:9093";
inline const std::string kSlack = "slack:http://127.0.0.1:1/x";
/// Run ids of the wrapper's wire format (UUIDs) and systemd invocation ids (128-bit hex).
inline constexpr const char* kRunUuid1 = "11111111-1111-4111-8111-111111111111";
inline constexpr const char* kRunUuid2 = "22222222-2222-4222-8222-222222222222";
inline constexpr char kInvocationId1[] = "0123456789abcdef0123456789abcdef";
inline constexpr char kInvocationId2[] = "fedcba9876543210fedcba9876543210";
/// The dashboard's "now" in its tests (2027-01-15T08:00:00Z).
inline const schedule::Instant kDashboardNow = schedule::Instant(std::chrono::seconds(1'800'000'000));

/// A run event as a wrapper of `uid` sends it on the socket (run id, timestamp, host, pid set).
inline cronitor::RunEvent wrapper_event(const std::string& key, int64_t uid) {
  cronitor::RunEvent e;
  e.key = key;
  e.run_id = "0f8fad5b-d9cb-469f-a165-70867728950e";
  e.ts = "2026-11-21T09:35:39.123Z";
  e.host = "h";
  e.pid = 7;
  e.uid = uid;
  return e;
}

}  // namespace cronitor::agent::test_values
