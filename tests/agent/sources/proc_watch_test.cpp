// The process events source as the daemon runs it (agent/sources/proc_watch.h), with the real
// kernel (root: CAP_NET_ADMIN), read by step() as the loop would: this test process plays cron,
// tests/support/fake_cron_job.h its jobs. The loss path (issue 21 "Loss is told, never guessed"):
// the kernel drops events (ENOBUFS) while one job ends and another goes on; the gap is counted,
// /proc is read again for the followed processes, the run whose end was lost ends as "outcome
// unknown" (no exit code, no failure) with one warning, and the live one is still seen to its exit;
// a job started while events were dropped is adopted from /proc, not missed.
#include "agent/sources/proc_watch.h"

#include <gtest/gtest.h>
#include <linux/netlink.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "tests/support/fake_cron_job.h"
#include "tests/support/log_capture.h"
#include "tests/support/sd_loop.h"

namespace cronitor::agent {
namespace {

using cronitor::testing::FakeCronJob;
using SteadyClock = std::chrono::steady_clock;
namespace fs = std::filesystem;

const std::string kLost = "read x; exit 7 # proc-watch-test-lost";
const std::string kKept = "read x; read y; exit 3 # proc-watch-test-kept";

struct ProcRecorder : ProcWatch::Handler {
  void proc_runs(std::vector<cronitor::RunEvent> events) override {
    for (auto& e : events) got.push_back(std::move(e));
  }
  bool wrapper_reported(const std::string&, Instant) const override { return false; }
  void events_lost(Instant from, Instant to) override { gaps.emplace_back(from, to); }
  std::vector<cronitor::RunEvent> got;
  std::vector<std::pair<Instant, Instant>> gaps;
  const cronitor::RunEvent* find(const std::string& key, bool end) const {
    for (const auto& e : got)
      if (e.key == key && (e.state != cronitor::RunState::kRun) == end) return &e;
    return nullptr;
  }
};

DiscoveredJob watched_job(std::string key, const std::string& command, int at) {
  DiscoveredJob j;
  j.key = std::move(key);
  j.user = "root";
  j.command = command;
  j.file = "/etc/cron.d/proc-watch-test";
  j.line = at;
  j.schedule = "* * * * *";
  j.from_cron = true;
  return j;
}

// Steps `w` (as its loop would on each readable) until `done` or 20 s.
bool step_until(ProcWatch& w, const std::function<bool()>& done) {
  const auto deadline = SteadyClock::now() + std::chrono::seconds(20);
  while (!done() && SteadyClock::now() < deadline) {
    w.step();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return done();
}

// This process's process events socket: the one ProcWatch opened (the test opens no other).
int connector_fd() {
  for (const auto& e : fs::directory_iterator("/proc/self/fd")) {
    const int fd = std::stoi(e.path().filename().string());
    int domain = 0, protocol = 0;
    socklen_t len = sizeof domain;
    if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 || domain != AF_NETLINK) continue;
    len = sizeof protocol;
    if (::getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &len) == 0 && protocol == NETLINK_CONNECTOR) return fd;
  }
  return -1;
}

TEST(ProcWatch, ALostEndIsToldOnceAsOutcomeUnknownAndALiveRunIsStillSeenToItsExit) {
  if (::geteuid() != 0) GTEST_SKIP() << "the process events connector needs root (CAP_NET_ADMIN)";
  ProcRecorder handler;
  ProcWatch w("watch-host", handler);
  ASSERT_TRUE(w.live()) << w.why_not();
  w.set_cron(::getpid());
  const DiscoveredJob jobs[] = {watched_job("lost", kLost, 1), watched_job("kept", kKept, 2)};
  w.set_jobs(jobs);
  FakeCronJob lost(kLost), kept(kKept);
  ASSERT_TRUE(step_until(w, [&] { return handler.find("lost", false) && handler.find("kept", false); }))
      << "runs seen: " << handler.got.size();
  EXPECT_EQ(w.stats().losses, 0u);

  // A queue of a few events filled by forks nobody reads; the lost job ends then (its exit is
  // dropped for sure), the kept one lives on.
  const int fd = connector_fd();
  ASSERT_GE(fd, 0);
  int tiny = 1, big = 4 << 20;
  ASSERT_EQ(::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &tiny, sizeof tiny), 0);
  for (int i = 0; i < 2000; ++i) {
    const pid_t p = ::fork();
    if (p == 0) ::_exit(0);
    ASSERT_GT(p, 0);
    ::waitpid(p, nullptr, 0);
  }
  lost.release();
  lost.wait();
  kept.release();  // its first `read` only: it goes on
  ASSERT_EQ(::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big), 0);

  std::ostringstream log;
  {
    cronitor::testing::LogCapture capture(log);
    ASSERT_TRUE(step_until(w, [&] { return handler.find("lost", true) != nullptr; })) << log.str();
  }
  // The gap is counted, and told once.
  EXPECT_GE(w.stats().losses, 1u);
  EXPECT_GE(w.counters().losses, 1u);
  size_t told = 0;
  for (size_t at = log.str().find("dropped events (ENOBUFS)"); at != std::string::npos;
       at = log.str().find("dropped events (ENOBUFS)", at + 1))
    ++told;
  EXPECT_EQ(told, 1u) << log.str();
  EXPECT_NE(log.str().find("1 runs end with their outcome unknown"), std::string::npos) << log.str();
  // The lost end: outcome unknown, no exit code, the run its start opened.
  const auto* start = handler.find("lost", false);
  const auto* end = handler.find("lost", true);
  ASSERT_TRUE(start && end);
  EXPECT_EQ(end->state, cronitor::RunState::kUnknown);
  EXPECT_EQ(end->exit_code, 0);
  EXPECT_EQ(end->run_id, start->run_id);
  EXPECT_EQ(w.counters().ended_unknown, 1u);
  EXPECT_EQ(handler.find("kept", true), nullptr) << "a live process's run ended with the loss";

  // The live one, checked in /proc and trusted again, is seen to its real exit.
  kept.release();
  kept.wait();
  ASSERT_TRUE(step_until(w, [&] { return handler.find("kept", true) != nullptr; }));
  const auto* kept_end = handler.find("kept", true);
  EXPECT_EQ(kept_end->state, cronitor::RunState::kFail);
  EXPECT_EQ(kept_end->exit_code, 3);
  EXPECT_EQ(w.counters().ended_unknown, 1u);
  EXPECT_EQ(w.followed(), 0u);
  size_t unknown = 0;
  for (const auto& e : handler.got) unknown += e.state == cronitor::RunState::kUnknown;
  EXPECT_EQ(unknown, 1u);
}

