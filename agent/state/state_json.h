// JSON forms of the evaluator's state and alerts, as stored in state.db and sent to webhooks.
#pragma once

#include <nlohmann/json.hpp>

#include "agent/eval/monitor.h"
#include "common/error.h"
#include "uplink/alert.h"

namespace cronitor::agent {

using uplink::Alert;

nlohmann::json to_json(const MonitorState& s);
/// The same JSON text as to_json(s).dump(), built faster (it is written at every commit).
std::string state_text(const MonitorState& s);
[[nodiscard]] Result<MonitorState> monitor_state_from_json(const nlohmann::json& j);
nlohmann::json to_json(const HostState& s);
[[nodiscard]] Result<HostState> host_state_from_json(const nlohmann::json& j);
/// The alert as stored in the outbox (lossless; instants in microseconds).
nlohmann::json to_json(const Alert& a);
[[nodiscard]] Result<Alert> alert_from_json(const nlohmann::json& j);

int64_t to_us(Instant t);
Instant from_us(int64_t us);
int64_t to_ms(Instant t);
Instant from_ms(int64_t ms);

}  // namespace cronitor::agent
