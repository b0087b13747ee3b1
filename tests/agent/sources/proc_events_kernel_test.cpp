// The process events connector with the real kernel (root: CAP_NET_ADMIN). This test process plays
// cron (the tracker's root); its child plays cron's per-job child and runs `sh -c CMD` as the job.
// The job's processes wait for a line on stdin before they end, and the test writes one only once
// it saw their start: their argv is then still in /proc when their exec is read (no sleeps).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/netlink.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <thread>
#include <utility>

#include "agent/sources/proc_events.h"
#include "agent/sources/process_tracker.h"
#include "tests/support/fake_cron_job.h"

namespace cronitor::agent {
namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

bool root() { return ::geteuid() == 0; }

using cronitor::testing::FakeCronJob;

// Drains `c` into `t` until `done(runs)` or 20 s; each run start of `release_kind` releases one
// waiting process of `job`.
std::vector<ProcRun> follow(ProcConnector& c, ProcessTracker& t, FakeCronJob& job, ProcRun::Kind release_kind,
                            const std::function<bool(const std::vector<ProcRun>&)>& done) {
  std::vector<ProcRun> runs;
  const auto deadline = SteadyClock::now() + std::chrono::seconds(20);
  while (SteadyClock::now() < deadline && !done(runs)) {
    auto d = c.drain([&](const ProcEvent& e) { t.feed(e, read_exec_facts); });
    EXPECT_TRUE(d.has_value());
    if (!d) break;
    if (d->losses) t.lost(d->losses);
    for (auto& r : t.take_runs()) {
      if (r.phase == ProcRun::Phase::started && r.kind == release_kind) job.release();
      runs.push_back(std::move(r));
    }
    pollfd p{c.fd(), POLLIN, 0};
    if (!done(runs)) ::poll(&p, 1, 100);
  }
  return runs;
}

size_t count_ended(const std::vector<ProcRun>& runs) {
  return std::count_if(runs.begin(), runs.end(), [](const ProcRun& r) { return r.phase == ProcRun::Phase::ended; });
}

ProcessTracker matching_tracker(ProcessTracker::Matcher m) {
  ProcessTracker t(std::move(m));
  const pid_t self[] = {::getpid()};
  t.set_roots(self);
  return t;
}

TEST(ProcEventsKernel, TheKernelTellsAJobsExitStatusThroughTheTracker) {
  if (!root()) GTEST_SKIP() << "the process events connector needs root (CAP_NET_ADMIN)";
  auto connector = ProcConnector::open();
  ASSERT_TRUE(connector.has_value()) << connector.error().message;
  const std::string cmd = "read x; exit 7";
  auto t = matching_tracker({.job = [&](uid_t uid, std::string_view c) -> std::optional<std::string> {
    if (uid == 0 && c == cmd) return "seven";
    return std::nullopt;
  }});
  FakeCronJob job(cmd);
  auto runs = follow(*connector, t, job, ProcRun::Kind::job, [](const auto& r) { return count_ended(r) >= 1; });
  ASSERT_EQ(runs.size(), 2u) << "lost: " << t.counters().losses << ", unreadable: " << t.counters().unreadable;
  EXPECT_EQ(runs[0].key, "seven");
  EXPECT_EQ(runs[1].phase, ProcRun::Phase::ended);
  EXPECT_EQ(runs[1].outcome, ProcRun::Outcome::exited);
  EXPECT_EQ(runs[1].exit_code, 7);
  EXPECT_NE(runs[1].pid, job.child());  // the job's shell, not cron's child
  EXPECT_GT(runs[1].duration_ns(), 0);
}

TEST(ProcEventsKernel, EachScriptOfARealRunPartsIsARunWithItsOwnExitCode) {
  if (!root()) GTEST_SKIP() << "the process events connector needs root (CAP_NET_ADMIN)";
  auto connector = ProcConnector::open();
  ASSERT_TRUE(connector.has_value()) << connector.error().message;
  const fs::path dir = fs::path(::testing::TempDir()) / ("procev-run-parts-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (auto [name, code] : {std::pair{"a-fails", 3}, std::pair{"b-works", 0}}) {
    std::ofstream(dir / name) << "#!/bin/sh\nread x\nexit " << code << "\n";
    fs::permissions(dir / name, fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read);
  }
  const std::string cmd = "run-parts " + dir.string();
  auto t = matching_tracker({.job = [&](uid_t, std::string_view c) -> std::optional<std::string> {
                               if (c == cmd) return "line";
                               return std::nullopt;
                             },
                             .script =
                                 [&](uid_t uid, std::string_view key, std::string_view script) {
                                   std::optional<std::string> k;
                                   if (uid == 0 && key == "line") k = fs::path(script).filename().string();
                                   return k;
                                 }});
  FakeCronJob job(cmd);
  auto runs = follow(*connector, t, job, ProcRun::Kind::script, [](const auto& r) { return count_ended(r) >= 3; });
  fs::remove_all(dir);
  std::map<std::string, int> codes;
  for (const auto& r : runs)
    if (r.phase == ProcRun::Phase::ended && r.outcome == ProcRun::Outcome::exited) codes[r.key] = r.exit_code;
  ASSERT_EQ(codes.size(), 3u) << "runs: " << runs.size() << ", unreadable: " << t.counters().unreadable;
  EXPECT_EQ(codes["a-fails"], 3);
  EXPECT_EQ(codes["b-works"], 0);
  EXPECT_NE(codes["line"], 0);  // run-parts says one of its scripts failed
}

TEST(ProcEventsKernel, AFullQueueIsToldAsALossAndARunWhoseEndWasLostEndsAsUnknown) {
  if (!root()) GTEST_SKIP() << "the process events connector needs root (CAP_NET_ADMIN)";
  auto connector = ProcConnector::open();
  ASSERT_TRUE(connector.has_value()) << connector.error().message;
  const std::string cmd = "read x; exit 7";
  auto t = matching_tracker({.job = [&](uid_t, std::string_view c) -> std::optional<std::string> {
    if (c == cmd) return "seven";
    return std::nullopt;
  }});
  FakeCronJob job(cmd);
  // Seen started (the release on its start is held back: the storm comes first).
  auto runs = follow(*connector, t, job, ProcRun::Kind::script, [](const auto& r) { return !r.empty(); });
  ASSERT_EQ(runs.size(), 1u);
  // A queue of a few events filled by a storm of forks nobody reads, then the job's end.
  int tiny = 1;
  ASSERT_EQ(::setsockopt(connector->fd(), SOL_SOCKET, SO_RCVBUFFORCE, &tiny, sizeof tiny), 0);
  for (int i = 0; i < 2000; ++i) {
    pid_t p = ::fork();
    if (p == 0) ::_exit(0);
    ASSERT_GT(p, 0);
    ::waitpid(p, nullptr, 0);
  }
  job.release();  // it ends while the queue is full: its exit is dropped for sure
  job.wait();
  int big = 4 << 20;
  ASSERT_EQ(::setsockopt(connector->fd(), SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big), 0);
  // The loss protocol: drain, take suspects, check /proc, drain again, settle; until no new loss.
  auto drain = [&] {
    auto d = connector->drain([&](const ProcEvent& e) { t.feed(e, read_exec_facts); });
    ASSERT_TRUE(d.has_value());
    if (d->losses) t.lost(d->losses);
  };
  drain();
  for (int round = 0; round < 10 && !t.suspects().processes.empty(); ++round) {
    auto s = t.suspects();
    std::vector<pid_t> gone;
    for (auto [pid, start] : s.processes)
      if (!process_still_alive(pid, start)) gone.push_back(pid);
    drain();
    t.settle_loss(s.generation, gone, 0);
  }
  for (auto& r : t.take_runs()) runs.push_back(std::move(r));
  EXPECT_GE(t.counters().losses, 1u);
  ASSERT_EQ(runs.size(), 2u);
  const auto& end = runs[1];
  EXPECT_EQ(end.outcome, ProcRun::Outcome::unknown) << "exit code " << end.exit_code;  // not a failure
  EXPECT_EQ(end.key, "seven");
  EXPECT_EQ(t.counters().ended_unknown, 1u);
  EXPECT_EQ(t.followed(), 0u);  // nothing of the storm is followed once it is settled
}

// What no run needs is dropped in the kernel: a thread's start and end, and uid changes. Without
// the filter the same steps do reach the socket (so this test sees the difference).
TEST(ProcEventsKernel, TheKernelFilterDropsThreadsAndUidChanges) {
  if (!root()) GTEST_SKIP() << "the process events connector needs root (CAP_NET_ADMIN)";
  for (bool filtered : {false, true}) {
    SCOPED_TRACE(filtered ? "filtered" : "unfiltered");
    auto connector = ProcConnector::open({.kernel_filter = filtered});
    ASSERT_TRUE(connector.has_value()) << connector.error().message;
    // A child that starts and joins a thread, drops to nobody, and exits 9.
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      std::thread([] {}).join();
      if (::setuid(65534) != 0) ::_exit(1);
      ::_exit(9);
    }
    size_t threads = 0, uid_changes = 0;
    std::optional<uint32_t> status;
    uint64_t exit_ns = 0;
    const auto deadline = SteadyClock::now() + std::chrono::seconds(20);
    while (!status && SteadyClock::now() < deadline) {
      auto d = connector->drain([&](const ProcEvent& e) {
        if (e.tgid != child) return;
        threads += e.pid != e.tgid;
        uid_changes += e.kind == ProcEvent::Kind::uid;
        if (e.kind == ProcEvent::Kind::exit && e.pid == child) {
          status = e.exit_code;
          exit_ns = e.timestamp_ns;
        }
      });
      ASSERT_TRUE(d.has_value());
      pollfd p{connector->fd(), POLLIN, 0};
      if (!status) ::poll(&p, 1, 100);
    }
    ::waitpid(child, nullptr, 0);
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(*status, 9u << 8);
    // The kernel's timestamps are CLOCK_MONOTONIC: mapped to the wall clock, the exit was just now.
    EXPECT_LT(std::chrono::abs(std::chrono::system_clock::now() - wall_time_of(exit_ns)), std::chrono::seconds(5));
    EXPECT_EQ(threads == 0, filtered) << threads;  // the thread's fork and exit
    EXPECT_EQ(uid_changes == 0, filtered) << uid_changes;
  }
}