// Whether a process whose command line holds `marker` runs now.
bool running(const std::string& marker) {
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::ifstream in(e.path() / "cmdline");
    const std::string cmdline((std::istreambuf_iterator<char>(in)), {});
    if (cmdline.find(marker) != std::string::npos) return true;
  }
  return false;
}

// A job cron starts while the queue is full: its fork and exec are dropped. After the loss, it is
// adopted from /proc (a false miss otherwise), and its exit, read as usual, gives its exit code.
TEST(ProcWatch, AJobStartedWhileEventsWereDroppedIsAdoptedFromProcNotMissed) {
  if (::geteuid() != 0) GTEST_SKIP() << "the process events connector needs root (CAP_NET_ADMIN)";
  const std::string gap = "read x; exit 5 # proc-watch-test-gap";
  ProcRecorder handler;
  ProcWatch w("watch-host", handler);
  ASSERT_TRUE(w.live()) << w.why_not();
  w.set_cron(::getpid());
  const DiscoveredJob jobs[] = {watched_job("gap", gap, 1)};
  w.set_jobs(jobs);
  const int fd = connector_fd();
  ASSERT_GE(fd, 0);
  int tiny = 1, big = 4 << 20;
  ASSERT_EQ(::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &tiny, sizeof tiny), 0);
  for (int i = 0; i < 2000; ++i) {
    const pid_t p = ::fork();
    if (p == 0) ::_exit(0);
    ASSERT_GT(p, 0);
    ::waitpid(p, nullptr, 0);
  }
  FakeCronJob job(gap);
  const auto until = SteadyClock::now() + std::chrono::seconds(10);
  while (!running("proc-watch-test-gap") && SteadyClock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(running("proc-watch-test-gap"));
  ASSERT_EQ(::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big), 0);

  ASSERT_TRUE(step_until(w, [&] { return handler.find("gap", false) != nullptr; }))
      << "a run that started in the gap was missed; losses " << w.stats().losses;
  EXPECT_GE(w.stats().losses, 1u);
  // The gap is told (a slot in it is unobserved when nothing else names its runs): it began at
  // the read before and ends now, around the job's start.
  ASSERT_FALSE(handler.gaps.empty());
  EXPECT_LT(handler.gaps.front().first, handler.gaps.front().second);
  job.release();
  job.wait();
  ASSERT_TRUE(step_until(w, [&] { return handler.find("gap", true) != nullptr; }));
  const auto* end = handler.find("gap", true);
  EXPECT_EQ(end->state, cronitor::RunState::kFail);
  EXPECT_EQ(end->exit_code, 5);
  EXPECT_EQ(end->run_id, handler.find("gap", false)->run_id);
  EXPECT_EQ(w.followed(), 0u);
}

// The pid of a process whose command line holds `marker` (0: none).
pid_t pid_running(const std::string& marker) {
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::ifstream in(e.path() / "cmdline");
    const std::string cmdline((std::istreambuf_iterator<char>(in)), {});
    if (cmdline.find(marker) != std::string::npos) return static_cast<pid_t>(std::atoi(e.path().filename().c_str()));
  }
  return 0;
}

