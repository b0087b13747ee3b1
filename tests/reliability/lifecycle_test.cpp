// The daemon's life and its wrappers' deaths, against the real `cronitor-agent run` and the real
// cronitor-exec: a wrapper killed with SIGKILL (seen live, or found dead at start after its run
// came through the spool) leaves no run open for ever and no false "overlapped" alert; one agent
// per state folder; SIGTERM is prompt even while an alert is being sent.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "common/endpoint_file.h"
#include "tests/support/agent_process.h"
#include "tests/support/daemon_test.h"
#include "tests/support/subprocess.h"

namespace {

using namespace cronitor::testing;

double now_s() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

class Lifecycle : public ::testing::Test {
 protected:
  void TearDown() override {
    agent_.stop(SIGTERM);
    for (pid_t p : children_) {
      ::kill(p, SIGKILL);
      ::waitpid(p, nullptr, 0);
    }
  }
  void write_config(const std::string& extra = "") {
    std::ofstream(config()) << "state_dir: " << (dir_ / "state").string() << "\n"
                            << "socket: " << socket_ << "\n"
                            << "spool_dir: " << spool_ << "\n"
                            << "discovery: {crontabs: false, systemd: false}\n"
                            << "monitors:\n"
                            << "  - key: job\n"
                            << "    schedule: every 1 hour\n"
                            << extra;
  }
  std::string config() const { return (dir_ / "agent.yaml").string(); }
  void start() { ASSERT_TRUE(agent_.start(config(), socket_)) << agent_.log(); }
  // cronitor-exec job -- COMMAND, in the background; returns the wrapper's pid.
  pid_t spawn_wrapper(const std::string& command) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::execl(kExec.c_str(), kExec.c_str(), "job", "--", command.c_str(), nullptr);
      ::_exit(127);
    }
    children_.push_back(pid);
    return pid;
  }
  void kill9(pid_t pid) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    std::erase(children_, pid);
  }
  json history() const {
    auto r = run_command({kAgent, "history", "job", "--json", "--config", config()});
    auto j = json::parse(r.out, nullptr, false);
    return j.is_array() ? j : json::array();
  }
  std::string status_of_latest() const {
    auto h = history();
    return h.empty() ? "" : h[0].value("status", "");
  }
  double file_time(const std::string& name) const {
    std::ifstream in(dir_ / name);
    double t = 0;
    in >> t;
    return t;
  }

  AgentSandbox box_{test_dir("lifecycle")};
  const fs::path dir_ = box_.dir();
  const std::string socket_ = box_.socket(), spool_ = box_.spool();
  AgentProcess agent_{kAgent, (dir_ / "daemon.log").string()};
  std::vector<pid_t> children_;
};

// The wrapper dies by SIGKILL while its job ignores SIGTERM (what PR_SET_PDEATHSIG sends it) and
// runs on: the agent follows the job's group and closes the run within a second of its end. The
// next run is no overlap.
TEST_F(Lifecycle, KilledWrapperRunClosedWhenItsGroupEndsWithoutOverlap) {
  write_config();
  start();
  const std::string ended = (dir_ / "ended").string();
  const pid_t wrapper = spawn_wrapper("trap '' TERM; sleep 1.5; date +%s.%N > " + ended);
  ASSERT_TRUE(wait_until([&] { return status_of_latest() == "running"; }, 15s)) << agent_.log();
  kill9(wrapper);
  ASSERT_TRUE(wait_until([&] { return fs::exists(ended) && fs::file_size(ended) > 0; }, 15s)) << "the job did not end";
  const double job_end = file_time("ended");
  ASSERT_TRUE(wait_until([&] { return status_of_latest() == "failed"; }, 10s)) << agent_.log() << history().dump();
  const double closed_seen = now_s();
  std::printf("run closed %.3f s after its job's group ended (bound 1 s)\n", closed_seen - job_end);
  EXPECT_LT(closed_seen - job_end, 1.0);
  auto h = history();
  EXPECT_TRUE(h[0]["exit_code"].is_null()) << h.dump();
  EXPECT_NE(agent_.log().find("wrapper lost (killed); job ended at "), std::string::npos) << agent_.log();
  EXPECT_NE(agent_.log().find("exit unknown"), std::string::npos);
  // The next run of the job is no overlap.
  ASSERT_EQ(run_command({kExec, "job", "--", "true"}).exit_code, 0);
  ASSERT_TRUE(wait_until([&] { return history().size() == 2 && status_of_latest() == "ok"; }, 15s)) << history().dump();
  EXPECT_EQ(agent_.log().find("overlapped"), std::string::npos) << agent_.log();
}

