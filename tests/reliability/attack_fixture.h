// The stage of the attack tests: the real `cronitor-agent run` (root) with its own state_dir,
// socket and spool under a temp folder, a Slack receiver on loopback, and real unprivileged
// users (useradd) who talk to it the way any local user can. Run under `flock /work/.host.lock`
// (useradd). CRONITOR_TEST_AGENT_BIN / CRONITOR_TEST_EXEC_BIN point at other binaries (e.g. an
// older build, to see a test fail there).
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/event.h"
#include "tests/support/agent_process.h"
#include "tests/support/http_recorder.h"
#include "tests/support/temp_user.h"

namespace cronitor::testing {

inline std::string binary(const char* env, const char* built) {
  const char* v = std::getenv(env);
  return v != nullptr && *v != '\0' ? v : built;
}

/// Connects to `socket`, writes `line`, reads the reply until EOF or 3 s; in a child that
/// became `uid` (-1: stay root). Returns the reply ("" when none).
inline std::string send_line_as(const TempUser* user, const std::string& socket, const std::string& line) {
  int p[2];
  if (::pipe(p) != 0) return "pipe failed";
  pid_t child = ::fork();
  if (child == 0) {
    ::close(p[0]);
    if (user) user->become();
    std::string reply = "connect failed";
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, socket.c_str(), socket.size());
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      reply.clear();
      (void)!::write(fd, line.data(), line.size());
      timeval tv{3, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      char buf[65536];
      for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) reply.append(buf, static_cast<size_t>(n));
    }
    (void)!::write(p[1], reply.data(), reply.size());
    ::_exit(0);
  }
  ::close(p[1]);
  std::string out;
  char buf[65536];
  for (ssize_t n; (n = ::read(p[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  ::close(p[0]);
  ::waitpid(child, nullptr, 0);
  return out;
}

/// Runs `argv` as `user` (nullptr: root) with exactly `env`; returns its exit code.
inline int run_as(const TempUser* user, const std::vector<std::string>& argv, const std::vector<std::string>& env,
                  std::string* err = nullptr, const std::string& err_path = "") {
  pid_t child = ::fork();
  if (child == 0) {
    int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    if (!err_path.empty()) {
      int e = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
      ::dup2(e, 2);
    } else {
      ::dup2(devnull, 2);
    }
    if (user) user->become();
    std::vector<char*> a, e;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    for (const auto& s : env) e.push_back(const_cast<char*>(s.c_str()));
    e.push_back(nullptr);
    ::execve(a[0], a.data(), e.data());
    ::_exit(127);
  }
  int st = 0;
  ::waitpid(child, &st, 0);
  if (err && !err_path.empty()) {
    std::ifstream in(err_path);
    err->assign(std::istreambuf_iterator<char>(in), {});
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/// Files under `dir` ending in `.jsonl` (spool files), 0 when it does not exist.
inline size_t spool_files(const std::string& dir) {
  size_t n = 0;
  std::error_code ec;
  for (const auto& f : std::filesystem::directory_iterator(dir, ec)) n += f.path().extension() == ".jsonl";
  return n;
}

class AttackFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::getuid() != 0) GTEST_SKIP() << "needs root: the agent is root, the attacker a user made with useradd";
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    ::chmod(dir_.c_str(), 0755);  // the users reach the socket inside it
    socket_ = dir_ + "/agent.sock";
    spool_ = dir_ + "/spool";
    // CRONITOR_TEST_USER_PREFIX: names of one's own when several test runs share the host.
    const char* prefix = std::getenv("CRONITOR_TEST_USER_PREFIX");
    const std::string p = prefix != nullptr && *prefix != '\0' ? prefix : "cronitor-";
    mallory_ = std::make_unique<TempUser>(p + "mallory");
    bob_ = std::make_unique<TempUser>(p + "bob");
  }
  void TearDown() override {
    agent_.stop(SIGTERM);
    slack_.reset();
    mallory_.reset();
    bob_.reset();
    std::filesystem::remove_all(dir_);
  }

  /// Writes the config: root's backup (a config monitor, no `user:`: root's), one monitor of
  /// mallory's and one of bob's (without `owners`, none: a config older agents take), and
  /// `extra` lines; starts the agent.
  void start(const std::string& extra = "", bool owners = true) {
    if (!slack_) slack_ = std::make_unique<HttpRecorder>(kRecorder, dir_);
    std::ofstream(dir_ + "/agent.yaml")
        << "state_dir: " << dir_ << "/state\n"
        << "socket: " << socket_ << "\n"
        << "spool_dir: " << spool_ << "\n"
        << "hostname: attack-host\n"
        << "discovery: {crontabs: false, systemd: false}\n"
        << "notify:\n  ops: [\"slack:" << slack_->url("/hook") << "\"]\n"
        << "defaults:\n  notify: [ops]\n"
        << "monitors:\n"
        << "  - key: root-backup\n    schedule: every 1 hour\n"
        << (owners ? "  - key: mallory-sync\n    schedule: every 1 hour\n    user: " + mallory_->name() +
                         "\n  - key: bob-report\n    schedule: every 1 hour\n    user: " + bob_->name() + "\n"
                   : std::string())
        << extra;
    ASSERT_TRUE(agent_.start(dir_ + "/agent.yaml", socket_)) << agent_.log();
  }
  bool agent_alive() const { return agent_.pid() > 0 && ::waitpid(agent_.pid(), nullptr, WNOHANG) == 0; }

  /// The env of a wrapper: this agent's socket, and `spool` (default: the agent's).
  std::vector<std::string> wrapper_env(const std::string& spool = "", int ack_ms = 1000) const {
    return {"CRONITOR_SOCKET=" + socket_, "CRONITOR_SPOOL=" + (spool.empty() ? spool_ : spool),
            "CRONITOR_ACK_TIMEOUT_MS=" + std::to_string(ack_ms), "SHELL=/bin/sh", "PATH=/usr/bin:/bin"};
  }
  size_t slack_count(const std::string& text) const {
    size_t n = 0;
    for (const auto& r : slack_->requests()) n += r["body"].get<std::string>().find(text) != std::string::npos;
    return n;
  }
  cronitor::RunEvent event(const std::string& key, cronitor::RunState state, int64_t uid, int n = 0) const {
    cronitor::RunEvent e;
    e.key = key;
    char id[37];
    std::snprintf(id, sizeof id, "%08x-0000-4000-8000-%012x", static_cast<unsigned>(::getpid()), n);
    e.run_id = id;
    e.state = state;
    e.ts = cronitor::format_timestamp_ms(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
    e.host = "evil";
    e.pid = 4242;
    e.uid = uid;
    if (cronitor::is_terminal(state)) {
      e.exit_code = state == cronitor::RunState::kFail ? 3 : 0;
      e.output_tail = "forged output";
    }
    return e;
  }

  static constexpr const char* kRecorder = CRONITOR_SOURCE_DIR "/tests/support/http_recorder.py";
  const std::string agent_bin_ = binary("CRONITOR_TEST_AGENT_BIN", CRONITOR_AGENT_BIN);
  const std::string exec_bin_ = binary("CRONITOR_TEST_EXEC_BIN", CRONITOR_EXEC_BIN);
  std::string dir_ =
      (std::filesystem::temp_directory_path() / ("cronitor-attack-" + std::to_string(::getpid()) + "-" +
                                                 ::testing::UnitTest::GetInstance()->current_test_info()->name()))
          .string();
  std::string socket_, spool_;
  std::unique_ptr<TempUser> mallory_, bob_;
  std::unique_ptr<HttpRecorder> slack_;
  AgentProcess agent_{agent_bin_, dir_ + "/daemon.log"};
};

}  // namespace cronitor::testing
