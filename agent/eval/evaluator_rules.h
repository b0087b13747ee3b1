// The evaluator's rules, shared by its two halves: evaluator.cpp (what time and run events do to a
// monitor) and evaluator_rules.cpp (the pieces they are made of: alerts, incidents, flapping, slots,
// reminders). Internal to agent/eval/; the interface is evaluator.h.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "agent/eval/evaluator.h"

namespace cronitor::agent::rules {

using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::seconds;

/// Runs left open this long (wrapper killed before it could report) are forgotten silently.
inline constexpr auto kStaleRun = std::chrono::hours(24);
/// Misses counted one by one after a long downtime before skipping to the present.
inline constexpr int kMaxMissLoop = 1000;
/// A reminder with nothing new waits at least this long.
inline constexpr auto kQuietReminder = std::chrono::hours(24);

bool unfed(const MonitorConfig& c, const MonitorState& s);
std::string display(const MonitorConfig& c);
std::string iso(Instant t, const schedule::Zone& z = schedule::Zone::utc());
Alert make_alert(const MonitorConfig& c, Alert::Kind kind, Instant at);
std::string kind_state(const std::string& kind);
std::string ordinal(int n);
std::string quiet_text(const MonitorConfig& c);
bool paused_at(const MonitorConfig& c, const MonitorState& s, Instant t);
bool flap(const MonitorConfig& c, MonitorState& s, bool faulty, Instant at, const std::string& reason, Actions& out);
void settle(const MonitorConfig& c, MonitorState& s, Instant now, Actions& out);
void fault(const MonitorConfig& c, MonitorState& s, Alert a, Actions& out);
int count_failure(const MonitorConfig& c, MonitorState& s);
bool failure_alerts(const MonitorConfig& c, const MonitorState& s, int failures_in_window);
std::string join_codes(const std::vector<int>& codes);
void good_run(const MonitorConfig& c, MonitorState& s, Instant at, Actions& out);
std::optional<Instant> cover_slot(const MonitorConfig& c, MonitorState& s, Instant t);
bool runs_too_often(const MonitorConfig& c, MonitorState& s, Instant t, std::optional<Instant> covered, Actions& out);
void end_heartbeat_run(const MonitorConfig& c, MonitorState& s, Instant started, Instant end);
void heartbeat_missed_text(const MonitorConfig& c, const MonitorState& s, Instant last, Alert& a);
std::string failure_reason(const RunEvent& ev);
void fill_run(Alert& a, const RunEvent& ev, milliseconds duration);
void resolve_cron(HostState& host, Instant at, const std::string& hostname, const std::string& why, Actions& out);
std::optional<Instant> reminder_due(const MonitorConfig& c, const MonitorState& s);

}  // namespace cronitor::agent::rules