// A job that dies with its wrapper (SIGTERM from PR_SET_PDEATHSIG) is closed at once. `exec`: the
// job is the wrapper's child itself whatever the shell (dash forks `sleep` and only the shell would
// get the signal; the agent would then rightly follow the sleep for 30 s).
TEST_F(Lifecycle, KilledWrapperWhoseJobDiesWithItIsClosedAtOnce) {
  write_config();
  start();
  const pid_t wrapper = spawn_wrapper("exec sleep 30");
  ASSERT_TRUE(wait_until([&] { return status_of_latest() == "running"; }, 15s)) << agent_.log();
  const double killed = now_s();
  kill9(wrapper);
  ASSERT_TRUE(wait_until([&] { return status_of_latest() == "failed"; }, 10s)) << agent_.log();
  std::printf("run closed %.3f s after the wrapper's SIGKILL\n", now_s() - killed);
  EXPECT_LT(now_s() - killed, 1.5);
}

// The agent is down: the run event goes to the spool, then the wrapper is killed. At start the
// agent finds the run open and its wrapper gone: it closes it the same way.
TEST_F(Lifecycle, SpooledRunOfADeadWrapperIsClosedAtStart) {
  write_config();
  const std::string started = (dir_ / "started").string();
  const pid_t wrapper = spawn_wrapper("touch " + started + "; exec sleep 30");
  ASSERT_TRUE(wait_until([&] { return fs::exists(started) && has_entries(spool_); }, 15s));
  kill9(wrapper);
  start();
  ASSERT_TRUE(wait_until([&] { return status_of_latest() == "failed"; }, 10s)) << agent_.log() << history().dump();
  EXPECT_NE(agent_.log().find("wrapper lost (killed)"), std::string::npos) << agent_.log();
  // Its next run is no overlap either.
  ASSERT_EQ(run_command({kExec, "job", "--", "true"}).exit_code, 0);
  ASSERT_TRUE(wait_until([&] { return status_of_latest() == "ok"; }, 15s));
  EXPECT_EQ(agent_.log().find("overlapped"), std::string::npos) << agent_.log();
}

// The agent is killed while a run is open; the wrapper dies while the agent is down. The next
// agent reads the open run from state.db and closes it.
TEST_F(Lifecycle, RunOpenAcrossAnAgentCrashIsClosedWhenItsWrapperIsGone) {
  write_config();
  start();
  const pid_t wrapper = spawn_wrapper("exec sleep 30");
  ASSERT_TRUE(wait_until([&] { return status_of_latest() == "running"; }, 15s)) << agent_.log();
  agent_.stop(SIGKILL);
  kill9(wrapper);
  start();
  ASSERT_TRUE(wait_until([&] { return status_of_latest() == "failed"; }, 10s)) << agent_.log() << history().dump();
}

// A live wrapper keeps its run open: nothing is closed early.
TEST_F(Lifecycle, LiveWrapperKeepsItsRunOpenAndEndsNormally) {
  write_config();
  start();
  const std::string go = (dir_ / "go").string();
  const pid_t wrapper = spawn_wrapper("while [ ! -e " + go + " ]; do sleep 0.05; done; exit 3");
  ASSERT_TRUE(wait_until([&] { return status_of_latest() == "running"; }, 15s)) << agent_.log();
  agent_.stop(SIGKILL);  // a restart in between: the wrapper is found alive
  start();
  EXPECT_FALSE(wait_until([&] { return status_of_latest() != "running"; }, 1500ms)) << history().dump();
  std::ofstream(go).flush();
  int st = 0;
  ASSERT_EQ(::waitpid(wrapper, &st, 0), wrapper);
  std::erase(children_, wrapper);
  EXPECT_EQ(WEXITSTATUS(st), 3);
  ASSERT_TRUE(wait_until([&] { return status_of_latest() == "failed"; }, 10s));
  EXPECT_EQ(history()[0]["exit_code"], 3);
  EXPECT_EQ(agent_.log().find("wrapper lost"), std::string::npos) << agent_.log();
}

