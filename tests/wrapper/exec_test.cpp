// cronitor-exec as a real process: exit codes, signal deaths, byte-identical output, stdin,
// signal forwarding, timeouts, commands that cannot start, metrics. The agent is down in these
// tests, so the events are read back from the spool.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <thread>

#include "tests/wrapper/wrapper_harness.h"

namespace cronitor::testing {
namespace {

// The run's terminal event (exactly one expected) from the spool.
RunEvent terminal_event(const TempDir& dir) {
  RunEvent found;
  int n = 0;
  for (auto& e : spool_events(dir / "spool"))
    if (is_terminal(e.state)) {
      found = e;
      ++n;
    }
  EXPECT_EQ(n, 1) << "terminal events in the spool";
  return found;
}

TEST(Exec, ExitCodesPassThrough) {
  for (int code : {0, 1, 2, 126, 127, 255}) {
    TempDir dir;
    auto r = run_wrapper(dir, {"job", "--", "exit " + std::to_string(code)});
    EXPECT_EQ(r.result.exit_code, code);
    auto events = spool_events(dir / "spool");
    ASSERT_EQ(events.size(), 2u) << "run and end";
    EXPECT_EQ(events[0].state, RunState::kRun);
    EXPECT_EQ(events[1].state, code == 0 ? RunState::kComplete : RunState::kFail);
    EXPECT_EQ(events[1].exit_code, code);
    EXPECT_EQ(events[1].run_id, events[0].run_id);
    EXPECT_EQ(events[1].key, "job");
    EXPECT_FALSE(events[1].signal.has_value());
    EXPECT_EQ(events[1].uid, static_cast<int64_t>(getuid()));
  }
}

TEST(Exec, SignalDeathsMapTo128PlusN) {
  struct Case {
    const char* name;
    int sig;
  } cases[] = {{"TERM", SIGTERM}, {"INT", SIGINT}, {"KILL", SIGKILL}, {"SEGV", SIGSEGV}};
  for (auto c : cases) {
    TempDir dir;
    // exec so that the signalled process is the shell itself (no core dump: ulimit -c 0).
    auto r = run_wrapper(dir, {"sig", "--", std::string("ulimit -c 0; kill -") + c.name + " $$"});
    EXPECT_EQ(r.result.exit_code, 128 + c.sig) << c.name;
    EXPECT_FALSE(r.result.signaled) << "the wrapper exits, it does not die of the signal";
    RunEvent e = terminal_event(dir);
    EXPECT_EQ(e.state, RunState::kFail);
    EXPECT_EQ(e.exit_code, 128 + c.sig);
    ASSERT_TRUE(e.signal.has_value()) << c.name;
    EXPECT_EQ(*e.signal, std::string("SIG") + c.name);
    EXPECT_FALSE(e.oom) << "a signal sent by a person is not an OOM kill";
  }
}

// Runs `command` directly through /bin/sh and through the wrapper; both outputs must match.
void expect_same_output_as_direct(const std::string& command, const std::string& stdin_data = "") {
  TempDir direct;
  write_file(direct / "stdin", stdin_data);
  ProcSpec spec;
  spec.argv = {"/bin/sh", "-c", command};
  spec.stdin_path = direct / "stdin";
  spec.stdout_path = direct / "stdout";
  spec.stderr_path = direct / "stderr";
  auto d = wait_for(spawn(spec));
  TempDir dir;
  auto r = run_wrapper(dir, {"out", "--", command}, {}, stdin_data);
  EXPECT_EQ(r.result.exit_code, d.exit_code);
  std::string want_out = slurp(direct / "stdout"), want_err = slurp(direct / "stderr");
  EXPECT_EQ(r.out.size(), want_out.size());
  EXPECT_TRUE(r.out == want_out) << "stdout differs";
  EXPECT_TRUE(r.err == want_err) << "stderr differs: " << r.err.substr(0, 200);
}

TEST(Exec, OutputIsByteIdentical) {
  // Every byte value, no final newline, on both streams.
  expect_same_output_as_direct(
      "i=0; while [ $i -lt 256 ]; do printf \"$(printf '\\\\%03o' $i)\"; i=$((i+1)); done; "
      "printf 'err without newline' >&2; printf 'last'");
}

TEST(Exec, FiftyMegabytesOfBinaryOutputIdentical) {
  TempDir data;
  std::string blob(50 * 1000 * 1000, '\0');
  std::mt19937_64 rng(42);
  for (size_t i = 0; i + 8 <= blob.size(); i += 8) {
    uint64_t v = rng();
    std::memcpy(blob.data() + i, &v, 8);
  }
  write_file(data / "blob", blob);
  TempDir dir;
  auto r =
      run_wrapper(dir, {"big", "--", "cat " + (data / "blob") + "; cat " + (data / "blob") + " | head -c 1000000 >&2"});
  EXPECT_EQ(r.result.exit_code, 0);
  ASSERT_EQ(r.out.size(), blob.size());
  EXPECT_TRUE(r.out == blob) << "stdout differs";
  EXPECT_TRUE(r.err == blob.substr(0, 1000000)) << "stderr differs";
  RunEvent e = terminal_event(dir);
  EXPECT_GT(e.output_tail.size(), 0u);
  EXPECT_LE(e.output_tail.size(), kMaxOutputTailBytes);
}

TEST(Exec, StdinPassesThrough) {
  std::string input;
  for (int i = 0; i < 200000; ++i) input += static_cast<char>(i * 7);
  expect_same_output_as_direct("cat; echo done", input);
}

TEST(Exec, MergedStreamsKeepTheirOrderAndTail) {
  TempDir dir;
  ProcSpec spec;
  spec.argv = {exec_path(), "order", "--", "for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; done; printf tail"};
  spec.env = {"CRONITOR_SOCKET=" + (dir / "none.sock"), "CRONITOR_SPOOL=" + (dir / "spool"), "SHELL=/bin/sh"};
  spec.stdout_path = dir / "both";  // stderr_path empty: 2>&1, one open file
  auto r = wait_for(spawn(spec));
  EXPECT_EQ(r.exit_code, 0);
  std::string want = "out1\nerr1\nout2\nerr2\nout3\nerr3\nout4\nerr4\nout5\nerr5\ntail";
  EXPECT_EQ(slurp(dir / "both"), want);
  EXPECT_EQ(terminal_event(dir).output_tail, want);
}

TEST(Exec, OutputTailKeepsTheLast8KiB) {
  TempDir dir;
  auto r = run_wrapper(dir, {"tail", "--", "seq 1 100000"});
  EXPECT_EQ(r.result.exit_code, 0);
  RunEvent e = terminal_event(dir);
  EXPECT_EQ(e.output_tail.size(), kMaxOutputTailBytes);
  EXPECT_TRUE(e.output_tail.ends_with("99999\n100000\n"));
  EXPECT_EQ(e.output_tail, r.out.substr(r.out.size() - kMaxOutputTailBytes));
}

TEST(Exec, NoOutputSendsNoTailButPassesOutput) {
  TempDir dir;
  auto r = run_wrapper(dir, {"quiet", "--no-output", "--env", "staging", "--", "echo secret"});
  EXPECT_EQ(r.out, "secret\n");
  RunEvent e = terminal_event(dir);
  EXPECT_EQ(e.output_tail, "");
  ASSERT_TRUE(e.env.has_value());
  EXPECT_EQ(*e.env, "staging");
}

TEST(Exec, JobSeesKeyAndRunIdAndSameFolder) {
  TempDir dir;
  const auto before = std::chrono::system_clock::now();
  auto r = run_wrapper(dir, {"env-key", "--", "echo \"$CRONITOR_KEY $CRONITOR_RUN_ID $PWD\""});
  const auto after = std::chrono::system_clock::now();
  RunEvent e = terminal_event(dir);
  char cwd[4096];
  ASSERT_NE(getcwd(cwd, sizeof cwd), nullptr);
  EXPECT_EQ(r.out, "env-key " + e.run_id + " " + cwd + "\n");
  // The id is common/run_id.h's: a UUID of version 7 whose first 48 bits are the millisecond the
  // wrapper made it, so state.db's run_id index grows at its end.
  ASSERT_EQ(e.run_id.size(), 36u) << e.run_id;
  EXPECT_EQ(e.run_id[14], '7') << e.run_id;
  const int64_t made = std::stoll(e.run_id.substr(0, 8) + e.run_id.substr(9, 4), nullptr, 16);
  const auto ms = [](auto t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  };
  EXPECT_GE(made, ms(before)) << e.run_id;
  EXPECT_LE(made, ms(after)) << e.run_id;
}

TEST(Exec, ForwardsSignalsToTheJob) {
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) {
    TempDir dir;
    ProcSpec spec;
    std::string name = sigabbrev_np(sig);
    // The job traps the signal, says so and exits 7; its child `sleep` is in the same group.
    spec.argv = {exec_path(), "fwd", "--",
                 "trap 'echo got " + name + "; exit 7' " + name + "; echo ready; while :; do sleep 0.01; done"};
    spec.env = {"CRONITOR_SOCKET=" + (dir / "none.sock"), "CRONITOR_SPOOL=" + (dir / "spool"), "SHELL=/bin/sh"};
    spec.stdout_path = dir / "stdout";
    pid_t pid = spawn(spec);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (slurp(dir / "stdout").find("ready") == std::string::npos && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));  // polling with a deadline
    ASSERT_NE(slurp(dir / "stdout").find("ready"), std::string::npos);
    kill(pid, sig);
    auto r = wait_for(pid, std::chrono::seconds(10));
    EXPECT_EQ(r.exit_code, 7) << name;
    EXPECT_NE(slurp(dir / "stdout").find("got " + name), std::string::npos) << name;
  }
}

