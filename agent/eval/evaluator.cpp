#include "agent/eval/evaluator.h"

#include <algorithm>

#include "agent/eval/evaluator_rules.h"
#include "agent/eval/run_outcome.h"
#include "agent/eval/slot_runs.h"
#include "agent/eval/timer_deadline.h"
#include "common/duration.h"
#include "schedule/iso8601.h"

namespace cronitor::agent {
namespace {

using namespace rules;

void on_time(const MonitorConfig& c, MonitorState& s, Instant now, HostState& host, Actions& out) {
  if (s.removed) return;
  if (s.paused_until && now >= *s.paused_until) {  // a timed pause ran out
    Instant until = *s.paused_until;
    s.paused_until.reset();
    if (c.schedule) s.expected = c.next_slot(until);
  }
  if (paused_at(c, s, now)) return;
  settle(c, s, now, out);
  // Hung runs: open past the max runtime of a `metric.duration <` assertion.
  if (auto max = c.max_runtime()) {
    for (auto& r : s.open_runs) {
      if (r.hung_alerted || now < r.started + *max) continue;
      r.hung_alerted = true;
      s.consecutive_good = 0;
      Alert a = make_alert(c, Alert::Kind::kHung, r.started + *max);
      a.duration_ms = max->count();
      a.run_id = r.run_id;  // upstreams get the fault as part of this run
      a.summary = display(c) + " is hung: still running after " + format_duration(duration_cast<seconds>(*max));
      a.detail = "Run " + r.run_id + " started at " + iso(r.started, c.zone) +
                 " and has not finished (max runtime from the duration assertion)";
      fault(c, s, std::move(a), out);
    }
  }
  std::erase_if(s.open_runs, [&](const OpenRun& r) {
    return now - r.started > kStaleRun + c.max_runtime().value_or(milliseconds(0));
  });
  // Missed slots.
  if (unfed(c, s)) {  // nobody reports its runs yet: the slot moves on, silently
    if (s.expected && now >= *s.expected + c.grace) s.expected = c.next_slot(now - c.grace);
    return;
  }
  // A heartbeat run still open is not late: systemd does not start the unit again while it runs.
  const bool held = c.heartbeat && !s.open_runs.empty();
  if (s.expected && !held) {
    int missed = 0;
    Instant last{};
    bool skipped = false;
    while (s.expected && now >= *s.expected + c.grace) {
      ++missed;
      last = *s.expected;
      s.missed_slots.push_back(last);
      if (s.missed_slots.size() > kRecentMissedSlots) s.missed_slots.erase(s.missed_slots.begin());
      if (missed >= kMaxMissLoop) {
        s.expected = c.next_slot(now - c.grace);
        skipped = true;
        break;
      }
      s.expected = c.next_slot(*s.expected);
    }
    if (missed > 0) {
      // Slots that fell while cron was down belong to that outage, not to the job: they do not
      // count toward its own "N consecutive missed runs".
      const bool folded =
          c.from_cron && (host.cron_incident || (host.last_outage_end && last <= *host.last_outage_end &&
                                                 last + c.grace >= *host.last_outage_start));
      if (!folded) s.consecutive_misses += missed;
      s.consecutive_good = 0;
      s.last_status = "missed";
      if (s.consecutive_misses + (folded ? missed : 0) > c.schedule_tolerance) {
        const bool in_outage =
            host.last_outage_end && last <= *host.last_outage_end && last + c.grace >= *host.last_outage_start;
        if (c.from_cron && (host.cron_incident || in_outage)) {
          host.suppressed_misses += missed;
        } else {
          Alert a = make_alert(c, Alert::Kind::kMissed, skipped ? now : last + c.grace);
          a.expected = last;
          if (c.heartbeat) {
            heartbeat_missed_text(c, s, last, a);
          } else {
            a.summary = display(c) + " missed its run at " + iso(last, c.zone);
            if (missed > 1)
              a.summary +=
                  " (and " + std::string(skipped ? "more than " : "") + std::to_string(missed - 1) + " before it)";
          }
          a.detail = "No run started by " + iso(last + c.grace, c.zone) + " (grace " + format_duration(c.grace) +
                     "); " + std::to_string(s.consecutive_misses) + " consecutive missed run(s)";
          a.exit_code = s.last_exit_code;
          a.duration_ms = s.last_duration_ms;
          fault(c, s, std::move(a), out);
        }
      }
    }
  }
  // Remind of an incident that stays open: every realert_interval while faults keep coming
  // (they were folded past consecutive_alert_threshold), at most once a day when none came.
  if (auto due = reminder_due(c, s); due && now >= *due) {
    Incident& inc = *s.incident;
    Alert a = make_alert(c, Alert::Kind::kRealert, inc.folded > 0 ? std::max(*due, inc.last_folded) : *due);
    a.update = true;
    a.incident_opened = inc.opened;
    a.last_success = s.last_success;
    a.failed_since_success = s.failed_since_success;
    a.exit_code = s.last_exit_code;
    a.duration_ms = s.last_duration_ms;
    a.folded_faults = inc.folded;
    a.summary = display(c) + " is still " + kind_state(inc.kind) + " (since " + iso(inc.opened, c.zone) + ")";
    if (inc.folded > 0)
      a.summary += ": " + std::to_string(inc.folded) + (inc.folded == 1 ? " more fault" : " more faults") +
                   " since the last alert";
    a.detail = "Last problem: " + inc.reason;
    ++inc.alerts_sent;
    a.alert_number = inc.alerts_sent;
    inc.last_alert = a.at;
    inc.folded = 0;
    out.push_back(Action{Action::Type::kUpdate, std::move(a)});
  }
}

void on_event(const MonitorConfig& c, MonitorState& s, const RunEvent& ev,
              HostState& /*host: only cron's own process resolves its incident*/, Actions& out) {
  if (s.removed) return;
  // A run event never resolves the host's cron incident: any local user can send one (with any
  // host name). Cron's return is judged from cron's own process (evaluate_cron).
  settle(c, s, ev.ts, out);
  auto it =
      std::find_if(s.open_runs.begin(), s.open_runs.end(), [&](const OpenRun& r) { return r.run_id == ev.run_id; });
  if (ev.state == RunEvent::State::kRun) {
    if (it != s.open_runs.end()) return;  // the same run reported twice
    std::erase_if(s.open_runs, [&](const OpenRun& r) {
      return ev.ts - r.started > kStaleRun + c.max_runtime().value_or(milliseconds(0));
    });
    const OpenRun* other = nullptr;
    for (const auto& r : s.open_runs)
      if (r.started <= ev.ts) other = &r;
    std::optional<Alert> overlap;
    if (other) {
      overlap = make_alert(c, Alert::Kind::kOverlap, ev.ts);
      overlap->summary = display(c) + " overlapped: a new run started while another was still running";
      overlap->detail = "Run " + ev.run_id + " started at " + iso(ev.ts, c.zone) + " while run " + other->run_id +
                        " (started " + iso(other->started, c.zone) + ") was open";
    }
    // A run the manager started to catch up, as its timer started: it takes a slot that has
    // come, not the coming one, which the manager still fires; and it is no extra run of a slot.
    const bool catch_up = catch_up_run(s, ev.ts);
    std::optional<Instant> covered;
    if (!catch_up || (s.expected && *s.expected <= ev.ts)) covered = cover_slot(c, s, ev.ts);
    // Two runs of one slot at once: "ran too often" says it; "overlapped" is for a run that
    // outlasted its slot.
    if ((!catch_up || covered) && runs_too_often(c, s, ev.ts, covered, out)) overlap.reset();
    s.open_runs.push_back(OpenRun{ev.run_id, ev.ts, false, ev.pid, ev.wrapper_pid});
    if (s.open_runs.size() > kMaxOpenRuns) s.open_runs.erase(s.open_runs.begin());
    s.last_start = ev.ts;  // last_status stays the last finished run's: open_runs says it runs
    if (overlap) {
      s.consecutive_good = 0;
      fault(c, s, std::move(*overlap), out);
    }
    return;
  }
  // complete or fail
  Instant started;
  bool hung_alerted = false;
  if (it != s.open_runs.end()) {
    started = it->started;
    hung_alerted = it->hung_alerted;
    s.open_runs.erase(it);
  } else {
    // Its `run` was lost: the run still counts, at the time it started (an unknown outcome's
    // ts is its start).
    started = ev.ts - milliseconds(ev.duration_ms.value_or(0));
    runs_too_often(c, s, started, cover_slot(c, s, started), out);
  }
  if (ev.state == RunEvent::State::kUnknown) {
    // It ran (its start covered the slot and breaks a chain of misses), but how it ended is not
    // known: no exit code, end or duration, and nothing that a success or a failure would change
    // (no last success, no recovery, no failure count, no assertion).
    s.last_start = started;
    s.last_end.reset();
    s.last_exit_code.reset();
    s.last_duration_ms.reset();
    s.last_status = "unknown";
    s.consecutive_misses = 0;
    return;
  }
  auto duration = ev.duration_ms ? milliseconds(*ev.duration_ms) : duration_cast<milliseconds>(ev.ts - started);
  end_heartbeat_run(c, s, started, ev.ts);
  s.last_start = started;
  s.last_end = ev.ts;
  s.last_exit_code = ev.exit_code;
  s.last_duration_ms = duration.count();
  const Outcome outcome = classify(c, ev);
  if (outcome == Outcome::kFailure) {
    const int in_window = count_failure(c, s);
    if (hung_alerted || !failure_alerts(c, s, in_window)) return;
    Alert a = make_alert(c, Alert::Kind::kFailed, ev.ts);
    fill_run(a, ev, duration);
    a.summary = display(c) + " failed: " + failure_reason(ev);
    a.detail = "Run " + ev.run_id + " started at " + iso(started, c.zone) + " ended after " +
               (duration < seconds(1) ? std::to_string(duration.count()) + " ms"
                                      : format_duration(duration_cast<seconds>(duration)));
    if (c.failure_window > 0)
      a.detail +=
          "; " + std::to_string(in_window) + " of the last " + std::to_string(c.failure_window) + " runs failed";
    else if (c.failure_tolerance > 0)
      a.detail += "; " + std::to_string(s.consecutive_failures) + " consecutive failures";
    fault(c, s, std::move(a), out);
    return;
  }
  if (outcome == Outcome::kWarning) {
    // Recorded and shown, but not a failure: it alerts only past its own tolerance.
    remember_outcome(c, s, false);
    ++s.consecutive_warnings;
    s.consecutive_failures = 0;
    s.consecutive_good = 0;
    s.last_status = "warning";
    if (hung_alerted || s.consecutive_warnings <= c.warning_tolerance) return;
    Alert a = make_alert(c, Alert::Kind::kFailed, ev.ts);
    fill_run(a, ev, duration);
    a.summary = display(c) + " warned: exit code " + std::to_string(*ev.exit_code) + " (" +
                std::to_string(s.consecutive_warnings) + " warnings in a row)";
    a.detail = "Exit codes " + join_codes(c.warning_codes) + " are warnings for this job; " +
               std::to_string(c.warning_tolerance) + " in a row are tolerated";
    fault(c, s, std::move(a), out);
    return;
  }
  for (const auto& as : c.assertions) {
    auto value = metric_value(as, duration, ev.metrics);
    if (!value || as.holds(*value)) continue;
    const int in_window = count_failure(c, s);
    if (hung_alerted || !failure_alerts(c, s, in_window)) return;
    Alert a = make_alert(c, Alert::Kind::kAssertion, ev.ts);
    fill_run(a, ev, duration);
    std::string was =
        as.metric == "duration" ? format_duration(duration_cast<seconds>(duration)) : std::to_string(*value);
    if (as.metric != "duration" && *value == static_cast<double>(static_cast<int64_t>(*value)))
      was = std::to_string(static_cast<int64_t>(*value));
    a.summary = display(c) + " failed an assertion: " + as.text + " (was " + was + ")";
    a.detail = "Run " + ev.run_id + " exited 0 but did not meet " + as.text;
    fault(c, s, std::move(a), out);
    return;
  }
  remember_outcome(c, s, false);
  s.consecutive_warnings = 0;
  s.last_status = "ok";
  good_run(c, s, ev.ts, out);
}

}  // namespace

using namespace rules;

std::optional<std::chrono::milliseconds> MonitorConfig::max_runtime() const {
  std::optional<milliseconds> best;
  for (const auto& a : assertions)
    if (auto m = a.max_runtime(); m && (!best || *m < *best)) best = m;
  return best;
}

std::string MonitorConfig::source() const {
  if (source_file.empty()) return {};
  return source_line > 0 ? source_file + ":" + std::to_string(source_line) : source_file;
}

MonitorState initial_state(const MonitorConfig& config, Instant now) {
  MonitorState s;
  if (config.schedule) s.expected = config.next_slot(now);
  return s;
}

Actions evaluate(const MonitorConfig& c, MonitorState& s, const Input& input, HostState& host) {
  Actions out;
  if (auto* t = std::get_if<TimeInput>(&input)) {
    on_time(c, s, t->now, host, out);
  } else if (auto* e = std::get_if<const RunEvent*>(&input)) {
    on_event(c, s, **e, host, out);
  } else if (auto* r = std::get_if<RemovedInput>(&input)) {
    if (s.removed) {  // told once; a masked timer unmasked but not started is stopped now
      if (!r->as.empty()) s.removed_as = r->as, s.removed_hint = r->hint;
      return out;
    }
    s.removed = true;
    s.removed_as = r->as;
    s.removed_hint = r->hint;
    s.open_runs.clear();
    if (r->by_unwrap) return out;
    Alert a = make_alert(c, Alert::Kind::kRemoved, r->now);
    a.summary = !r->why.empty() ? display(c) + " " + r->why
                                : display(c) + " was removed from " + r->file +
                                      (r->line > 0 ? " line " + std::to_string(r->line) : std::string());
    a.detail = "The job is no longer defined, so it will not run again; its monitor stops here";
    s.incident.reset();
    out.push_back(Action{Action::Type::kNotice, std::move(a)});
  } else if (auto* p = std::get_if<PauseInput>(&input)) {
    if (p->until) {
      s.paused_until = *p->until;
    } else {
      s.paused_until.reset();
      s.consecutive_misses = 0;
      if (c.schedule) s.expected = c.next_slot(p->now);
    }
  }
  return out;
}

Actions evaluate_cron(HostState& host, const CronObservation& obs) {
  Actions out;
  if (obs.running) {
    resolve_cron(host, obs.now, obs.host, "a cron daemon process is alive", out);
    host.cron_seen_running = true;
    return out;
  }
  if (host.cron_incident) return out;
  // Since its exit when that was seen (pidfd), else since this look.
  const Instant since = std::min(obs.gone_since.value_or(obs.now), obs.now);
  host.cron_incident = Incident{since, "cron-down", 1, obs.now, obs.cause};
  Alert a;
  a.kind = Alert::Kind::kCronDown;
  a.key = "host:cron";
  a.name = "cron daemon";
  a.at = obs.now;
  a.incident_opened = since;
  if (obs.cron_jobs > 0) a.affected_jobs = obs.cron_jobs;
  const std::string jobs = obs.cron_jobs > 0 ? "the " + std::to_string(obs.cron_jobs) +
                                                   (obs.cron_jobs == 1 ? " cron job it runs" : " cron jobs it runs")
                                             : "every cron job";
  a.summary = "The cron daemon" + (obs.host.empty() ? std::string() : " on " + obs.host) + " is not running" +
              (host.cron_seen_running ? " (since " + iso(since, schedule::Zone::utc()) + ")"
                                      : " (not since the agent began watching)") +
              ": " + jobs + " will be missed";
  a.detail = obs.cause;
  out.push_back(Action{Action::Type::kOpen, std::move(a)});
  return out;
}

bool realign_after_clock_jump(const MonitorConfig& c, MonitorState& s, Instant now) {
  if (!c.schedule || !s.expected || s.removed || *s.expected + c.grace > now) return false;
  s.expected = c.next_slot(now - c.grace);
  return true;
}

std::optional<Instant> next_deadline(const MonitorConfig& c, const MonitorState& s) {
  if (s.removed || c.paused) return std::nullopt;
  std::optional<Instant> best;
  auto take = [&](Instant t) {
    if (!best || t < *best) best = t;
  };
  if (s.paused_until) {
    if (*s.paused_until != Instant::max()) take(*s.paused_until);
    return best;
  }
  if (s.expected && !unfed(c, s)) {
    if (c.heartbeat && !s.open_runs.empty()) {
      // Held while a run is open (see on_time); wake when the oldest open run would be forgotten.
      const auto stale = kStaleRun + c.max_runtime().value_or(milliseconds(0)) + std::chrono::microseconds(1);
      for (const auto& r : s.open_runs) take(std::max(*s.expected + c.grace, r.started + stale));
    } else {
      take(*s.expected + c.grace);
    }
  }
  if (auto max = c.max_runtime())
    for (const auto& r : s.open_runs)
      if (!r.hung_alerted) take(r.started + *max);
  if (auto due = reminder_due(c, s)) take(*due);
  if (s.flapping && !s.flips.empty()) take(s.flips.back() + c.flapping_window);
  return best;
}

const char* state_name(RunEvent::State s) {
  switch (s) {
    case RunEvent::State::kRun:
      return "run";
    case RunEvent::State::kComplete:
      return "complete";
    case RunEvent::State::kFail:
      return "fail";
    case RunEvent::State::kUnknown:
      return "unknown";
  }
  return "?";
}

}  // namespace cronitor::agent
