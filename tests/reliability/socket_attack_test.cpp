// Issue 9 on the agent socket, as a local user would attack it: broken control lines, forged
// runs of root's job, a forged host name against the cron incident, other users' status and
// history, and 2,000 idle connections while another user's jobs report.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <thread>

#include "tests/reliability/attack_fixture.h"

namespace cronitor::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class SocketAttack : public AttackFixture {};

TEST_F(SocketAttack, NoControlLineEndsTheDaemon) {
  start();
  const std::vector<std::string> lines = {
      R"({"control":"status","key":5})",
      R"({"control":"history","key":"mallory-sync","limit":"x"})",
      R"({"control":"history","key":5})",
      R"({"control":"history","key":"mallory-sync","limit":1e300})",
      R"({"control":"history","key":"mallory-sync","limit":-99999999999999999999})",
      R"({"control":"history","key":"mallory-sync","limit":18446744073709551615})",
      R"({"control":"pause","key":"mallory-sync","until_us":"tomorrow"})",
      R"({"control":"pause","key":"mallory-sync","until_us":9223372036854775807})",
      R"({"control":"pause","key":["mallory-sync"]})",
      R"({"control":5})",
      R"({"control":null})",
      R"({"control":"status")",
      R"({"control":"resume","key":{"a":1}})",
      R"({"key":"x","control":{"nested":[1,2,3]}})",
      R"(["control","status"])",
      "{\"control\":\"history\",\"key\":\"\xff\xfe\"}",
  };
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    const std::string reply = send_line_as(mallory_.get(), socket_, l + "\n");
    auto j = json::parse(reply, nullptr, false);
    ASSERT_TRUE(agent_alive()) << "the daemon died of: " << l << "\n" << agent_.log();
    if (i == 0 || i == 5) {  // an unused field, a limit clamped to 10,000: answered
      EXPECT_EQ(j["ok"], true) << l << " -> " << reply;
    } else if (i == lines.size() - 2) {  // not an object: not a control request, not an event
      EXPECT_EQ(reply.rfind("err ", 0), 0u) << l << " -> " << reply;
    } else {
      EXPECT_TRUE(j.is_object() && j["ok"] == false && j["error"].is_string()) << l << " -> " << reply;
    }
  }
  // Still serving, the right way.
  auto status = json::parse(send_line_as(nullptr, socket_,
                                         R"({"control":"status"})"
                                         "\n"),
                            nullptr, false);
  ASSERT_TRUE(status.is_object()) << agent_.log();
  EXPECT_EQ(status["ok"], true);
  EXPECT_EQ(status["monitors"].size(), 3u);
}

TEST_F(SocketAttack, StatusAndHistoryShowAUserOnlyTheirOwnJobs) {
  start();
  auto keys = [](const json& status) {
    std::vector<std::string> out;
    for (const auto& m : status["monitors"]) out.push_back(m["key"]);
    return out;
  };
  auto mine = json::parse(send_line_as(mallory_.get(), socket_, "{\"control\":\"status\"}\n"), nullptr, false);
  ASSERT_TRUE(mine.is_object());
  EXPECT_EQ(keys(mine), std::vector<std::string>{"mallory-sync"});
  auto all = json::parse(send_line_as(nullptr, socket_, "{\"control\":\"status\"}\n"), nullptr, false);
  EXPECT_EQ(all["monitors"].size(), 3u);
  auto theirs = json::parse(
      send_line_as(mallory_.get(), socket_, "{\"control\":\"history\",\"key\":\"root-backup\"}\n"), nullptr, false);
  EXPECT_EQ(theirs["ok"], false) << theirs.dump();
  auto own = json::parse(send_line_as(mallory_.get(), socket_, "{\"control\":\"history\",\"key\":\"mallory-sync\"}\n"),
                         nullptr, false);
  EXPECT_EQ(own["ok"], true) << own.dump();
}

