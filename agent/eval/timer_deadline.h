// How a live systemd manager shapes a timer monitor's deadlines: monotonic timers (OnBootSec=,
// OnUnitActiveSec=, ...) wait for the manager's next elapse, and a Persistent= timer's catch-up
// run after boot is neither late nor an overlap. Pure: the daemon applies them to its monitors.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "agent/eval/monitor.h"

namespace cronitor::agent {

/// The manager's next elapse (CLOCK_REALTIME µs, 0: none) as an instant.
std::optional<Instant> elapse_instant(uint64_t usec);

/// True when the monitor's slots come from the manager rather than our calendar engine: timers
/// without OnCalendar= (a heartbeat from OnUnitActiveSec=/OnUnitInactiveSec=, or none at all).
bool expects_manager_elapse(const MonitorConfig& c);

/// Takes the manager's next elapse as the slot the monitor waits for. A slot that has come and
/// waits for its run (or its miss) stays: the manager moves its next elapse on as it fires,
/// whether or not the service then starts. True if the state changed.
bool adopt_next_elapse(const MonitorConfig& c, MonitorState& s, std::optional<Instant> next, Instant now);

/// The lateness slack the manager itself allows: AccuracySec= + RandomizedDelaySec=. The grace
/// becomes at least that. True if it changed.
bool widen_grace(MonitorConfig& c, uint64_t accuracy_usec, uint64_t randomized_delay_usec);

/// When the manager is listed (the agent started, or the manager came back): the slot the
/// monitor waits for is overdue. If the manager fired for it (LastTriggerUSec) while we did not
/// watch, it was served; a Persistent= timer catches up on what it missed while it was off (at
/// boot). Neither is a miss: the monitor moves on. True if it changed.
bool skip_served_slots(const MonitorConfig& c, MonitorState& s, std::optional<Instant> last_trigger, bool persistent,
                       Instant now);

/// A catch-up run that started at `started`: the manager triggered it as the timer became active,
/// for slots that passed while it was off (Persistent= at boot; and on systemd 252 any calendar
/// timer started again, systemd #31231). Slots overdue by then are what it catches up on (no
/// miss); runs left open from before it ended unseen (systemd runs one instance of a unit; the
/// host went down with them), so it is no overlap; and it is no run of the slot to come
/// (catch_up_run). True if what state.db holds changed.
bool absorb_catch_up(const MonitorConfig& c, MonitorState& s, Instant started);

/// True when the run that started at `started` is the catch-up run absorb_catch_up was told of
/// (once: it forgets it). Such a run takes a slot that has come, never one ahead of it, and is
/// not counted among a slot's runs ("ran too often"): the manager, not a person or a second
/// scheduler, started it, and it still fires the coming slot.
bool catch_up_run(MonitorState& s, Instant started);

}  // namespace cronitor::agent
