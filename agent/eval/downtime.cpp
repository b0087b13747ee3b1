#include "agent/eval/downtime.h"

#include <string_view>

#include "agent/eval/evaluator_rules.h"
#include "common/duration.h"
#include "schedule/iso8601.h"

namespace cronitor::agent {
namespace {

using std::chrono::seconds;

/// Slots counted one by one per monitor; past this the notice says "more than".
constexpr int kMaxCount = 1000;
/// Jobs named in one notice; the rest are summed up.
constexpr size_t kMaxJobsNamed = 20;

using rules::iso;

std::string runs(int n, bool more) {
  return (more ? "more than " : "") + std::to_string(n) + (n == 1 && !more ? " run" : " runs");
}

}  // namespace

std::vector<DowntimeWindow> downtime_windows(const HostState& host, Instant boot, Instant now, seconds min_gap) {
  std::vector<DowntimeWindow> out;
  if (!host.last_seen) return out;
  const Instant seen = *host.last_seen;
  if (boot > seen) {
    // The host restarted since the agent last ran: down from the shutdown it recorded (when
    // that shutdown is the one before this boot), else from its last sign of life.
    Instant from = seen;
    if (host.shutdown_at && *host.shutdown_at < boot) from = std::min(from, *host.shutdown_at);
    if (boot - from >= min_gap) out.push_back({DowntimeWindow::Cause::kHostDown, from, boot});
    if (now - boot >= min_gap) out.push_back({DowntimeWindow::Cause::kAgentStopped, boot, now});
  } else if (now - seen >= min_gap) {
    out.push_back({DowntimeWindow::Cause::kAgentStopped, seen, now});
  }
  return out;
}

SkippedSlots skip_downtime(const MonitorConfig& c, MonitorState& s, const DowntimeWindow& w) {
  SkippedSlots r;
  if (s.removed || c.paused || !c.schedule || !s.expected) return r;
  if (s.paused_until && w.to < *s.paused_until) return r;            // paused: its slots say nothing anyway
  if (c.awaits_first_run && !s.last_start && !s.last_end) return r;  // unfed: moves on silently
  if (*s.expected + c.grace <= w.from) return r;                     // due while the agent still ran: a real miss
  while (s.expected && *s.expected < w.to) {
    if (r.count == 0) r.first = *s.expected;
    r.last = *s.expected;
    if (++r.count >= kMaxCount) {
      r.more = true;
      s.expected = c.schedule->next(w.to - std::chrono::microseconds(1), c.zone);
      break;
    }
    s.expected = c.schedule->next(*s.expected, c.zone);
  }
  return r;
}

std::optional<Action> downtime_notice(const DowntimeWindow& w, const std::vector<DowntimeJob>& jobs,
                                      const std::string& host) {
  int total = 0;
  bool more = false;
  for (const auto& j : jobs) {
    total += j.slots.count;
    more |= j.slots.more;
  }
  if (total == 0) return std::nullopt;
  const bool down = w.cause == DowntimeWindow::Cause::kHostDown;
  Alert a;
  a.kind = Alert::Kind::kDowntime;
  a.key = "host:downtime";
  a.name = down ? "host down" : "agent stopped";
  a.at = w.to;
  a.incident_opened = w.from;
  a.down_for = std::chrono::duration_cast<seconds>(w.to - w.from);
  std::string count = runs(total, more);
  count[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(count[0])));
  // "on HOST" inside the summary: the message formats then do not append it again.
  a.summary = count + (host.empty() ? "" : " on " + host) + (total == 1 && !more ? " was" : " were") + " due while " +
              (down ? "the host was down" : "the agent was stopped") + " (from " + iso(w.from) + " to " + iso(w.to) +
              ")";
  a.detail = std::string("Not counted as missed runs: ") + (down ? "the host was off for " : "no agent watched for ") +
             format_duration(*a.down_for) + (down ? " (the kernel booted at " + iso(w.to) + ")" : "") + ". ";
  size_t named = 0;
  for (const auto& j : jobs) {
    if (j.slots.count == 0) continue;
    if (named++ == kMaxJobsNamed) {
      a.detail += "; and more jobs";
      break;
    }
    if (named > 1) a.detail += "; ";
    a.detail += j.name + ": " + runs(j.slots.count, j.slots.more) + " (" + iso(j.slots.first, j.zone) +
                (j.slots.count > 1 ? " to " + iso(j.slots.last, j.zone) : "") + ")";
  }
  return Action{Action::Type::kNotice, std::move(a)};
}

Actions evaluate_downtime(std::span<const MonitorConfig> configs, std::span<MonitorState> states,
                          const DowntimeWindow& w, const std::string& host, bool alert,
                          std::vector<uint32_t>* changed) {
  std::vector<DowntimeJob> jobs;
  for (size_t i = 0; i < configs.size() && i < states.size(); ++i) {
    // An incident opened inside a host-down window was opened by the shutdown (jobs killed by
    // it, while nothing was sent): closed without a word, so the boot brings no "recovered".
    if (MonitorState& s = states[i];
        w.cause == DowntimeWindow::Cause::kHostDown && s.incident && s.incident->opened >= w.from) {
      s.incident.reset();
      s.consecutive_failures = 0;
      if (changed) changed->push_back(static_cast<uint32_t>(i));
    }
    SkippedSlots r = skip_downtime(configs[i], states[i], w);
    if (r.count == 0) continue;
    if (changed && (changed->empty() || changed->back() != i)) changed->push_back(static_cast<uint32_t>(i));
    jobs.push_back({configs[i].name.empty() ? configs[i].key : configs[i].name, r, configs[i].zone});
  }
  Actions out;
  if (!alert) return out;
  if (auto a = downtime_notice(w, jobs, host)) out.push_back(std::move(*a));
  return out;
}

std::optional<Action> snooze_end_notice(Instant at, Instant since, const std::string& reason,
                                        const std::vector<OpenIncident>& open, const std::string& host) {
  if (open.empty()) return std::nullopt;
  Alert a;
  a.kind = Alert::Kind::kSnoozeEnded;
  a.key = "host:snooze";
  a.name = "snooze";
  a.at = at;
  a.incident_opened = since;
  a.summary = "Snooze ended" + (host.empty() ? std::string() : " on " + host) + ": " + std::to_string(open.size()) +
              (open.size() == 1 ? " incident is" : " incidents are") + " still open";
  a.detail = "Snoozed since " + iso(since) + (reason.empty() ? std::string() : " (" + reason + ")") +
             "; alerts were recorded, not sent. Still open: ";
  size_t named = 0;
  for (const auto& o : open) {
    if (named++ == kMaxJobsNamed) {
      a.detail += "; and " + std::to_string(open.size() - kMaxJobsNamed) + " more";
      break;
    }
    if (named > 1) a.detail += "; ";
    a.detail += o.name + " (" + o.incident.kind + " since " + iso(o.incident.opened) + ": " + o.incident.reason + ")";
  }
  return Action{Action::Type::kNotice, std::move(a)};
}

}  // namespace cronitor::agent
