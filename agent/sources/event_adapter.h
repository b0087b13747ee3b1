// The one place that knows the wire format of common/event.h: converts a decoded wire event
// into the evaluator's RunEvent.
#pragma once

#include "agent/eval/run_event.h"
#include "common/error.h"
#include "common/event.h"

namespace cronitor::agent {

/// "2026-11-21T09:35:39.123Z" -> instant; errors for anything else.
[[nodiscard]] Result<Instant> parse_wire_timestamp(std::string_view ts);
/// The evaluator's view of a run/complete/fail wire event (not for "metric" events).
[[nodiscard]] Result<RunEvent> from_wire(const cronitor::RunEvent& w);

}  // namespace cronitor::agent
