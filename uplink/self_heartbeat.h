// The agent's own liveness upstream (`uplink.heartbeat`): a monitor of its own, named after the
// host, that the agent pings every interval, so the upstream alerts when the host or the agent
// goes silent (issue 17: "the agent is never down without someone knowing"). Pure: the daemon
// arms the timer and queues the beats (agent/daemon/upstreams.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "uplink/settings.h"
#include "uplink/telemetry.h"

namespace cronitor::uplink {

/// MonitorInfo::type of the agent's own monitor: how each upstream knows a beat from a run.
inline constexpr std::string_view kHeartbeatType = "heartbeat";
/// The outbox kind of a beat: only the newest of a job's queued beats is kept (Outbox::replace).
inline constexpr std::string_view kHeartbeatKind = "heartbeat";

/// The key of the agent's own monitor: the configured one, else "cronitor-agent-" + the host
/// name as a slug (what Healthchecks and Sentry take), cut to Sentry's 50 characters.
std::string heartbeat_key(const HeartbeatSettings& s, std::string_view host);

/// The agent's own monitor as upstreams see it: type "heartbeat", "every N minutes" (Cronitor's
/// form; Sentry's interval schedule), the grace, no time zone (an interval has none).
MonitorInfo heartbeat_monitor(const HeartbeatSettings& s, std::string_view host);

/// One beat at `now_ms` (Unix ms): a success of the agent's own monitor, without a run id
/// (a heartbeat is one check-in, not a run's start and end).
Telemetry heartbeat_beat(const HeartbeatSettings& s, std::string_view host, int64_t now_ms);

/// True for a beat of the agent's own monitor (as the outbox's row carries it).
inline bool is_heartbeat(const MonitorInfo* m) { return m && m->type == kHeartbeatType; }

}  // namespace cronitor::uplink