TEST_F(SocketAttack, ForgedRunsOfRootsJobAreRefusedAndNotSpooled) {
  start();
  // The real wrapper, as mallory, claiming root's job: refused on the socket, and not spooled.
  std::string err;
  const int rc = run_as(mallory_.get(), {exec_bin_, "root-backup", "--", "echo pwned; exit 3"}, wrapper_env(), &err,
                        dir_ + "/mallory.err");
  EXPECT_EQ(rc, 3) << "the job's exit code is the job's";
  EXPECT_NE(err.find("refused"), std::string::npos) << err;
  // A forged event straight on the socket: refused too.
  const std::string reply = send_line_as(
      mallory_.get(), socket_, cronitor::encode(event("root-backup", cronitor::RunState::kFail, mallory_->uid())));
  EXPECT_EQ(reply.rfind("err job \"root-backup\"", 0), 0u) << reply;
  // Mallory's own job is hers to report.
  EXPECT_EQ(run_as(mallory_.get(), {exec_bin_, "mallory-sync", "--", "exit 4"}, wrapper_env()), 4);
  ASSERT_FALSE(slack_->wait_for_body("mallory-sync failed", 10s).is_null()) << agent_.log();
  // Alerted after the forged attempts: a root-backup alert would have come before it.
  EXPECT_EQ(slack_count("root-backup"), 0u) << agent_.log();
  EXPECT_EQ(spool_files(spool_), 0u);
  auto history = json::parse(send_line_as(nullptr, socket_, "{\"control\":\"history\",\"key\":\"root-backup\"}\n"),
                             nullptr, false);
  EXPECT_EQ(history["runs"].size(), 0u) << history.dump();
}

