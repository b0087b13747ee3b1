// The real daemon on loopback: a heartbeat monitor ("every 10 seconds", grace 2 s) whose Slack
// notify list points at a local HTTP receiver; runs go through the real cronitor-exec. The
// missed, failed and recovered messages arrive as Slack would receive them, and after kill -9
// and a restart the history is intact. Deadlines are passed on the agent's simulated clock
// (tests/support/simulated_clock.h), not waited for.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <thread>

#include "common/event.h"
#include "tests/support/agent_process.h"
#include "tests/support/daemon_test.h"
#include "tests/support/http_recorder.h"
#include "tests/support/simulated_clock.h"
#include "tests/support/subprocess.h"
#include "wrapper/agent_client.h"

namespace {

using namespace cronitor::testing;

class AgentDaemon : public ::testing::Test {
 protected:
  void TearDown() override { stop(SIGTERM); }
  void write_config(const std::string& slack_url, const std::string& extra = "", const char* name = "agent.yaml") {
    std::ofstream(dir_ / name) << "state_dir: " << (dir_ / "state").string() << "\n"
                               << "socket: " << socket_ << "\n"
                               << "spool_dir: " << spool_ << "\n"
                               << "hostname: e2e-host\n"
                               << "discovery: {crontabs: false, systemd: false}\n"
                               << "notify:\n  ops: [\"slack:" << slack_url << "\"]\n"
                               << "defaults:\n  notify: [ops]\n"
                               << "monitors:\n"
                               << "  - key: heartbeat\n"
                               << "    schedule: every 10 seconds\n"
                               << "    grace_seconds: 2\n"
                               << extra;
  }
  std::string config() const { return (dir_ / "agent.yaml").string(); }
  void start() { ASSERT_TRUE(agent_.start(config(), socket_)) << log(); }
  /// The agent on a simulated clock from `at` (default: the real now) that the test moves.
  void start_simulated(std::chrono::sys_time<std::chrono::microseconds> at = {}) {
    ASSERT_TRUE(agent_.start(config(), socket_, {simulated_clock_arg(at)})) << log();
  }
  /// The monitor's state word in `status --json`.
  std::string state() const {
    auto st = json::parse(run_command({kAgent, "status", "--json", "--config", config()}).out, nullptr, false);
    return st.is_object() && !st["monitors"].empty() ? st["monitors"][0].value("state", "") : "";
  }
  void stop(int sig) { agent_.stop(sig); }
  std::string log() const { return agent_.log(); }
  int exec(const std::string& command) { return run_command({kExec, "heartbeat", "--", command}).exit_code; }
  static bool slack_says(const json& r, const std::string& what) {
    auto body = json::parse(r["body"].get<std::string>(), nullptr, false);
    return body.is_object() && body["text"].is_string() &&
           body["text"].get<std::string>().find(what) != std::string::npos;
  }

