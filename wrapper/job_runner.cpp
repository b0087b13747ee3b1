#include "wrapper/job_runner.h"

#include <errno.h>
#include <signal.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/run_id.h"
#include "wrapper/child.h"
#include "wrapper/oom_probe.h"

namespace cronitor::wrapper {
namespace {

constexpr int64_t kSyncRunEventAfterMs = 50;

std::string shell_path() {
  const char* s = std::getenv("SHELL");
  return s != nullptr && *s != '\0' ? s : "/bin/sh";
}

std::string host_name() {
  struct utsname u {};
  if (uname(&u) != 0 || u.nodename[0] == '\0') return "localhost";
  return u.nodename;
}

RunEvent base_event(const Options& o, const std::string& run_id, RunState state) {
  RunEvent e;
  e.key = o.key;
  e.run_id = run_id;
  e.state = state;
  e.ts = format_timestamp_ms(unix_ms_now());
  e.host = host_name();
  e.uid = static_cast<int64_t>(getuid());
  e.env = o.env;
  return e;
}

void print_line(const std::string& s) {
  if (s.empty()) return;
  std::string line = s + "\n";
  ssize_t ignored = ::write(2, line.data(), line.size());
  (void)ignored;
}

// The complete/fail event for a job that ended as `out` says.
RunEvent end_event(const Options& o, const std::string& run_id, ChildOutcome& out, const OomProbe& probe,
                   std::optional<uint64_t> kills_before) {
  RunEvent end = base_event(o, run_id, RunState::kComplete);
  end.exit_code = out.exit_code;
  end.timeout = out.timed_out;
  if (out.term_signal != 0) end.signal = signal_name(out.term_signal);
  // SIGKILL, or 137 from a shell whose child got it: did the OOM killer count one more kill?
  if ((out.term_signal == SIGKILL || out.exit_code == 128 + SIGKILL) && kills_before) {
    auto kills_after = probe.kills();
    end.oom = kills_after && *kills_after > *kills_before;
  }
  end.peak_memory_bytes = out.peak_rss_bytes;
  if (end.oom && probe.cgroup_scoped()) {
    if (auto peak = probe.cgroup_peak_bytes(); peak && *peak > out.peak_rss_bytes) end.peak_memory_bytes = *peak;
  }
  if (!o.no_output) end.output_tail = std::move(out.tail);
  if (out.start_error) {
    end.error = *out.start_error;
  } else if (out.term_signal == 0 && out.exit_code == 127) {
    end.error = "exit 127: the shell could not find the command";
  } else if (out.term_signal == 0 && out.exit_code == 126) {
    end.error = "exit 126: the command could not be executed (permission or format)";
  }
  if (out.exit_code != 0 || out.timed_out) end.state = RunState::kFail;
  return end;
}

}  // namespace

int64_t unix_ms_now() {
  struct timespec ts {};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

int exec_unmonitored(const std::string& command) {
  std::string shell = shell_path();
  execl(shell.c_str(), shell.c_str(), "-c", command.c_str(), static_cast<char*>(nullptr));
  int e = errno;
  print_line("cronitor-exec: cannot execute " + shell + ": " + std::strerror(e));
  return e == ENOENT ? 127 : 126;
}

int run_job(const Options& o, const ReportConfig& config) {
  const std::string run_id = cronitor::new_run_id();
  const int64_t started = monotonic_ms();
  ::setenv("CRONITOR_KEY", o.key.c_str(), 1);
  ::setenv("CRONITOR_RUN_ID", run_id.c_str(), 1);
  Reporter reporter(config);
  OomProbe probe = OomProbe::locate();
  std::optional<uint64_t> kills_before = probe.kills_at_locate();

  ChildSpec spec;
  spec.shell = shell_path();
  spec.command = o.command;
  spec.capture = !o.no_output;
  spec.timeout_ms = o.timeout_ms;
  // Tests shorten the TERM-to-KILL grace after a timeout; not a user option.
  if (const char* g = std::getenv("CRONITOR_KILL_GRACE_MS"); g != nullptr) {
    long ms = std::strtol(g, nullptr, 10);
    if (ms >= 1 && ms <= 600000) spec.kill_grace_ms = ms;
  }
  auto child = Child::start(spec);
  if (!child) {
    // The wrapper itself could not set up (no pipes, no fork): the job did not start.
    print_line("cronitor-exec: cannot start the job: " + child.error().message);
    RunEvent e = base_event(o, run_id, RunState::kFail);
    e.pid = getpid();
    e.exit_code = 126;
    e.error = "cannot start the job: " + child.error().message;
    reporter.report(e);
    reporter.finish();
    print_line(reporter.lost_summary(o.key, run_id));
    return 126;
  }
  // The run event travels while the job is already running.
  RunEvent run = base_event(o, run_id, RunState::kRun);
  run.pid = child->pid();
  run.wrapper_pid = getpid();  // the agent follows us: if we are killed, it closes the run itself
  // start() waited for the exec, so a job that could not start sends no run event. The run
  // event's acknowledgement is awaited inside the job's wait loop, overlapping the job.
  // If the run event lands in the spool, a job still running kSyncRunEventAfterMs after its
  // start gets it synced then; shorter jobs get one sync for both events at the end.
  Watch watch;
  auto arm_sync = [&] {
    if (!reporter.spool_dirty()) return;
    watch.fd = -1;
    watch.deadline_ms = started + kSyncRunEventAfterMs;
    watch.fire = [&reporter] { reporter.sync_spool(); };
  };
  if (!child->start_error()) {
    reporter.report_async(run);
    if (reporter.pending_fd() >= 0) {
      watch.fd = reporter.pending_fd();
      watch.deadline_ms = reporter.pending_deadline_ms();
      watch.fire = [&] {
        reporter.settle();
        arm_sync();
      };
    } else {
      arm_sync();
    }
  }
  ChildOutcome out = child->wait(&watch);
  if (out.start_error) print_line("cronitor-exec: " + *out.start_error);

  RunEvent end = end_event(o, run_id, out, probe, kills_before);
  end.pid = child->pid();
  end.duration_ms = monotonic_ms() - started;
  reporter.report(end);
  reporter.finish();
  print_line(reporter.lost_summary(o.key, run_id));
  return out.exit_code;
}

int send_metrics(const Options& o, const ReportConfig& config) {
  const char* run_id = std::getenv("CRONITOR_RUN_ID");
  const char* key = std::getenv("CRONITOR_KEY");
  if (run_id == nullptr || !valid_run_id(run_id) || key == nullptr || !valid_key(key)) {
    print_line(
        "cronitor-exec --metric: not inside a cronitor-exec job (CRONITOR_RUN_ID and "
        "CRONITOR_KEY are unset or invalid)");
    return 2;
  }
  Options with_key = o;
  with_key.key = key;
  RunEvent e = base_event(with_key, run_id, RunState::kMetric);
  e.env.reset();
  e.pid = getpid();
  for (const auto& [name, value] : o.metrics) e.metrics[name] = value;
  Reporter reporter(config);
  reporter.report(e);
  std::string lost = reporter.lost_summary(key, run_id);
  print_line(lost);
  return lost.empty() ? 0 : 1;
}

}  // namespace cronitor::wrapper