TEST_F(SocketAttack, AKeyFirstLearntFromARunKeepsItsOwnerAcrossRestarts) {
  start();
  EXPECT_EQ(run_as(bob_.get(), {exec_bin_, "bob-adhoc", "--", "true"}, wrapper_env()), 0);
  agent_.stop(SIGTERM);
  ASSERT_TRUE(agent_.start(dir_ + "/agent.yaml", socket_)) << agent_.log();
  const std::string reply = send_line_as(
      mallory_.get(), socket_, cronitor::encode(event("bob-adhoc", cronitor::RunState::kFail, mallory_->uid())));
  EXPECT_EQ(reply.rfind("err job \"bob-adhoc\"", 0), 0u) << reply;
  struct stat st {};
  ASSERT_EQ(::stat((dir_ + "/state/state.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "state.db holds the notify URLs";
}

TEST_F(SocketAttack, NewKeysOfOneUserAreBoundedAndLeaveRoomForOthers) {
  start();
  // Every key no crontab or agent.yaml defines becomes a monitor. Mallory invents keys until the
  // agent says no: 100 (her share), not the host's 1,000 (which would leave none for anyone else).
  int runs = 0;  // each event its own run id: events are idempotent by run id and state
  auto send = [&](const TempUser* who, const std::string& key, int64_t uid) {
    const auto line = cronitor::encode(event(key, cronitor::RunState::kRun, uid, ++runs));
    for (;;) {  // past the per-uid rate (200/s) the answer is "busy": come back a little later
      std::string r = send_line_as(who, socket_, line);
      if (!r.starts_with("busy")) return r;
      std::this_thread::sleep_for(50ms);
    }
  };
  int accepted = 0;
  std::string refusal;
  for (int i = 0; i < 150 && refusal.empty(); ++i) {
    const std::string r = send(mallory_.get(), "junk-" + std::to_string(i), mallory_->uid());
    if (r == "ok\n")
      ++accepted;
    else
      refusal = r;
  }
  EXPECT_EQ(accepted, 100);
  EXPECT_EQ(refusal.rfind("err uid " + std::to_string(mallory_->uid()) + " already reports 100 keys", 0), 0u)
      << refusal;
  // Her known keys still work; bob and root may still start new ones.
  EXPECT_EQ(send(mallory_.get(), "junk-7", mallory_->uid()), "ok\n");
  EXPECT_EQ(send(bob_.get(), "bob-new", bob_->uid()), "ok\n");
  EXPECT_EQ(send(nullptr, "root-new", 0), "ok\n");
  EXPECT_TRUE(agent_alive());
}

TEST_F(SocketAttack, IdleConnectionsOfOneUserDoNotStarveOthers) {
  // The agent starts with systemd's default soft limit of 1,024 descriptors.
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit systemd_default = saved;
  systemd_default.rlim_cur = std::min<rlim_t>(1024, saved.rlim_max);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &systemd_default), 0);
  start("", false);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  const char* idle_env = std::getenv("CRONITOR_TEST_IDLE");
  const size_t kIdle = idle_env ? std::strtoul(idle_env, nullptr, 10) : 2000;
  // Mallory holds 2,000 connections (CRONITOR_TEST_IDLE) that never send a line, reopening each
  // one the agent closes: more than the agent's descriptors (today: no honest run gets through).
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t attacker = ::fork();
  if (attacker == 0) {
    ::close(ready[0]);
    rlimit more{8192, 8192};
    ::setrlimit(RLIMIT_NOFILE, &more);
    mallory_->become();
    std::vector<pollfd> fds(kIdle);
    auto open_one = [&](pollfd& p) {
      p.fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      sockaddr_un a{};
      a.sun_family = AF_UNIX;
      std::memcpy(a.sun_path, socket_.c_str(), socket_.size());
      (void)::connect(p.fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
      p.events = POLLIN;
    };
    for (auto& p : fds) open_one(p);
    (void)!::write(ready[1], "x", 1);
    for (;;) {
      if (::poll(fds.data(), fds.size(), 1000) < 0) continue;
      for (auto& p : fds)
        if (p.revents != 0) {
          ::close(p.fd);
          open_one(p);
          p.revents = 0;
        }
    }
  }
  ::close(ready[1]);
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  // Bob's 500 runs of the real wrapper. Their spool is not the agent's: a run file there is a
  // run whose events were not acknowledged in time (1 s here, the most CRONITOR_ACK_TIMEOUT_MS
  // allows, not the wrapper's 5 ms: on this 2-core machine the attacker's churn itself delays some
  // acks past 500 ms, while starvation shows as no acks at all whatever the budget). More than
  // kMaxUnacked spooled runs end the loop early.
  const std::string bob_spool = dir_ + "/bob-spool";
  std::filesystem::create_directories(bob_spool);
  ASSERT_EQ(::chmod(bob_spool.c_str(), 01733), 0);
  const char* ack_env = std::getenv("CRONITOR_TEST_ACK_MS");
  const int ack_ms = ack_env ? std::atoi(ack_env) : 1000;
  const auto t0 = std::chrono::steady_clock::now();
  constexpr int kRuns = 500;
  constexpr size_t kMaxUnacked = 5;
  int ran = 0;
  for (; ran < kRuns && spool_files(bob_spool) <= kMaxUnacked; ++ran)
    ASSERT_EQ(run_as(bob_.get(), {exec_bin_, "bob-job", "--", "true"}, wrapper_env(bob_spool, ack_ms)), 0);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ::kill(attacker, SIGKILL);
  ::waitpid(attacker, nullptr, 0);
  ASSERT_EQ(::chmod(bob_spool.c_str(), 0755), 0);  // root counts them
  const size_t spooled = spool_files(bob_spool);
  const size_t acked = ran - spooled;
  std::printf(
      "idle-connection attack (%zu connections of one user): %zu of %d runs acknowledged within %d ms, %.1f s\n", kIdle,
      acked, kRuns, ack_ms, secs);
  EXPECT_EQ(ran, kRuns) << "more than " << kMaxUnacked << " runs unacknowledged; stopped early";
  EXPECT_GE(acked, kRuns - kMaxUnacked) << agent_.log().substr(0, 4000);
  EXPECT_TRUE(agent_alive());
}

}  // namespace
}  // namespace cronitor::testing
