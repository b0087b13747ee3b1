#include "agent/sources/timer_run_tracker.h"

#include <signal.h>
#include <string.h>

#include <algorithm>

#include "agent/state/skipped_runs.h"
#include "common/text.h"

namespace cronitor::agent {
namespace {

// waitid(2)'s si_code values, as systemd reports them in ExecMainCode.
constexpr int kExited = 1;  // CLD_EXITED
constexpr int kKilled = 2;  // CLD_KILLED
constexpr int kDumped = 3;  // CLD_DUMPED

bool is_hex32(const std::string& s) {
  return s.size() == 32 &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

bool run_ended(const ServiceSnapshot& s) {
  return (s.active_state == "inactive" || s.active_state == "failed") && s.start_usec > 0;
}

bool run_going(const ServiceSnapshot& s) {
  return (s.active_state == "activating" || s.active_state == "active" || s.active_state == "reloading" ||
          s.active_state == "deactivating") &&
         s.start_usec > 0 && s.exit_usec == 0;
}

std::string invocation_run_id(const std::string& id) {
  if (!is_hex32(id)) return {};
  return id.substr(0, 8) + "-" + id.substr(8, 4) + "-" + id.substr(12, 4) + "-" + id.substr(16, 4) + "-" +
         id.substr(20);
}

std::string result_words(const std::string& r) {
  if (r.empty() || r == "success" || r == "exit-code" || r == "signal" || r == "timeout" || r == "oom-kill") return {};
  if (r == "core-dump") return "dumped core";
  if (r == "watchdog") return "stopped answering the watchdog (WatchdogSec=)";
  if (r == "start-limit-hit") return "started too often (start-limit-hit)";
  if (r == "resources") return "systemd could not set up its resources";
  if (r == "exec-condition") return "ExecCondition= failed";
  if (r == "protocol") return "broke the service protocol (Type=)";
  return "systemd result \"" + r + "\"";
}

std::vector<cronitor::RunEvent> failed_assert_events(const std::string& key, const std::string& service,
                                                     uint64_t at_usec, const std::string& assertion,
                                                     const std::string& host) {
  cronitor::RunEvent run;
  run.key = key;
  run.run_id = skip_run_id(service + " Assert", at_usec);  // apart from a skip's id at the same time
  run.host = host;
  run.pid = 1;  // the manager: no process of the job ran
  run.state = cronitor::RunState::kRun;
  run.ts = format_timestamp_ms(static_cast<int64_t>(at_usec / 1000));
  cronitor::RunEvent end = run;
  end.state = cronitor::RunState::kFail;
  end.error = (assertion.empty() ? std::string("an Assert*=") : assertion) + " failed";
  end.output_tail = "systemd did not start " + service + ": " + *end.error + "\n";
  return {std::move(run), std::move(end)};
}

bool TimerRunTracker::fresh(const std::string& service, const ServiceSnapshot& s) const {
  if (invocation_run_id(s.invocation_id).empty() || (!run_going(s) && !run_ended(s))) return false;
  auto it = seen_.find(service);
  return it == seen_.end() || it->second.invocation_id != s.invocation_id || !it->second.run_sent;
}

bool TimerRunTracker::end_pending(const std::string& service, const ServiceSnapshot& s) const {
  if (invocation_run_id(s.invocation_id).empty() || !run_ended(s)) return false;
  auto it = seen_.find(service);
  return it == seen_.end() || it->second.invocation_id != s.invocation_id || !it->second.end_sent;
}

bool TimerRunTracker::running(const std::string& service) const {
  auto it = seen_.find(service);
  return it != seen_.end() && it->second.run_sent && !it->second.end_sent;
}

std::vector<cronitor::RunEvent> TimerRunTracker::observe(const std::string& key, const std::string& service,
                                                         const ServiceSnapshot& s, const TrackContext& ctx) {
  std::vector<cronitor::RunEvent> out;
  const std::string run_id = invocation_run_id(s.invocation_id);
  const bool ended = run_ended(s);
  if (run_id.empty() || (!ended && !run_going(s))) return out;
  Seen& seen = seen_[service];
  if (seen.invocation_id != s.invocation_id) seen = Seen{s.invocation_id};
  cronitor::RunEvent base;
  base.key = key;
  base.run_id = run_id;
  base.host = ctx.host;
  base.pid = s.main_pid > 0 && s.main_pid < 0x80000000u ? s.main_pid : 1;
  base.uid = 0;
  if (!seen.run_sent) {
    cronitor::RunEvent run = base;
    run.state = cronitor::RunState::kRun;
    run.ts = format_timestamp_ms(static_cast<int64_t>(s.start_usec / 1000));
    out.push_back(std::move(run));
    seen.run_sent = true;
  }
  if (!ended || seen.end_sent) return out;
  seen.end_sent = true;
  cronitor::RunEvent end = base;
  const uint64_t end_usec = s.exit_usec >= s.start_usec ? s.exit_usec : std::max(ctx.now_usec, s.start_usec);
  end.ts = format_timestamp_ms(static_cast<int64_t>(end_usec / 1000));
  end.duration_ms = static_cast<int64_t>((end_usec - s.start_usec) / 1000);
  if (s.exec_code == kKilled || s.exec_code == kDumped) {
    end.signal = signal_name(s.exec_status);
    end.exit_code = 128 + (s.exec_status & 0x7f);
  } else if (s.exec_code == kExited) {
    end.exit_code = s.exec_status & 0xff;
  }
  end.timeout = s.result == "timeout";
  // cgroup v2 says oom-kill; v1 only shows the SIGKILL, so the counter tells.
  end.oom = s.result == "oom-kill" || (s.exec_code == kKilled && s.exec_status == SIGKILL && ctx.oom_counter_rose);
  const std::string words = result_words(s.result);
  if (!words.empty()) end.error = words;
  const bool ok =
      (s.result == "success" || s.result.empty()) && s.active_state != "failed" && end.exit_code == 0 && !end.signal;
  end.state = ok ? cronitor::RunState::kComplete : cronitor::RunState::kFail;
  end.output_tail = ctx.output_tail;
  out.push_back(std::move(end));
  return out;
}

}  // namespace cronitor::agent