TEST(ProcEventsKernel, ForgedDatagramsFromALocalProcessAreNotEvents) {
  if (!root()) GTEST_SKIP() << "the process events connector needs root (CAP_NET_ADMIN)";
  auto connector = ProcConnector::open();
  ASSERT_TRUE(connector.has_value()) << connector.error().message;
  // Any local process may unicast to our port: only the kernel (port 0) is believed.
  sockaddr_nl self{};
  socklen_t len = sizeof self;
  ASSERT_EQ(::getsockname(connector->fd(), reinterpret_cast<sockaddr*>(&self), &len), 0);
  int forger = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR);
  ASSERT_GE(forger, 0);
  sockaddr_nl any{};
  any.nl_family = AF_NETLINK;
  ASSERT_EQ(::bind(forger, reinterpret_cast<sockaddr*>(&any), sizeof any), 0);
  const ProcEvent fake{.kind = ProcEvent::Kind::exit, .pid = 424242, .tgid = 424242, .exit_code = 1 << 8};
  auto bytes = encode_proc_datagram(fake);
  ASSERT_GT(::sendto(forger, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&self), sizeof self), 0);
  ::close(forger);
  size_t foreign = 0;
  bool forged_seen = false;
  const auto deadline = SteadyClock::now() + std::chrono::seconds(10);
  while (foreign == 0 && SteadyClock::now() < deadline) {
    auto d = connector->drain([&](const ProcEvent& e) { forged_seen |= e.pid == 424242; });
    ASSERT_TRUE(d.has_value());
    foreign += d->foreign;
    pollfd p{connector->fd(), POLLIN, 0};
    if (foreign == 0) ::poll(&p, 1, 100);
  }
  EXPECT_EQ(foreign, 1u);
  EXPECT_FALSE(forged_seen);
}

}  // namespace
}  // namespace cronitor::agent