TEST(Exec, ForwardedSignalsReachTheWholeProcessGroup) {
  TempDir dir;
  ProcSpec spec;
  // A background grandchild: forwarding to the shell alone would leave it running.
  spec.argv = {exec_path(), "group", "--", "sleep 60 & echo $! > " + (dir / "bg") + "; echo ready; wait"};
  spec.env = {"CRONITOR_SOCKET=" + (dir / "none.sock"), "CRONITOR_SPOOL=" + (dir / "spool"), "SHELL=/bin/sh"};
  spec.stdout_path = dir / "stdout";
  pid_t pid = spawn(spec);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (slurp(dir / "stdout").find("ready") == std::string::npos && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // polling with a deadline
  pid_t bg = std::atoi(slurp(dir / "bg").c_str());
  ASSERT_GT(bg, 0);
  kill(pid, SIGTERM);
  auto r = wait_for(pid, std::chrono::seconds(10));
  EXPECT_EQ(r.exit_code, 128 + SIGTERM);
  EXPECT_LT(r.seconds, 5);
  bool gone = false;
  while (!(gone = kill(bg, 0) != 0) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_TRUE(gone) << "background sleep " << bg << " survived";
  if (!gone) kill(bg, SIGKILL);
}

TEST(Exec, KilledWrapperDoesNotLeaveTheJobRunning) {
  TempDir dir;
  ProcSpec spec;
  // The job notes the SIGTERM the kernel sends it when the wrapper dies (PR_SET_PDEATHSIG).
  spec.argv = {exec_path(), "orphan", "--",
               "trap 'echo term > " + (dir / "term") +
                   "; exit 1' TERM; echo ready; "
                   "while :; do sleep 0.01; done"};
  spec.env = {"CRONITOR_SOCKET=" + (dir / "none.sock"), "CRONITOR_SPOOL=" + (dir / "spool"), "SHELL=/bin/sh"};
  spec.stdout_path = dir / "stdout";
  pid_t pid = spawn(spec);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (slurp(dir / "stdout").find("ready") == std::string::npos && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // polling with a deadline
  kill(pid, SIGKILL);
  wait_for(pid);
  while (slurp(dir / "term") != "term\n" && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_EQ(slurp(dir / "term"), "term\n");
  // The agent still holds the run event (the job's process group in pid) with no end.
  auto events = spool_events(dir / "spool");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].state, RunState::kRun);
}

TEST(Exec, InlineSpoolSyncWritesTheSameEvents) {
  TempDir dir;
  auto r = run_wrapper(dir, {"inline", "--", "exit 3"}, {"CRONITOR_SPOOL_SYNC=inline"});
  EXPECT_EQ(r.result.exit_code, 3);
  auto events = spool_events(dir / "spool");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].exit_code, 3);
}

