// What a job's page says about its settings: those in force (as `# cronitor:` names) and those
// its history suggests (`cronitor-agent suggest`'s advise()). Pure.
#pragma once

#include <nlohmann/json.hpp>

#include "agent/eval/monitor.h"
#include "agent/eval/tolerance_advice.h"

namespace cronitor::agent::dashboard {

/// {"settings": [[NAME, VALUE], ...] in force for `m`, by their `# cronitor:` names,
/// "max_runtime_ms": its max runtime (null: none), "suggested": {"comment", "yaml", "why", "runs"}}
/// from `advice`.
nlohmann::json job_extras(const MonitorConfig& m, const ToleranceAdvice& advice);

}  // namespace cronitor::agent::dashboard
