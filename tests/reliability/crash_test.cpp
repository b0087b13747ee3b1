// Crash safety: 3,000 real cronitor-exec runs while the real agent is killed with SIGKILL at random
// moments and started again. Every run must be in the history once: none lost (acknowledged, then
// gone), none counted twice (acknowledged late, spooled, then stored again). Prints the figures.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "tests/support/agent_process.h"
#include "tests/support/daemon_test.h"
#include "tests/support/subprocess.h"

namespace {

using namespace cronitor::testing;

constexpr int kRuns = 3000;
constexpr int kWorkers = 4;
constexpr int kMinKills = 20;

TEST(Crash, RunsUnderRandomKill9sAreNeitherLostNorDuplicated) {
  const fs::path dir = fs::temp_directory_path() / ("crash-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string socket = (dir / "agent.sock").string(), spool = (dir / "spool").string();
  const std::string config = (dir / "agent.yaml").string();
  std::ofstream(config) << "state_dir: " << (dir / "state").string() << "\nsocket: " << socket
                        << "\nspool_dir: " << spool << "\ndiscovery: {crontabs: false, systemd: false}\n"
                        << "retention: {runs: 100000, days: 90}\n"
                        << "monitors:\n  - key: crash\n    schedule: every 1 hour\n";
  ::setenv("CRONITOR_SOCKET", socket.c_str(), 1);
  ::setenv("CRONITOR_SPOOL", spool.c_str(), 1);
  ::unsetenv("CRONITOR_ACK_TIMEOUT_MS");  // the wrapper's own 5 ms: late acks happen, and must not duplicate
  AgentProcess agent(kAgent, (dir / "daemon.log").string());
  ASSERT_TRUE(agent.start(config, socket)) << agent.log();

  // Workers run the job until both at least kRuns runs were started and the agent was killed
  // kMinKills times: the count of kills does not depend on how fast this machine is today.
  std::atomic<int> started{0}, bad_exit{0};
  std::atomic<bool> enough{false};
  std::vector<std::thread> workers;
  const auto t0 = std::chrono::steady_clock::now();
  for (int w = 0; w < kWorkers; ++w)
    workers.emplace_back([&] {
      while (!enough.load()) {
        ++started;
        if (run_command({kExec, "crash", "--", "exit 0"}).exit_code != 0) ++bad_exit;
      }
    });
  // The killer: SIGKILL at a random moment 30..300 ms after each start, then start again.
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> pause_ms(30, 300);
  int kills = 0;
  bool restarted = true;
  while (started.load() < kRuns || kills < kMinKills) {
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));  // a random moment, not a wait
    agent.stop(SIGKILL);
    ++kills;
    if (!(restarted = agent.start(config, socket))) break;
  }
  enough = true;
  for (auto& t : workers) t.join();
  ASSERT_TRUE(restarted) << agent.log();
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // One last restart drains what was spooled while it was down.
  agent.stop(SIGKILL);
  ASSERT_TRUE(agent.start(config, socket)) << agent.log();
  ASSERT_TRUE(wait_until([&] { return !has_entries(spool); }, 20s)) << "spool not drained";
  auto h = run_command({kAgent, "history", "crash", "--json", "--limit", "10000", "--config", config});
  ASSERT_EQ(h.exit_code, 0) << h.err;
  auto runs = json::parse(h.out);
  std::set<std::string> ids;
  int ended_ok = 0, open = 0;
  for (const auto& r : runs) {
    ids.insert(r.value("run_id", ""));
    ended_ok += r.value("status", "") == "ok";
    open += r.value("status", "") == "running";
  }
  const int total = started.load();
  const int lost = total - ended_ok;
  const int duplicated = static_cast<int>(runs.size()) - static_cast<int>(ids.size());
  std::printf(
      "crash safety: %d runs in %.1f s, %d kill -9s of the agent; history: %zu runs (%d ok, %d open), "
      "%d lost, %d duplicated\n",
      total, took, kills, runs.size(), ended_ok, open, lost, duplicated);
  EXPECT_EQ(bad_exit.load(), 0) << "a job's exit code changed";
  EXPECT_GE(kills, kMinKills);
  EXPECT_EQ(static_cast<int>(runs.size()), total);
  EXPECT_EQ(lost, 0);
  EXPECT_EQ(duplicated, 0);
  EXPECT_EQ(open, 0);
  agent.stop(SIGTERM);
  fs::remove_all(dir);
}

}  // namespace
