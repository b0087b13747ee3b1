#include "agent/eval/evaluator_rules.h"

#include <algorithm>

#include "agent/eval/run_outcome.h"
#include "agent/eval/slot_runs.h"
#include "common/duration.h"
#include "schedule/iso8601.h"

namespace cronitor::agent::rules {

/// No run of this monitor has reached the agent, and nothing is known to report them.
bool unfed(const MonitorConfig& c, const MonitorState& s) { return c.awaits_first_run && !s.last_start && !s.last_end; }

std::string display(const MonitorConfig& c) { return c.name.empty() ? c.key : c.name; }

std::string iso(Instant t, const schedule::Zone& z) {
  return schedule::format_iso8601(std::chrono::floor<seconds>(t), z);
}

Alert make_alert(const MonitorConfig& c, Alert::Kind kind, Instant at) {
  Alert a;
  a.kind = kind;
  a.key = c.key;
  a.name = display(c);
  a.at = at;
  if (c.heartbeat)
    a.schedule = c.heartbeat->what;
  else if (c.schedule)
    a.schedule = c.schedule_text();
  a.timezone = c.zone.name();
  a.environment = c.environment;
  a.source = c.source();
  a.user = c.user;
  a.command = c.command;
  return a;
}

/// An incident's kind as a state: "failing since", "is still failing" (never "was failed").
std::string kind_state(const std::string& kind) {
  if (kind == "failed") return "failing";
  if (kind == "missed") return "missing its runs";
  if (kind == "overlapped") return "overlapping";
  if (kind == "assertion-failed") return "failing an assertion";
  return kind;  // hung, flapping, still-failing
}

std::string ordinal(int n) {
  const char* suffix = (n % 100 >= 11 && n % 100 <= 13) ? "th"
                       : n % 10 == 1                    ? "st"
                       : n % 10 == 2                    ? "nd"
                       : n % 10 == 3                    ? "rd"
                                                        : "th";
  return std::to_string(n) + suffix;
}

/// What the incident does next once this alert is the last before it goes quiet.
std::string quiet_text(const MonitorConfig& c) {
  std::string t = "quiet now until it recovers";
  if (c.realert_interval.count() > 0)
    t += "; one reminder with the count of new faults every " + format_duration(c.realert_interval);
  return t;
}

bool paused_at(const MonitorConfig& c, const MonitorState& s, Instant t) {
  return c.paused || (s.paused_until && t < *s.paused_until);
}

/// Notes an alert-worthy outcome (a fault, or a healthy run) for flapping detection. True when
/// the job flaps: the caller then records the outcome without sending anything.
bool flap(const MonitorConfig& c, MonitorState& s, bool faulty, Instant at, const std::string& reason, Actions& out) {
  const bool changed = faulty != s.faulty;
  s.faulty = faulty;
  if (c.flapping_threshold <= 0) return false;
  if (changed) {
    s.flips.push_back(at);
    std::erase_if(s.flips, [&](Instant f) { return f + c.flapping_window < at; });
    if (s.flips.size() > static_cast<size_t>(c.flapping_threshold)) s.flips.erase(s.flips.begin());
  }
  if (s.flapping) return true;
  if (s.flips.size() < static_cast<size_t>(c.flapping_threshold)) return false;
  s.flapping = true;
  Alert a = make_alert(c, Alert::Kind::kFlapping, at);
  a.summary = display(c) + " is flapping: " + std::to_string(s.flips.size()) +
              " changes between failing and healthy within " + format_duration(c.flapping_window);
  a.detail = "Latest: " + reason + ". No more alerts for this job until it keeps one state for " +
             format_duration(c.flapping_window) + " (flapping_window)";
  if (!s.incident) {
    s.incident = Incident{at, "flapping", 1, at, a.summary};
    a.incident_opened = at;
    out.push_back(Action{Action::Type::kOpen, std::move(a)});
    return true;
  }
  Incident& inc = *s.incident;
  inc.kind = "flapping";
  inc.reason = a.summary;
  ++inc.alerts_sent;
  inc.last_alert = at;
  a.update = true;
  a.incident_opened = inc.opened;
  out.push_back(Action{Action::Type::kUpdate, std::move(a)});
  return true;
}

/// A flapping job that kept one state for a whole window is stable again: resolve its incident,
/// or, when it keeps failing, say so once and let the incident go on as a plain one.
void settle(const MonitorConfig& c, MonitorState& s, Instant now, Actions& out) {
  if (!s.flapping || (!s.flips.empty() && now < s.flips.back() + c.flapping_window)) return;
  const Instant since = s.flips.empty() ? now : s.flips.back();
  s.flapping = false;
  s.flips.clear();
  if (!s.incident) return;
  Incident& inc = *s.incident;
  if (!s.faulty) {
    Alert a = make_alert(c, Alert::Kind::kRecovered, since + c.flapping_window);
    auto down = duration_cast<seconds>(a.at - inc.opened);
    a.down_for = down;
    a.update = true;
    a.incident_opened = inc.opened;
    a.summary = display(c) + " is stable again: healthy since " + iso(since, c.zone);
    a.detail = "It was " + kind_state(inc.kind) + " since " + iso(inc.opened, c.zone) + "; last problem: " + inc.reason;
    a.exit_code = s.last_exit_code;
    a.duration_ms = s.last_duration_ms;
    a.last_success = s.last_success;
    s.incident.reset();
    out.push_back(Action{Action::Type::kResolve, std::move(a)});
    return;
  }
  Alert a = make_alert(c, Alert::Kind::kRealert, since + c.flapping_window);
  a.update = true;
  a.incident_opened = inc.opened;
  a.summary = display(c) + " stopped flapping and keeps failing (since " + iso(since, c.zone) + ")";
  a.detail = "Last problem: " + inc.reason;
  inc.kind = "failed";
  ++inc.alerts_sent;
  inc.last_alert = a.at;
  out.push_back(Action{Action::Type::kUpdate, std::move(a)});
}

/// Routes a fault into the incident: opens one, or updates the open one (surge protection).
void fault(const MonitorConfig& c, MonitorState& s, Alert a, Actions& out) {
  if (paused_at(c, s, a.at)) return;
  a.last_success = s.last_success;
  a.failed_since_success = s.failed_since_success;
  if (flap(c, s, true, a.at, a.summary, out)) {
    if (!s.incident) return;
    a.update = true;
    a.incident_opened = s.incident->opened;
    s.incident->reason = a.summary;
    out.push_back(Action{Action::Type::kSuppressed, std::move(a)});
    return;
  }
  if (!s.incident) {
    s.incident = Incident{a.at, kind_name(a.kind), 1, a.at, a.summary};
    a.incident_opened = a.at;
    a.alert_number = 1;
    if (c.consecutive_alert_threshold <= 1) {
      a.going_quiet = true;
      a.detail += (a.detail.empty() ? "" : ". ") + std::string("Further faults: ") + quiet_text(c);
    }
    out.push_back(Action{Action::Type::kOpen, std::move(a)});
    return;
  }
  Incident& inc = *s.incident;
  a.update = true;
  a.incident_opened = inc.opened;
  inc.reason = a.summary;
  if (inc.alerts_sent >= c.consecutive_alert_threshold) {
    ++inc.folded;
    inc.last_folded = a.at;
    out.push_back(Action{Action::Type::kSuppressed, std::move(a)});
    return;
  }
  ++inc.alerts_sent;
  inc.last_alert = a.at;
  inc.folded = 0;
  a.alert_number = inc.alerts_sent;
  // An update says where the incident stands, so it does not read like the first alert again.
  a.summary += " (" + ordinal(inc.alerts_sent) + " alert since " + iso(inc.opened, c.zone) + ")";
  if (inc.alerts_sent >= c.consecutive_alert_threshold) {
    a.going_quiet = true;
    a.detail += (a.detail.empty() ? "" : ". ") + ordinal(inc.alerts_sent) + " alert: " + quiet_text(c);
  }
  out.push_back(Action{Action::Type::kUpdate, std::move(a)});
}

/// Whether a failure alerts: past failure_tolerance consecutive failures, or with a window
/// ("K of N") once K of the last N runs failed.
/// A failed run (exit code or assertion) in the counters; returns the failures in the window.
int count_failure(const MonitorConfig& c, MonitorState& s) {
  ++s.failed_since_success;
  ++s.consecutive_failures;
  s.consecutive_good = 0;
  s.consecutive_warnings = 0;
  s.last_status = "failed";
  return remember_outcome(c, s, true);
}

bool failure_alerts(const MonitorConfig& c, const MonitorState& s, int failures_in_window) {
  if (c.failure_window > 0) return failures_in_window >= c.failure_tolerance;
  return s.consecutive_failures > c.failure_tolerance;
}

std::string join_codes(const std::vector<int>& codes) {
  std::string out;
  for (int code : codes) out += (out.empty() ? "" : ", ") + std::to_string(code);
  return out;
}

void good_run(const MonitorConfig& c, MonitorState& s, Instant at, Actions& out) {
  s.consecutive_failures = 0;
  s.consecutive_misses = 0;
  ++s.consecutive_good;
  const std::optional<Instant> previous_success = s.last_success;
  const int failed_before = s.failed_since_success;
  s.last_success = at;
  s.failed_since_success = 0;
  if (flap(c, s, false, at, "a healthy run", out)) return;
  if (!s.incident || s.consecutive_good < c.recovery_threshold) return;
  // Healthy runs are what a doubled job makes: only a slot within the rule ends this incident.
  if (s.incident->kind == kind_name(Alert::Kind::kTooOften)) return;
  const Incident inc = *s.incident;
  s.incident.reset();
  Alert a = make_alert(c, Alert::Kind::kRecovered, at);
  auto down = duration_cast<seconds>(at - inc.opened);
  a.down_for = down;
  a.update = true;
  a.incident_opened = inc.opened;
  a.summary = display(c) + " recovered after " + format_duration(down) + " down";
  a.detail =
      "Open since " + iso(inc.opened, c.zone) + " (first problem: " + inc.kind + "); last problem: " + inc.reason;
  a.exit_code = s.last_exit_code;  // the good run's
  a.duration_ms = s.last_duration_ms;
  // The last success is this run (issue 17: not "never seen (3 runs failed since)" on the run
  // that succeeded); what came before it is said in words.
  a.last_success = at;
  a.failed_since_success = 0;
  if (failed_before > 0)
    a.detail +=
        "; " + std::to_string(failed_before) + (failed_before == 1 ? " run" : " runs") +
        " failed before this one, after " +
        (previous_success ? "the success of " + iso(*previous_success, c.zone) : std::string("no success seen"));
  out.push_back(Action{Action::Type::kResolve, std::move(a)});
}

/// A run that started at `t` covers the slot the monitor waits for (a little early counts too).
/// Returns that slot, or nullopt when the run took none. A slot may exist without a schedule (a
/// monotonic timer's, announced by the manager).
std::optional<Instant> cover_slot(const MonitorConfig& c, MonitorState& s, Instant t) {
  if (!s.expected) return std::nullopt;
  if (auto period = c.schedule ? c.schedule->interval() : std::nullopt) {  // a heartbeat: due a period later
    s.consecutive_misses = 0;
    s.expected = std::max(*s.expected, t + *period);
    return std::nullopt;
  }
  const auto early = std::min<seconds>(c.grace, seconds(60));
  if (t + early < *s.expected) return std::nullopt;  // a run well before its slot (by hand): not this slot's
  // The slot after the one covered (for an early run: the slot after the coming one).
  const auto next = c.next_slot(std::max(*s.expected, t));
  if (t < *s.expected) {
    // Early by more than half the gap to the slot after: the run belongs to the slot before (a
    // second run of an every-minute job installed twice), not to the coming one.
    if (next && *s.expected - t > (*next - *s.expected) / 2) return std::nullopt;
    // Nearer the slot the last runs took than the coming one: the same, for uneven schedules.
    if (s.slot && t - *s.slot < *s.expected - t) return std::nullopt;
  }
  s.consecutive_misses = 0;
  const Instant covered = *s.expected;
  s.expected = next;
  return covered;
}

namespace {

/// "backup ran 3 times in the slot of 02:30", and why that is too many.
Alert too_often_alert(const MonitorConfig& c, Instant t, Instant slot, int runs, int prompt_runs) {
  Alert a = make_alert(c, Alert::Kind::kTooOften, t);
  a.expected = slot;
  a.summary = display(c) + " ran " + std::to_string(runs) + " times in the slot of " + iso(slot, c.zone).substr(11, 5);
  a.detail = "The slot began at " + iso(slot, c.zone) + "; " + std::to_string(prompt_runs) +
             " of the runs started on time (as cron starts them); the rule allows " +
             std::to_string(c.max_runs_per_slot) + " (max_runs_per_slot) plus one run by hand per slot. " +
             "Is the job installed twice, or a second cron daemon running?";
  return a;
}

}  // namespace

/// Counts a run in its slot (slot_runs.h): more runs than the rule allows open one "ran too
/// often" incident, which later slots over the rule only record, and which ends with the first
/// slot that keeps within the rule. A slot is recorded once, at its first run over the rule;
/// its further runs (a stuck loop) only count, and the slot's final count is recorded when it is
/// over: a job run thousands of times a minute writes and logs nothing per run. True when this
/// run is one too many.
bool runs_too_often(const MonitorConfig& c, MonitorState& s, Instant t, std::optional<Instant> covered, Actions& out) {
  const SlotCount n = count_run_in_slot(c, s, t, covered);
  const char* kind = kind_name(Alert::Kind::kTooOften);
  const bool open = s.incident && s.incident->kind == kind;
  if (n.closed_over && open) {
    Alert a = too_often_alert(c, t, n.closed_over->slot, n.closed_over->runs, n.closed_over->prompt_runs);
    a.update = true;
    a.incident_opened = s.incident->opened;
    s.incident->reason = a.summary;
    out.push_back(Action{Action::Type::kSuppressed, std::move(a)});
  }
  if (n.clean_slot && open) {
    Alert a = make_alert(c, Alert::Kind::kRecovered, t);
    a.down_for = duration_cast<seconds>(t - s.incident->opened);
    a.update = true;
    a.incident_opened = s.incident->opened;
    a.summary =
        display(c) + " runs as scheduled again: the slot of " + iso(*n.clean_slot, c.zone) + " kept within the rule";
    a.detail = "Open since " + iso(s.incident->opened, c.zone) + "; last problem: " + s.incident->reason;
    s.incident.reset();
    out.push_back(Action{Action::Type::kResolve, std::move(a)});
  }
  if (!n.over) return false;
  if (!n.first_over) {
    // Counted; the open incident's reason (saved with the job's state) keeps the count.
    if (s.incident && s.incident->kind == kind)
      s.incident->reason = display(c) + " ran " + std::to_string(s.slot_runs) + " times in the slot of " +
                           iso(*s.slot, c.zone).substr(11, 5);
    return true;
  }
  s.slot_recorded_runs = s.slot_runs;
  Alert a = too_often_alert(c, t, *s.slot, s.slot_runs, s.slot_prompt_runs);
  if (s.incident && s.incident->kind == kind) {  // one alert per incident, not one per slot
    a.update = true;
    a.incident_opened = s.incident->opened;
    s.incident->reason = a.summary;
    out.push_back(Action{Action::Type::kSuppressed, std::move(a)});
    return true;
  }
  s.consecutive_good = 0;
  fault(c, s, std::move(a), out);
  return true;
}

/// A heartbeat run ended at `end`: OnUnitInactiveSec= counts the period from here; a run that outlasted
/// its period (systemd let the elapse pass while the unit was still active) is due at the first
/// period boundary after it ended.
void end_heartbeat_run(const MonitorConfig& c, MonitorState& s, Instant started, Instant end) {
  if (!c.heartbeat || !s.expected || c.heartbeat->period.count() <= 0) return;
  const auto period = duration_cast<Instant::duration>(c.heartbeat->period);
  if (c.heartbeat->anchor == Heartbeat::Anchor::kEnd) {
    s.expected = std::max(*s.expected, end + period);
  } else if (*s.expected < end && started <= end) {
    s.expected = started + period * ((end - started) / period + 1);
  }
}

/// The missed-run text of a heartbeat: what was expected, measured from which run.
void heartbeat_missed_text(const MonitorConfig& c, const MonitorState& s, Instant last, Alert& a) {
  const Heartbeat& h = *c.heartbeat;
  const bool by_end = h.anchor == Heartbeat::Anchor::kEnd;
  const std::optional<Instant>& anchor = by_end ? s.last_end : s.last_start;
  if (anchor && *anchor < last) {
    a.summary = display(c) + " missed its run: no run within " +
                format_duration(duration_cast<seconds>(last - *anchor)) + " of the " +
                (by_end ? "end of the previous one" : "previous one") + " at " + iso(*anchor, c.zone) + " (" + h.what +
                ")";
  } else {
    a.summary = display(c) + " missed its run: no run by " + iso(last, c.zone) + " (" + h.what +
                (!s.last_start && !s.last_end ? "; no run seen since the agent began watching it" : "") + ")";
  }
}

std::string failure_reason(const RunEvent& ev) {
  std::string r;
  if (ev.oom) {
    r = "killed by the OOM killer";
    if (ev.exit_code) r += " (exit code " + std::to_string(*ev.exit_code) + ")";
  } else if (ev.timeout) {
    r = "timed out";
    if (!ev.signal.empty()) r += " (killed with " + ev.signal + ")";
  } else if (!ev.signal.empty()) {
    r = "killed by signal " + ev.signal;
    if (ev.exit_code) r += " (exit code " + std::to_string(*ev.exit_code) + ")";
  } else if (ev.exit_code) {
    r = "exit code " + std::to_string(*ev.exit_code);
  }
  if (!ev.oom && ev.oom_hint && !r.empty()) {
    // The cgroup counter rose, but the kernel named no process of this job (agent/README.md).
    r += ev.oom_maybe ? "; maybe by the OOM killer: it killed " + ev.oom_other +
                            " during the run, which was gone before the agent could tell whether it was this job's"
         : !ev.oom_other.empty()
             ? ", not by the OOM killer (it killed " + ev.oom_other + ", not a process of this job, during the run)"
             : "; its memory cgroup counted an OOM kill during the run, but the kernel log names no process of "
               "this job";
  }
  if (r.empty()) {
    if (!ev.message.empty()) return ev.message;  // e.g. "wrapper lost (killed); job ended at T, exit unknown"
    r = "reported a failure";
  }
  if (!ev.message.empty()) r += ": " + ev.message;
  return r;
}

void fill_run(Alert& a, const RunEvent& ev, milliseconds duration) {
  a.exit_code = ev.exit_code;
  a.signal = ev.signal;
  a.oom = ev.oom;
  a.duration_ms = duration.count();
  a.output_tail = ev.output_tail;
  if (!ev.environment.empty()) a.environment = ev.environment;
  a.peak_memory_bytes = ev.peak_memory_bytes;
  if (ev.oom) {
    a.memory_limit_bytes = ev.memory_limit_bytes;
    a.oom_victim = ev.oom_victim;
  }
}

void resolve_cron(HostState& host, Instant at, const std::string& hostname, const std::string& why, Actions& out) {
  if (!host.cron_incident) return;
  Alert a;
  a.kind = Alert::Kind::kCronUp;
  a.key = "host:cron";
  a.name = "cron daemon";
  a.at = at;
  auto down = duration_cast<seconds>(at - host.cron_incident->opened);
  a.down_for = down;
  a.update = true;
  a.incident_opened = host.cron_incident->opened;
  a.summary = "The cron daemon" + (hostname.empty() ? std::string() : " on " + hostname) + " is running again after " +
              format_duration(down) + " down";
  if (!host.cron_seen_running) {  // it never ran while the agent watched: no "return"
    a.down_for.reset();
    a.summary = "The cron daemon" + (hostname.empty() ? std::string() : " on " + hostname) +
                " is running now (it was not running when the agent began watching, " +
                iso(host.cron_incident->opened, schedule::Zone::utc()) + ")";
  }
  host.cron_seen_running = true;
  a.detail =
      why + "; " + std::to_string(host.suppressed_misses) + " missed cron job runs were folded into this incident";
  host.last_outage_start = host.cron_incident->opened;
  host.last_outage_end = at;
  host.cron_incident.reset();
  host.suppressed_misses = 0;
  out.push_back(Action{Action::Type::kResolve, std::move(a)});
}

/// When the open incident's next reminder is due (none while flapping: that incident is quiet).
std::optional<Instant> reminder_due(const MonitorConfig& c, const MonitorState& s) {
  if (!s.incident || s.flapping || c.realert_interval.count() <= 0) return std::nullopt;
  if (s.incident->kind == kind_name(Alert::Kind::kTooOften)) return std::nullopt;  // one alert per incident
  const auto wait = s.incident->folded > 0 ? c.realert_interval : std::max<seconds>(c.realert_interval, kQuietReminder);
  return s.incident->last_alert + wait;
}

}  // namespace cronitor::agent::rules