TEST(Exec, TimeoutKillsTheJobAndSaysSo) {
  TempDir dir;
  auto r = run_wrapper(dir, {"slow", "--timeout", "200ms", "--", "sleep 30"});
  EXPECT_EQ(r.result.exit_code, 128 + SIGTERM);
  EXPECT_LT(r.result.seconds, 10);
  RunEvent e = terminal_event(dir);
  EXPECT_TRUE(e.timeout);
  EXPECT_EQ(e.state, RunState::kFail);
  EXPECT_GE(e.duration_ms, 200);
}

TEST(Exec, TimeoutEscalatesToKillWhenTermIsIgnored) {
  TempDir dir;
  auto r = run_wrapper(dir, {"stubborn", "--timeout", "100ms", "--", "trap '' TERM; while :; do :; done"},
                       {"CRONITOR_KILL_GRACE_MS=300"});
  EXPECT_EQ(r.result.exit_code, 128 + SIGKILL);
  RunEvent e = terminal_event(dir);
  EXPECT_TRUE(e.timeout);
  EXPECT_FALSE(e.oom);
}

TEST(Exec, ShellThatCannotStartGives127Or126) {
  TempDir dir;
  auto r = run_wrapper(dir, {"nostart", "--", "true"}, {"SHELL=" + (dir / "no-such-shell")});
  EXPECT_EQ(r.result.exit_code, 127);
  EXPECT_NE(r.err.find("No such file"), std::string::npos) << r.err;
  auto events = spool_events(dir / "spool");
  ASSERT_EQ(events.size(), 1u) << "a fail event, no run event";
  EXPECT_EQ(events[0].state, RunState::kFail);
  ASSERT_TRUE(events[0].error.has_value());
  EXPECT_NE(events[0].error->find("no-such-shell"), std::string::npos);

  TempDir dir2;
  write_file(dir2 / "not-exec", "#!/bin/sh\n");
  auto r2 = run_wrapper(dir2, {"nostart", "--", "true"}, {"SHELL=" + (dir2 / "not-exec")});
  EXPECT_EQ(r2.result.exit_code, 126);
}

