// The wrapper intake (agent/daemon/wrapper_intake.h) without the daemon: the socket's lines and the
// spool's passes against one rate budget per uid and one owner rule, with the daemon's hooks faked.
// A line is judged by the part (refusals and plain replies go straight back); events and control
// requests reach the `request` hook with the peer as the wrapper; a uid over its budget on the
// socket has none left for the spool; on a loop, the socket answers once the hook's reply comes.
#include "agent/daemon/wrapper_intake.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <vector>

#include "tests/agent/test_values.h"
#include "tests/support/sd_loop.h"
#include "tests/support/test_dir.h"

namespace cronitor::agent {
namespace {

namespace fs = std::filesystem;

constexpr uid_t kAlice = 1000;

cronitor::RunEvent wire(const std::string& key, int64_t uid) {
  cronitor::RunEvent e = test_values::wrapper_event(key, uid);
  e.wrapper_pid = 99;  // what the wrapper says; the peer's pid wins
  return e;
}

class WrapperIntakeTest : public ::testing::Test {
 protected:
  WrapperIntake::Hooks hooks() {
    return {
        .owner_of = [](std::string_view key) -> std::optional<int64_t> {
          if (key == "alice-job") return kAlice;
          if (key == "root-job") return 0;
          return std::nullopt;
        },
        .request = [this](ControlEndpoint::ConnId conn, const Peer& peer, Request r) -> std::optional<std::string> {
          conns.push_back(conn);
          peers.push_back(peer);
          requests.push_back(std::move(r));
          return answer;
        },
        .store = [](std::span<const SpoolIntake::Spooled>) { return true; },
        .stored = [] {},
    };
  }
  // What the endpoint would hand over: a line of `peer`.
  std::optional<std::string> line(const Peer& peer, const std::string& text) {
    return static_cast<ControlEndpoint::Handler&>(intake_).on_line(5, peer, text);
  }
  SpoolIntake::Handler& spool() { return intake_; }

  std::optional<std::string> answer;  // nullopt: the reply follows (an event's)
  std::vector<ControlEndpoint::ConnId> conns;
  std::vector<Peer> peers;
  std::vector<Request> requests;
  WrapperIntake intake_{hooks(), RateLimiter(200, 3)};
};

TEST_F(WrapperIntakeTest, EventsReachTheDaemonWithThePeerAsTheirWrapper) {
  EXPECT_EQ(line(Peer{kAlice, 4321}, cronitor::encode(wire("alice-job", kAlice))), std::nullopt);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].kind, Request::Kind::kEvent);
  EXPECT_EQ(requests[0].event.wrapper_pid, 4321) << "the wrapper is the peer (SO_PEERCRED)";
  EXPECT_EQ(conns[0], 5);
  EXPECT_EQ(peers[0].uid, kAlice);

  answer = "{\"ok\":true}\n";
  EXPECT_EQ(line(Peer{0, 1}, R"({"control":"status"})"), answer) << "a control request's reply is the daemon's";
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].kind, Request::Kind::kStatus);
}

TEST_F(WrapperIntakeTest, RefusalsGoStraightBackWithoutTheDaemon) {
  auto r = line(Peer{kAlice, 1}, cronitor::encode(wire("root-job", kAlice)));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rfind("err ", 0), 0u) << *r;
  EXPECT_TRUE(line(Peer{kAlice, 1}, "not json\n"));
  EXPECT_TRUE(requests.empty());
  EXPECT_EQ(intake_.requests().refuse(wire("root-job", kAlice), kAlice).has_value(), true)
      << "the spool's owner rule is the socket's";
  EXPECT_FALSE(intake_.requests().refuse(wire("alice-job", kAlice), kAlice));
}

TEST_F(WrapperIntakeTest, TheIntakeRefusesOverTheRateBudgetOnBothPaths) {
  const std::string ev = cronitor::encode(wire("alice-job", kAlice));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(line(Peer{kAlice, 1}, ev), std::nullopt) << i;  // the burst: 3
  EXPECT_EQ(line(Peer{kAlice, 1}, ev), "busy rate limit for uid 1000\n");
  EXPECT_EQ(requests.size(), 3u) << "the 4th event never reaches the daemon";
  EXPECT_FALSE(spool().spool_take(kAlice, 0)) << "the spool shares the socket's budget";
  EXPECT_GT(spool().spool_wait_usec(kAlice, 0), 0u);
  EXPECT_FALSE(intake_.rate().take(kAlice, 0)) << "and so do the daemon's history listings";
  EXPECT_EQ(line(Peer{0, 1}, cronitor::encode(wire("root-job", 0))), std::nullopt) << "root is not limited";
  EXPECT_TRUE(spool().spool_take(0, 0));
}

TEST_F(WrapperIntakeTest, OnALoopTheSocketAnswersOnceTheEventIsDurable) {
  cronitor::testing::SdLoop loop;
  const fs::path dir = cronitor::testing::test_dir("wrapper-intake");
  fs::remove_all(dir);
  fs::create_directories(dir / "spool");
  const std::string socket = (dir / "agent.sock").string();
  ASSERT_TRUE(intake_.open(loop.ev, (dir / "spool").string(), socket));
  ASSERT_TRUE(fs::exists(socket));

  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << std::strerror(errno);
  const std::string ev = cronitor::encode(wire("root-job", 0)) + "\n";
  ASSERT_EQ(::write(fd, ev.data(), ev.size()), static_cast<ssize_t>(ev.size()));
  ASSERT_TRUE(loop.run_until([&] { return !requests.empty(); }));
  EXPECT_EQ(requests[0].event.wrapper_pid, ::getpid());
  intake_.reply(conns[0], "ok\n");
  std::string got;
  ASSERT_TRUE(loop.run_until([&] {
    char buf[64];
    const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) got.append(buf, static_cast<size_t>(n));
    return n == 0;  // closed after the reply
  }));
  EXPECT_EQ(got, "ok\n");
  ::close(fd);

  intake_.close();
  EXPECT_FALSE(fs::exists(socket)) << "closed: the socket file is gone";
  intake_.reply(conns[0], "ok\n");  // after close: nothing, no crash
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cronitor::agent