  AgentSandbox box_{test_dir("agent-e2e")};
  const fs::path dir_ = box_.dir();
  const std::string socket_ = box_.socket(), spool_ = box_.spool();
  AgentProcess agent_{kAgent, (dir_ / "daemon.log").string()};
};

TEST_F(AgentDaemon, MissedFailedRecoveredAndKill9KeepsHistory) {
  HttpRecorder slack(kRecorder, dir_.string());
  ASSERT_GT(slack.port(), 0);
  write_config(slack.url("/services/T/B/X"));
  start_simulated();
  ASSERT_EQ(exec("true"), 0);
  // A failure: the message names the job and the exit code, with the output tail in a block.
  ASSERT_EQ(exec("echo disk full >&2; exit 3"), 3);
  auto failed = slack.wait_for([](const json& r) { return slack_says(r, "heartbeat failed: exit code 3"); }, 10s);
  ASSERT_FALSE(failed.is_null()) << log();
  EXPECT_EQ(failed["path"], "/services/T/B/X");
  auto body = json::parse(failed["body"].get<std::string>());
  std::string blocks = body["blocks"].dump();
  EXPECT_NE(blocks.find("e2e-host"), std::string::npos) << blocks;
  EXPECT_NE(blocks.find("every 10 seconds"), std::string::npos);
  EXPECT_NE(blocks.find("disk full"), std::string::npos);
  EXPECT_NE(blocks.find("*Last exit code*\\n3"), std::string::npos) << blocks;
  EXPECT_NE(blocks.find("agent.yaml:"), std::string::npos);
  // Recovery.
  ASSERT_EQ(exec("true"), 0);
  ASSERT_FALSE(slack.wait_for([](const json& r) { return slack_says(r, "heartbeat recovered after"); }, 10s).is_null());
  // No run for 10 + 2 s: missed, alerted at the deadline. 10 s on: not yet (the margin is the
  // real time since the run); 3 s more: past it, the alert is queued by the time the advance answers.
  ASSERT_GT(move_clock(socket_, 10s), 0) << log();
  EXPECT_EQ(state(), "ok") << log();
  ASSERT_GT(move_clock(socket_, 3s), 0) << log();
  EXPECT_EQ(state(), "missed") << log();
  auto missed = slack.wait_for([](const json& r) { return slack_says(r, "heartbeat missed its run"); }, 10s);
  ASSERT_FALSE(missed.is_null()) << log();
  ASSERT_EQ(exec("true"), 0);
  auto recovered = slack.wait_for(
      [](const json& r) {
        return slack_says(r, "heartbeat recovered after") &&
               r["body"].get<std::string>().find("missed") != std::string::npos;
      },
      10s);
  ASSERT_FALSE(recovered.is_null());
  // kill -9 at once after an acknowledged run, then restart: every run is there.
  ASSERT_EQ(exec("exit 0"), 0);
  const int64_t simulated_now = move_clock(socket_, 0s);
  ASSERT_GT(simulated_now, 0);
  stop(SIGKILL);
  auto offline = run_command({kAgent, "history", "heartbeat", "--json", "--config", config()});
  ASSERT_EQ(offline.exit_code, 0) << offline.err;
  EXPECT_EQ(json::parse(offline.out).size(), 5u) << offline.out;
  start_simulated(std::chrono::sys_time<std::chrono::microseconds>(std::chrono::microseconds(simulated_now)));
  auto online = run_command({kAgent, "history", "heartbeat", "--json", "--config", config()});
  ASSERT_EQ(online.exit_code, 0) << online.err;
  auto runs = json::parse(online.out);
  ASSERT_EQ(runs.size(), 5u);
  int failed_runs = 0;
  for (const auto& r : runs) failed_runs += r["exit_code"] == 3;
  EXPECT_EQ(failed_runs, 1);
  auto st = run_command({kAgent, "status", "--json", "--config", config()});
  ASSERT_EQ(st.exit_code, 0) << st.err;
  auto status = json::parse(st.out);
  EXPECT_EQ(status["daemon"], "running");
  EXPECT_EQ(status["monitors"][0]["key"], "heartbeat");
  EXPECT_EQ(status["monitors"][0]["state"], "ok");
}

// Issue 17: a hung job's runs (past the max runtime of its duration assertion, then exit 0) are
// failed runs in `history`, as the alerts count them ("2 runs failed since"), not "ok".
TEST_F(AgentDaemon, HungRunsAreFailedInHistoryAsTheAlertsCountThem) {
  HttpRecorder slack(kRecorder, dir_.string());
  ASSERT_GT(slack.port(), 0);
  write_config(slack.url("/services/T/B/X"), "    assertions: [\"metric.duration < 1 second\"]\n");
  start();
  ASSERT_EQ(exec("true"), 0);
  ASSERT_EQ(exec("sleep 1.3"), 0);
  ASSERT_EQ(exec("sleep 1.3"), 0);
  auto third = std::async(std::launch::async, [&] { return exec("sleep 1.5"); });
  auto hung = slack.wait_for(
      [](const json& r) {
        return slack_says(r, "heartbeat is hung") &&
               r["body"].get<std::string>().find("2 runs failed since") != std::string::npos;
      },
      10s);
  EXPECT_EQ(third.get(), 0);
  ASSERT_FALSE(hung.is_null()) << log();
  auto h = run_command({kAgent, "history", "heartbeat", "--json", "--config", config()});
  ASSERT_EQ(h.exit_code, 0) << h.err;
  auto runs = json::parse(h.out);
  ASSERT_EQ(runs.size(), 4u) << h.out;
  std::map<std::string, int> by_status;
  for (const auto& r : runs) ++by_status[r["status"].get<std::string>()];
  EXPECT_EQ(by_status["ok"], 1) << h.out;
  EXPECT_EQ(by_status["failed"], 3) << h.out;
}

TEST_F(AgentDaemon, SpooledEventsAreStoredAndFilesRemoved) {
  HttpRecorder slack(kRecorder, dir_.string());
  write_config(slack.url("/s"));
  // The agent is down: the wrapper spools.
  ASSERT_EQ(exec("exit 4"), 4);
  ASSERT_FALSE(fs::is_empty(spool_));
  start();
  ASSERT_FALSE(
      slack.wait_for([](const json& r) { return slack_says(r, "heartbeat failed: exit code 4"); }, 10s).is_null())
      << log();
  wait_until([&] { return fs::is_empty(spool_); }, 15s);
  EXPECT_TRUE(fs::is_empty(spool_));
  // While it runs, a file dropped in the spool is picked up through inotify.
  stop(SIGTERM);
  ASSERT_EQ(exec("true"), 0);
  start();
  ASSERT_FALSE(slack.wait_for([](const json& r) { return slack_says(r, "recovered"); }, 10s).is_null()) << log();
}

TEST_F(AgentDaemon, AlertRetriedAfterServerErrorAndSurvivesRestart) {
  HttpRecorder slack(kRecorder, dir_.string(), /*fail_first=*/1);
  write_config(slack.url("/s"));
  start();
  ASSERT_EQ(exec("exit 5"), 5);
  ASSERT_FALSE(slack.wait_for([](const json& r) { return r["status"] == 500; }, 10s).is_null()) << log();
  stop(SIGKILL);  // the alert is still in the outbox
  start();
  auto ok = slack.wait_for([](const json& r) { return r["status"] == 200 && slack_says(r, "exit code 5"); }, 15s);
  ASSERT_FALSE(ok.is_null()) << log();
  // The POSTs ran in a child process (uplink/post_child.h) and nothing listens: the daemon maps
  // neither libcurl nor libmicrohttpd (issue 17's memory budget: 5.5 and 2.3 MiB of PSS).
  std::ifstream maps("/proc/" + std::to_string(agent_.pid()) + "/maps");
  const std::string mapped((std::istreambuf_iterator<char>(maps)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(mapped.empty());
  EXPECT_EQ(mapped.find("libcurl"), std::string::npos);
  EXPECT_EQ(mapped.find("libmicrohttpd"), std::string::npos);
}

// Its threads carry names (top -H, ps -L, /proc/PID/task/TID/comm), and only the loop takes
// signals: the others block SIGTERM, SIGHUP and SIGINT, which the loop's signalfd reads.
TEST_F(AgentDaemon, ItsThreadsAreNamedAndOnlyTheLoopTakesSignals) {
  HttpRecorder slack(kRecorder, dir_.string());
  write_config(slack.url("/s"));
  start();
  std::map<std::string, unsigned long long> blocked;  // thread name -> its SigBlk mask
  const fs::path tasks = "/proc/" + std::to_string(agent_.pid()) + "/task";
  for (const auto& t : fs::directory_iterator(tasks)) {
    std::string name, line;  // both from one read of status: its Name: is comm
    std::ifstream status(t.path() / "status");
    while (std::getline(status, line)) {
      if (line.rfind("Name:\t", 0) == 0) name = line.substr(6);
      if (line.rfind("SigBlk:", 0) == 0) blocked[name] = std::stoull(line.substr(7), nullptr, 16);
    }
  }
  ASSERT_EQ(blocked.size(), 3u) << log();  // the loop, the checkpoints, the alerts
  for (const char* name : {"cronitor-agent", "checkpointer", "alert-sender"}) ASSERT_TRUE(blocked.count(name)) << name;
  for (const char* name : {"checkpointer", "alert-sender"})
    for (int sig : {SIGTERM, SIGHUP, SIGINT}) EXPECT_TRUE(blocked[name] & (1ull << (sig - 1))) << name << " " << sig;
}

TEST_F(AgentDaemon, BrokenConfigRefusedAndReloadKeepsOldOne) {
  HttpRecorder slack(kRecorder, dir_.string());
  std::ofstream(dir_ / "agent.yaml") << "state_dir: " << (dir_ / "state").string() << "\nsocket: " << socket_
                                     << "\nbogus: 1\n";
  auto r = run_command({kAgent, "run", "--config", config()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("agent.yaml:3: bogus: unknown key"), std::string::npos) << r.err;
  auto cc = run_command({kAgent, "check-config", config()});
  EXPECT_EQ(cc.exit_code, 2);
  write_config(slack.url("/s"));
  start();
  std::ofstream(dir_ / "agent.yaml", std::ios::app) << "    grace_seconds: soon\n";
  ::kill(agent_.pid(), SIGHUP);
  agent_.wait_for_log("keeping the old config");
  EXPECT_NE(log().find("keeping the old config"), std::string::npos) << log();
  ASSERT_EQ(exec("exit 6"), 6);
  EXPECT_FALSE(slack.wait_for([](const json& r) { return slack_says(r, "exit code 6"); }, 10s).is_null());
}

TEST_F(AgentDaemon, ConfigFileWrittenIsReloadedWithoutASignal) {
  HttpRecorder slack(kRecorder, dir_.string());
  write_config(slack.url("/s"));
  start();
  // Written in place and broken: the old config stays, and the log says why.
  std::ofstream(dir_ / "agent.yaml", std::ios::app) << "    grace_seconds: soon\n";
  ASSERT_TRUE(agent_.wait_for_log("keeping the old config")) << log();
  EXPECT_NE(log().find("grace_seconds"), std::string::npos);
  // Replaced as editors do (a new file renamed over it), with one more monitor: it is used.
  write_config(slack.url("/s"), "  - key: added-later\n    schedule: every 5 minutes\n", "new.yaml");
  fs::rename(dir_ / "new.yaml", dir_ / "agent.yaml");
  ASSERT_TRUE(agent_.wait_for_log("config reloaded")) << log();
  auto st = json::parse(run_command({kAgent, "status", "--json", "--config", config()}).out, nullptr, false);
  ASSERT_TRUE(st.is_object());
  bool found = false;
  for (const auto& m : st["monitors"]) found |= m["key"] == "added-later";
  EXPECT_TRUE(found) << st.dump(2);
  EXPECT_EQ(st["daemon"], "running");
}

// The config changes after the agent read it and before its watch is set (here: while it waits
// for state.db, which the test holds locked): no inotify event tells, and the agent reloads anyway.
TEST_F(AgentDaemon, ConfigWrittenWhileTheAgentStartsIsReloaded) {
  HttpRecorder slack(kRecorder, dir_.string());
  write_config(slack.url("/s"));  // mode 0644 with a webhook: warned right after it is read
  const std::string holder =
      "import os,sqlite3,sys,time\n"
      "state, log, cfg, ready = sys.argv[1:5]\n"
      "os.makedirs(state, mode=0o700)\n"
      "db = sqlite3.connect(os.path.join(state, 'state.db'), isolation_level=None)\n"
      "db.execute('BEGIN EXCLUSIVE')\n"
      "open(ready, 'w').close()\n"
      "end = time.monotonic() + 10\n"
      "while time.monotonic() < end and 'other users may read it' not in open(log).read():\n"
      "    time.sleep(0.005)\n"
      "with open(cfg, 'a') as f:\n"
      "    f.write('  - key: added-while-starting\\n    schedule: every 5 minutes\\n')\n"
      "db.execute('COMMIT')\n";
  const fs::path ready = dir_ / "locked";
  std::ofstream(dir_ / "daemon.log").flush();
  Output held;
  std::thread lock([&] {
    held = run_command({"/usr/bin/python3", "-c", holder, (dir_ / "state").string(), (dir_ / "daemon.log").string(),
                        config(), ready.string()});
  });
  const bool locked = wait_until([&] { return fs::exists(ready); }, 10s);
  if (locked) start();  // returns once the socket is there: after the holder let go
  lock.join();
  ASSERT_TRUE(locked);
  ASSERT_EQ(held.exit_code, 0) << held.err;
  ASSERT_TRUE(agent_.wait_for_log("config reloaded")) << log();
  auto st = json::parse(run_command({kAgent, "status", "--json", "--config", config()}).out, nullptr, false);
  ASSERT_TRUE(st.is_object());
  bool found = false;
  for (const auto& m : st["monitors"]) found |= m["key"] == "added-while-starting";
  EXPECT_TRUE(found) << st.dump(2) << log();
}

// SIGTERM while Slack is still answering an alert: the agent waits for the answer (1 s at most)
// and records it, so the next start does not send that alert again.
TEST_F(AgentDaemon, AnAlertBeingSentAtAStopIsNotSentAgainAtTheNextStart) {
  HttpRecorder slack(kRecorder, dir_.string());
  slack.set_mode("slow 400");
  write_config(slack.url("/s"));
  start();
  ASSERT_EQ(exec("exit 3"), 3);
  ASSERT_FALSE(slack.wait_for_body("heartbeat failed: exit code 3", 15s).is_null()) << log();
  stop(SIGTERM);  // Slack answers 0.4 s after it received the alert
  slack.set_mode("ok");
  start();
  // A later alert of the test's own: a second copy of the first would have come before it.
  auto r = run_command({kAgent, "ping", "after-restart", "--state", "fail", "--config", config()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_FALSE(slack.wait_for_body("after-restart", 15s).is_null()) << log();
  size_t sent = 0;
  for (const auto& q : slack.requests()) sent += slack_says(q, "heartbeat failed: exit code 3");
  EXPECT_EQ(sent, 1u) << log();
}

TEST_F(AgentDaemon, TestAlertReachesEachTargetAndShowsNoSecret) {
  HttpRecorder slack(kRecorder, dir_.string());
  // A Slack incoming-webhook URL is its own token: output shows scheme and host only.
  write_config(slack.url("/services/T0/B0/SECRETTOKEN"));
  auto ok = run_command({kAgent, "test-alert", "ops", "--config", config()});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("slack:http://127.0.0.1:"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find(": sent"), std::string::npos) << ok.out;
  EXPECT_EQ(ok.out.find("SECRETTOKEN"), std::string::npos) << ok.out;
  ASSERT_FALSE(
      slack.wait_for([](const json& r) { return slack_says(r, "Test alert from cronitor-agent"); }, 15s).is_null());
  // A target that does not answer: FAILED and a non-zero exit, still without the secret.
  auto bad =
      run_command({kAgent, "test-alert", "slack:http://127.0.0.1:9/services/T/B/SECRETTOKEN", "--config", config()});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.out.find("FAILED"), std::string::npos) << bad.out;
  EXPECT_EQ((bad.out + bad.err).find("SECRETTOKEN"), std::string::npos) << bad.out << bad.err;
}

TEST_F(AgentDaemon, PauseAndResumeWithDaemonUpAndDown) {
  HttpRecorder slack(kRecorder, dir_.string());
  write_config(slack.url("/s"));
  start();
  auto p = run_command({kAgent, "pause", "heartbeat", "--for", "2h", "--config", config()});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_NE(p.out.find("paused"), std::string::npos);
  ASSERT_EQ(exec("exit 7"), 7);  // paused: no alert
  stop(SIGTERM);
  auto r = run_command({kAgent, "resume", "heartbeat", "--config", config()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto st = run_command({kAgent, "status", "--json", "--config", config()});
  ASSERT_EQ(st.exit_code, 0) << st.err;
  EXPECT_EQ(json::parse(st.out)["daemon"], "stopped");
  start();
  ASSERT_EQ(exec("exit 8"), 8);
  ASSERT_FALSE(slack.wait_for([](const json& r) { return slack_says(r, "exit code 8"); }, 10s).is_null()) << log();
  for (const auto& req : slack.requests()) EXPECT_FALSE(slack_says(req, "exit code 7"));
}

TEST_F(AgentDaemon, SpoolFileWrittenWhileRunningIsPickedUpByInotify) {
  HttpRecorder slack(kRecorder, dir_.string());
  write_config(slack.url("/s"));
  start();
  cronitor::RunEvent e;
  e.key = "heartbeat";
  e.run_id = "5a5a5a5a-5a5a-4a5a-8a5a-5a5a5a5a5a5a";
  e.state = cronitor::RunState::kFail;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
  e.ts = cronitor::format_timestamp_ms(ms.count());
  e.host = "h";
  e.pid = 7;
  e.uid = 0;
  e.exit_code = 9;
  const fs::path file = fs::path(spool_) / (e.run_id + ".jsonl");
  std::ofstream(fs::path(spool_) / ".partial") << cronitor::encode(e);
  fs::rename(fs::path(spool_) / ".partial", file);
  ASSERT_FALSE(
      slack.wait_for([](const json& r) { return slack_says(r, "heartbeat failed: exit code 9"); }, 15s).is_null())
      << log();
  wait_until([&] { return !fs::exists(file); }, 15s);
  EXPECT_FALSE(fs::exists(file));
}

TEST_F(AgentDaemon, RunEndWaitingInTheSpoolIsTakenBeforeTheNextRunNoFalseOverlap) {
  // A wrapper that missed its ack spools the rest of its run; the next run of the job then
  // arrives on the socket while the end of the previous one sits in the spool.
  HttpRecorder slack(kRecorder, dir_.string());
  write_config(slack.url("/s"), "  - key: batch\n    schedule: every 1 hour\n");
  start();
  auto event = [](const char* run_id, cronitor::RunState state, int64_t ms) {
    cronitor::RunEvent e;
    e.key = "batch";
    e.run_id = run_id;
    e.state = state;
    e.ts = cronitor::format_timestamp_ms(ms);
    e.host = "h";
    e.pid = 11;
    e.uid = 0;
    e.duration_ms = 50;
    if (state == cronitor::RunState::kFail) e.exit_code = 3;
    return cronitor::encode(e);
  };
  const int64_t t1 =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  const char* first = "1b1b1b1b-1b1b-4b1b-8b1b-1b1b1b1b1b1b";
  const char* second = "2c2c2c2c-2c2c-4c2c-8c2c-2c2c2c2c2c2c";
  ASSERT_TRUE(cronitor::wrapper::send_to_agent(socket_, event(first, cronitor::RunState::kRun, t1), 2000000));
  // Both reach the agent while it is stopped, so it sees them at once when it goes on.
  ASSERT_EQ(::kill(agent_.pid(), SIGSTOP), 0);
  std::ofstream(fs::path(spool_) / ".partial") << event(first, cronitor::RunState::kComplete, t1 + 50);
  fs::rename(fs::path(spool_) / ".partial", fs::path(spool_) / (std::string(first) + ".jsonl"));
  auto next = cronitor::wrapper::AgentSend::start(socket_, event(second, cronitor::RunState::kRun, t1 + 100), 5000000);
  ::kill(agent_.pid(), SIGCONT);
  ASSERT_TRUE(next) << next.error().message;
  ASSERT_TRUE(next->finish());
  ASSERT_TRUE(cronitor::wrapper::send_to_agent(socket_, event(second, cronitor::RunState::kFail, t1 + 150), 2000000));
  ASSERT_FALSE(slack.wait_for([](const json& r) { return slack_says(r, "batch failed: exit code 3"); }, 10s).is_null())
      << log();
  // The incident opened with the failure: no overlap came before it.
  auto st = json::parse(run_command({kAgent, "status", "--json", "--config", config()}).out, nullptr, false);
  ASSERT_TRUE(st.is_object());
  json batch;
  for (const auto& m : st["monitors"])
    if (m["key"] == "batch") batch = m;
  ASSERT_TRUE(batch.is_object()) << st.dump();
  EXPECT_EQ(batch["incident"]["kind"], "failed") << st.dump(2);
  for (const auto& req : slack.requests()) EXPECT_FALSE(slack_says(req, "overlapped")) << req.dump();
}

TEST_F(AgentDaemon, WallClockSetIsSeenAndDeadlinesRecomputed) {
  if (::geteuid() != 0) GTEST_SKIP() << "setting the clock needs root";
  HttpRecorder slack(kRecorder, dir_.string());
  write_config(slack.url("/s"));
  start_simulated();
  ASSERT_EQ(exec("true"), 0);
  // Setting the clock to the time it already shows is a jump of a few microseconds for the
  // machine, but the kernel reports it like any other (TFD_TIMER_CANCEL_ON_SET).
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  ASSERT_EQ(::clock_settime(CLOCK_REALTIME, &ts), 0) << std::strerror(errno);
  agent_.wait_for_log("the wall clock changed");
  EXPECT_NE(log().find("the wall clock changed"), std::string::npos) << log();
  // The loop goes on: the next deadline, recomputed and armed again, still alerts (every 10 s +
  // 2 s grace after the run; the simulated clock passes it at once).
  ASSERT_GT(move_clock(socket_, 13s), 0) << log();
  ASSERT_FALSE(slack.wait_for([](const json& r) { return slack_says(r, "heartbeat missed"); }, 10s).is_null()) << log();
}

TEST_F(AgentDaemon, TellsSystemdReadyStatusAndWatchdog) {
  const std::string notify = (dir_ / "notify.sock").string();
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, notify.c_str(), notify.size());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  timeval tv{0, 200000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setenv("NOTIFY_SOCKET", notify.c_str(), 1);
  ::setenv("WATCHDOG_USEC", "400000", 1);
  HttpRecorder slack(kRecorder, dir_.string());
  write_config(slack.url("/s"));
  start();
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
  std::string all;
  auto until = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < until &&
         (all.find("READY=1") == std::string::npos || all.find("WATCHDOG=1") == std::string::npos ||
          all.find("STATUS=") == std::string::npos)) {
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) all.append(buf, static_cast<size_t>(n)).append("\n");
  }
  ::close(fd);
  EXPECT_NE(all.find("READY=1"), std::string::npos) << all;
  EXPECT_NE(all.find("STATUS=1 monitors, 0 open incidents"), std::string::npos) << all;
  EXPECT_NE(all.find("WATCHDOG=1"), std::string::npos) << all;
}

}  // namespace