TEST(Exec, CommandNotFoundIsReportedWithItsReason) {
  TempDir dir;
  auto r = run_wrapper(dir, {"nf", "--", "no-such-command-xyz"});
  EXPECT_EQ(r.result.exit_code, 127);
  RunEvent e = terminal_event(dir);
  ASSERT_TRUE(e.error.has_value());
  EXPECT_NE(e.output_tail.find("no-such-command-xyz"), std::string::npos);
}

TEST(Exec, MetricsFromTheJobReachTheRun) {
  TempDir dir;
  auto r = run_wrapper(dir, {"metrics", "--",
                             exec_path() + " --metric count=42 --metric "
                                           "error_count=1.5 && echo sent"});
  EXPECT_EQ(r.result.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "sent\n");
  std::string run_id;
  const RunEvent* metric = nullptr;
  auto events = spool_events(dir / "spool");
  for (auto& e : events) {
    if (e.state == RunState::kRun) run_id = e.run_id;
    if (e.state == RunState::kMetric) metric = &e;
  }
  ASSERT_NE(metric, nullptr);
  EXPECT_EQ(metric->run_id, run_id);
  EXPECT_EQ(metric->key, "metrics");
  EXPECT_EQ(metric->metrics.at("count"), 42);
  EXPECT_EQ(metric->metrics.at("error_count"), 1.5);
}

TEST(Exec, MetricOutsideAJobIsAnError) {
  TempDir dir;
  auto r = run_wrapper(dir, {"--metric", "count=1"}, {"CRONITOR_RUN_ID=", "CRONITOR_KEY="});
  EXPECT_EQ(r.result.exit_code, 2);
  EXPECT_NE(r.err.find("not inside"), std::string::npos);
}

TEST(Exec, BadWrapperArgumentsStillRunTheJob) {
  TempDir dir;
  auto r = run_wrapper(dir, {"k", "--timeout", "soon", "--", "echo ran; exit 3"});
  EXPECT_EQ(r.result.exit_code, 3);
  EXPECT_EQ(r.out, "ran\n");
  EXPECT_NE(r.err.find("unmonitored"), std::string::npos) << r.err;
  auto usage = run_wrapper(dir, {"k"});
  EXPECT_EQ(usage.result.exit_code, 2);
}

}  // namespace
}  // namespace cronitor::testing
