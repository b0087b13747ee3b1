#include "uplink/self_heartbeat.h"

#include <algorithm>

#include "uplink/upstream.h"

namespace cronitor::uplink {

std::string heartbeat_key(const HeartbeatSettings& s, std::string_view host) {
  if (!s.key.empty()) return s.key;
  std::string key = "cronitor-agent-" + slugify(host);
  if (key.size() > 50) key.resize(50);  // Sentry's slug limit
  while (key.back() == '-') key.pop_back();
  return key;
}

MonitorInfo heartbeat_monitor(const HeartbeatSettings& s, std::string_view host) {
  MonitorInfo m;
  m.key = heartbeat_key(s, host);
  m.name = "cronitor-agent on " + std::string(host);
  m.type = std::string(kHeartbeatType);
  const long long minutes = std::max<long long>(1, s.interval.count() / 60);
  m.schedule = "every " + std::to_string(minutes) + (minutes == 1 ? " minute" : " minutes");
  m.grace_seconds = s.grace.count();
  // Cronitor's list that every account has (it cannot be deleted): an empty `notify` could leave
  // the one monitor that tells of a dead agent alerting nobody.
  m.notify = {"default"};
  m.note = "cronitor-agent's own liveness on " + std::string(host) +
           " (uplink.heartbeat in agent.yaml): silent when the host or the agent is down";
  return m;
}

Telemetry heartbeat_beat(const HeartbeatSettings& s, std::string_view host, int64_t now_ms) {
  Telemetry t;
  t.key = heartbeat_key(s, host);
  t.state = Telemetry::State::kComplete;
  t.ts_ms = now_ms;
  t.host = std::string(host);
  return t;
}

}  // namespace cronitor::uplink