// Issue 21: "idle (no processes starting) it does not wake". The source's timers are each for
// something pending (a CMD line of cron's log waiting for its run, a wrapped line's end waiting for
// its wrapper's report, a re-read of /proc after a loss); once it is settled none is left armed,
// and every wake-up after that read events the kernel queued (this host's own processes: it is
// never idle here, so the test counts wake-ups that found nothing, not wake-ups).
TEST(ProcWatch, WithNothingPendingNoTimerIsArmedAndEveryWakeUpReadsEvents) {
  if (::geteuid() != 0) GTEST_SKIP() << "the process events connector needs root (CAP_NET_ADMIN)";
  const std::string plain = "read x; exit 3 # proc-watch-test-idle-plain";
  const std::string wrapped = "read x; exit 0 # proc-watch-test-idle-wrapped";
  cronitor::testing::SdLoop loop;
  ProcRecorder handler;
  ProcWatch::Options o;
  o.wrapper_wait_usec = 50'000;
  ProcWatch w("idle-host", handler, o);
  ASSERT_TRUE(w.live()) << w.why_not();
  ASSERT_TRUE(w.attach(loop.ev).has_value());
  w.set_cron(::getpid());
  DiscoveredJob jobs[] = {watched_job("plain", plain, 1), watched_job("wrapped", wrapped, 2)};
  jobs[1].wrapped = true;
  w.set_jobs(jobs);
  EXPECT_FALSE(w.timers_armed());

  // cron's CMD line of the plain job, read before its exec was: it waits (10 s) for its run.
  FakeCronJob plain_job(plain), wrapped_job(wrapped);
  pid_t shell = 0;  // found with the loop not running: the run's start stays queued in the socket
  const auto until = SteadyClock::now() + std::chrono::seconds(10);
  while ((shell = pid_running("proc-watch-test-idle-plain")) == 0 && SteadyClock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_GT(shell, 0);
  const auto now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
  w.cron_cmd(shell, "root", plain, now_ms.count());
  EXPECT_TRUE(w.timers_armed()) << "a CMD line waits for its run";
  // Its run came: nothing waits any more, and no timer is left to wake the source for nothing.
  ASSERT_TRUE(loop.run_until([&] { return handler.find("plain", false) != nullptr; }));
  EXPECT_FALSE(w.timers_armed()) << "armed with nothing pending";

  // Both end; the wrapped line's end is held for its wrapper (50 ms), then recorded from here.
  plain_job.release();
  wrapped_job.release();
  ASSERT_TRUE(loop.run_until([&] { return handler.find("plain", true) && handler.find("wrapped", true); }));
  EXPECT_EQ(handler.find("plain", true)->exit_code, 3);
  EXPECT_FALSE(w.timers_armed()) << "armed with nothing pending";
  plain_job.wait();
  wrapped_job.wait();

  // A second with nothing of cron's going on: each wake-up read events, no timer fired.
  const auto before = w.stats();
  loop.run_until([] { return false; }, std::chrono::seconds(1));
  const auto after = w.stats();
  EXPECT_EQ(after.idle_wakeups, 0u);
  EXPECT_EQ(after.timer_wakeups, before.timer_wakeups);
  EXPECT_EQ(after.losses, 0u);
  EXPECT_FALSE(w.timers_armed());
  std::cout << "in 1 s: " << after.wakeups - before.wakeups << " wake-ups, " << after.events - before.events
            << " events of the host's processes, " << after.idle_wakeups << " idle wake-ups\n";
}

// `status --json`'s process_events: the part's own counters, as the daemon showed them before.
TEST(ProcWatch, StatusJsonSaysLiveTheCronFollowedAndTheCounters) {
  if (::geteuid() != 0) GTEST_SKIP() << "the process events connector needs root (CAP_NET_ADMIN)";
  ProcRecorder handler;
  ProcWatch w("watch-host", handler);
  ASSERT_TRUE(w.live()) << w.why_not();
  w.set_cron(4242);
  w.step();
  const nlohmann::json j = w.status_json();
  EXPECT_EQ(j["live"], true);
  EXPECT_TRUE(j["why_not"].is_null());
  EXPECT_EQ(j["cron_pid"], 4242);
  EXPECT_EQ(j["wakeups"], w.stats().wakeups);
  EXPECT_EQ(j["events"], w.stats().events);
  for (const char* k : {"runs", "losses", "unreadable", "ended_unknown", "not_followed", "named_from_cron_log",
                        "from_cron_log", "unnamed"})
    EXPECT_EQ(j[k], 0) << k << " in " << j.dump();
  EXPECT_EQ(j["timer_wakeups"], 0);
  EXPECT_EQ(j["idle_wakeups"], w.stats().idle_wakeups);  // its step() read nothing
  EXPECT_EQ(j.size(), 15u) << j.dump();
}

}  // namespace
}  // namespace cronitor::agent