// Item 6: a second agent on the same state folder refuses to start, before touching the socket.
TEST_F(Lifecycle, SecondAgentOnTheSameStateExitsWithAClearMessage) {
  write_config();
  start();
  const auto inode = fs::status(socket_).type();
  ASSERT_EQ(inode, fs::file_type::socket);
  struct stat before {};
  ASSERT_EQ(::stat(socket_.c_str(), &before), 0);
  auto second = run_command({kAgent, "run", "--config", config()});
  EXPECT_NE(second.exit_code, 0);
  EXPECT_NE(second.err.find("already runs on the state folder"), std::string::npos) << second.err;
  EXPECT_NE(second.err.find(std::to_string(agent_.pid())), std::string::npos) << second.err;
  struct stat after {};
  ASSERT_EQ(::stat(socket_.c_str(), &after), 0) << "the second agent removed the first one's socket";
  EXPECT_EQ(before.st_ino, after.st_ino);
  // The first one still serves.
  ASSERT_EQ(run_command({kExec, "job", "--", "true"}).exit_code, 0);
  EXPECT_TRUE(wait_until([&] { return status_of_latest() == "ok"; }, 15s));
  EXPECT_FALSE(has_entries(spool_));
}

// Item 12: SIGTERM while an alert is being sent to a receiver that never answers: the agent waits
// 1 s at most for the answer, then exits and says the alert is sent again at the next start.
TEST_F(Lifecycle, SigtermIsPromptWhileAnAlertSendHangs) {
  // A TCP server that accepts and never answers.
  int srv = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(srv, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(srv, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ::getsockname(srv, reinterpret_cast<sockaddr*>(&a), &len);
  ASSERT_EQ(::listen(srv, 8), 0);
  write_config("    notify: [\"webhook:http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/hook\"]\n");
  start();
  ASSERT_EQ(run_command({kExec, "job", "--", "exit 3"}).exit_code, 3);  // a failure: one alert
  // The request has reached the silent server: the sender is inside its send.
  int conn = -1;
  ASSERT_TRUE(wait_until(
      [&] {
        pollfd p{srv, POLLIN, 0};
        if (::poll(&p, 1, 0) == 1) conn = ::accept4(srv, nullptr, nullptr, SOCK_CLOEXEC);
        return conn >= 0;
      },
      5s))
      << agent_.log();
  char buf[64];
  ASSERT_TRUE(wait_until([&] { return ::recv(conn, buf, sizeof buf, MSG_DONTWAIT | MSG_PEEK) > 0; }, 15s));
  const auto t0 = std::chrono::steady_clock::now();
  agent_.stop(SIGTERM);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("SIGTERM to exit during a hanging send: %.3f s\n", took);
  EXPECT_LT(took, 1.5) << "the stop waits 1 s at most for an answer";
  EXPECT_TRUE(agent_.wait_for_log("stopping with 1 alert(s) still being sent")) << agent_.log();
  ::close(conn);
  ::close(srv);
}

}  // namespace

namespace {

// Item 11: `unwrap FILE` while the daemon runs: the job's line no longer reports its runs, so it
// becomes unreported (no deadline), never "missed".
TEST_F(Lifecycle, UnwrapWhileRunningMakesTheJobUnreportedNotMissed) {
  const fs::path root = dir_ / "root";
  fs::create_directories(root / "etc/cron.d");
  const fs::path file = root / "etc/cron.d/lifecycle";
  std::ofstream(file) << "* * * * * root echo hello\n";
  fs::permissions(file,
                  fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
  // Only an installed, root-owned wrapper is written into crontabs: give the root one.
  fs::create_directories(root / "usr/bin");
  fs::copy_file(kExec, root / "usr/bin/cronitor-exec", fs::copy_options::overwrite_existing);
  fs::permissions(root / "usr/bin/cronitor-exec", fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                                      fs::perms::others_read | fs::perms::others_exec);
  std::ofstream(config()) << "state_dir: " << (dir_ / "state").string() << "\nsocket: " << socket_
                          << "\nspool_dir: " << spool_ << "\nobserve: off\ndiscovery: {root: " << root.string()
                          << ", crontabs: true, systemd: false, auto_wrap: true}\n";
  start();
  auto read = [&] {
    std::ifstream in(file);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  };
  auto job = [&]() -> json {
    auto r = run_command({kAgent, "status", "--json", "--config", config()});
    auto j = json::parse(r.out, nullptr, false);
    if (j.is_object() && j["monitors"].is_array())
      for (const auto& m : j["monitors"])
        if (m.value("source", "").find("/etc/cron.d/lifecycle") != std::string::npos) return m;
    return json();
  };
  ASSERT_TRUE(wait_until([&] { return read().find("cronitor-exec") != std::string::npos; }, 15s)) << agent_.log();
  ASSERT_TRUE(wait_until([&] { return job().is_object() && job()["state"] == "waiting"; }, 15s)) << job().dump();
  EXPECT_FALSE(job()["next_expected"].is_null()) << job().dump();
  auto un = run_command(
      {kAgent, "unwrap", "--root", root.string(), "--state-dir", (dir_ / "state").string(), "/etc/cron.d/lifecycle"});
  ASSERT_EQ(un.exit_code, 0) << un.err;
  ASSERT_EQ(read(), "* * * * * root echo hello\n");
  ASSERT_TRUE(wait_until([&] { return job()["state"] == "unreported"; }, 15s)) << job().dump() << agent_.log();
  // A restart keeps it so (auto_wrap does not wrap a line the agent knew).
  agent_.stop(SIGTERM);
  start();
  EXPECT_EQ(job()["state"], "unreported") << job().dump();
  EXPECT_EQ(read(), "* * * * * root echo hello\n");
}

}  // namespace

namespace {

// Item 10, without cron: a config with its own socket and spool; the wrapper has neither in its
// environment (as under cron) and finds them in the agent's endpoint file.
TEST_F(Lifecycle, WrapperWithoutPathsFindsTheAgentThroughItsEndpointFile) {
  write_config();
  const std::string endpoint = (dir_ / "endpoint").string();
  ::setenv("CRONITOR_ENDPOINT_FILE", endpoint.c_str(), 1);
  start();
  ASSERT_TRUE(wait_until([&] { return fs::exists(endpoint); }, 15s)) << agent_.log();
  struct stat st {};
  ASSERT_EQ(::stat(endpoint.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  ::unsetenv("CRONITOR_SOCKET");
  ::unsetenv("CRONITOR_SPOOL");
  const int rc = run_command({kExec, "job", "--", "exit 4"}).exit_code;
  ::setenv("CRONITOR_SOCKET", socket_.c_str(), 1);
  ::setenv("CRONITOR_SPOOL", spool_.c_str(), 1);
  ::unsetenv("CRONITOR_ENDPOINT_FILE");
  EXPECT_EQ(rc, 4);
  ASSERT_TRUE(wait_until([&] { return status_of_latest() == "failed"; }, 10s)) << agent_.log();
  EXPECT_EQ(history()[0]["exit_code"], 4);
}

// The endpoint file redirects every user's events: one that root does not own, or that others
// may write, is ignored.
TEST_F(Lifecycle, EndpointFileNotOwnedByRootIsIgnored) {
  const std::string endpoint = (dir_ / "endpoint").string();
  ASSERT_TRUE(cronitor::write_endpoint_file(endpoint, {"/tmp/x.sock", "/tmp/x-spool"}));
  auto ok = cronitor::read_endpoint_file(endpoint);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->socket, "/tmp/x.sock");
  EXPECT_EQ(ok->spool, "/tmp/x-spool");
  ASSERT_EQ(::chown(endpoint.c_str(), 65534, 65534), 0);
  EXPECT_FALSE(cronitor::read_endpoint_file(endpoint));
  ASSERT_EQ(::chown(endpoint.c_str(), 0, 0), 0);
  ASSERT_EQ(::chmod(endpoint.c_str(), 0666), 0);
  EXPECT_FALSE(cronitor::read_endpoint_file(endpoint));
  ASSERT_EQ(::chmod(endpoint.c_str(), 0644), 0);
  fs::remove(endpoint);
  fs::create_symlink(dir_ / "elsewhere", endpoint);
  EXPECT_FALSE(cronitor::read_endpoint_file(endpoint));
}

}  // namespace
