// A slot whose run the agent could not have seen: the kernel dropped process events (ENOBUFS)
// while the slot came, and nothing else (a wrapper, cron's CMD lines) reports the job's runs. A
// run may have started and ended inside the gap; telling the slot as missed would be a guess.
// Never record what was not seen: the slot is neither a miss nor a run, the monitor waits for
// the next one, and the caller says so in the log. Pure: the daemon applies it
// (agent/daemon/daemon_proc.cpp).
#pragma once

#include "agent/eval/monitor.h"

namespace cronitor::agent {

/// When the slot `s` waits for came within [from, to] (a second's slack either side: two clocks'
/// rounding) and no run started since `from`, the slot is served as unobserved and true is
/// returned; else nothing changes. Monitors counting from their previous run (heartbeats) and
/// removed ones are left alone.
bool absorb_unobserved_slot(const MonitorConfig& c, MonitorState& s, Instant from, Instant to);

}  // namespace cronitor::agent
