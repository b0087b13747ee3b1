// The agent socket without the daemon (agent/control/control_endpoint.h): a loop of its own, a
// socket in a temporary folder, a fake handler. Peers of another uid connect under seteuid (root
// only): SO_PEERCRED takes the credentials of connect().
#include "agent/control/control_endpoint.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <vector>

#include "tests/agent/test_values.h"

namespace cronitor::agent {
namespace {

using test_values::kNobody;

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

struct FakeControlHandler : ControlEndpoint::Handler {
  std::optional<std::string> on_line(ControlEndpoint::ConnId conn, const Peer& peer, std::string_view line) override {
    lines.emplace_back(line);
    peers.push_back(peer);
    conns.push_back(conn);
    return answer;
  }
  std::optional<std::string> answer = "ok\n";  // nullopt: the reply follows later
  std::vector<std::string> lines;
  std::vector<Peer> peers;
  std::vector<ControlEndpoint::ConnId> conns;
};

// What a peer got: its bytes, and whether the agent closed the connection.
struct Got {
  std::string text;
  bool closed = false;
};

class ControlEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GE(sd_event_new(&ev_), 0);
    char tmpl[] = "/tmp/control-endpoint-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fs::permissions(dir_, fs::perms(0755));  // others' peers reach the socket (mode 0666)
    path_ = (dir_ / "agent.sock").string();
  }
  void TearDown() override {
    endpoint_.reset();
    for (int fd : clients_) ::close(fd);
    sd_event_unref(ev_);
    fs::remove_all(dir_);
  }

  void listen(ControlEndpoint::Options o) {
    auto e = ControlEndpoint::listen(ev_, path_, handler_, o);
    ASSERT_TRUE(e) << e.error().message;
    endpoint_ = std::move(*e);
  }

  // A client connected as `euid` (the test's own by default); its descriptor stays the test's.
  int connect_as(uid_t euid = ::geteuid()) {
    const uid_t me = ::geteuid();
    if (euid != me) {
      EXPECT_EQ(::seteuid(euid), 0);
    }
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
    const int r = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    const int err = errno;
    if (euid != me) {
      EXPECT_EQ(::seteuid(me), 0);
    }
    EXPECT_EQ(r, 0) << std::strerror(err);
    clients_.push_back(fd);
    return fd;
  }

  // Runs the loop until `done` or 5 s.
  bool run_until(const std::function<bool()>& done) {
    const auto deadline = SteadyClock::now() + std::chrono::seconds(5);
    while (!done() && SteadyClock::now() < deadline) sd_event_run(ev_, 20'000);
    return done();
  }
  // Runs the loop for `ms` (what must not happen within it).
  void run_for(int ms) {
    const auto end = SteadyClock::now() + std::chrono::milliseconds(ms);
    while (SteadyClock::now() < end) sd_event_run(ev_, 10'000);
  }

  // What `fd` holds now, without waiting.
  static Got peek(int fd) {
    Got g;
    char buf[4096];
    while (true) {
      ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        g.text.append(buf, static_cast<size_t>(n));
        continue;
      }
      g.closed = n == 0;
      return g;
    }
  }
  // Runs the loop until the agent closed `fd`; what it sent before.
  Got until_closed(int fd) {
    Got all;
    run_until([&] {
      Got g = peek(fd);
      all.text += g.text;
      all.closed = g.closed;
      return g.closed;
    });
    return all;
  }

  sd_event* ev_ = nullptr;
  fs::path dir_;
  std::string path_;
  FakeControlHandler handler_;
  std::unique_ptr<ControlEndpoint> endpoint_;
  std::vector<int> clients_;
};

TEST_F(ControlEndpointTest, ALineInPiecesIsOneLineWithThePeersCredentials) {
  listen({});
  int c = connect_as();
  ASSERT_EQ(::send(c, "{\"v\":1,", 7, 0), 7);
  run_for(50);
  EXPECT_TRUE(handler_.lines.empty());  // no line without its newline
  ASSERT_EQ(::send(c, "\"op\":\"status\"}\nnext\n", 21, 0), 21);
  Got g = until_closed(c);
  EXPECT_TRUE(g.closed);
  EXPECT_EQ(g.text, "ok\n");
  ASSERT_EQ(handler_.lines.size(), 1u);  // one line per connection: what follows is not read
  EXPECT_EQ(handler_.lines[0], "{\"v\":1,\"op\":\"status\"}\n");
  EXPECT_EQ(handler_.peers[0].uid, ::geteuid());
  EXPECT_EQ(handler_.peers[0].pid, ::getpid());
  EXPECT_EQ(endpoint_->connections(), 0u);
}

TEST_F(ControlEndpointTest, SilentConnectionsCloseAtTheReadDeadline) {
  ControlEndpoint::Options o;
  o.read_timeout_usec = 100'000;
  o.read_timeout_spread_usec = 0;
  listen(o);
  int c = connect_as();
  const auto t0 = SteadyClock::now();
  Got g = until_closed(c);
  EXPECT_TRUE(g.closed);
  EXPECT_EQ(g.text, "");
  EXPECT_GE(SteadyClock::now() - t0, std::chrono::milliseconds(90));
  EXPECT_TRUE(handler_.lines.empty());
  EXPECT_EQ(endpoint_->connections(), 0u);
}

TEST_F(ControlEndpointTest, ADeferredReplyOutlivesTheReadDeadline) {
  ControlEndpoint::Options o;
  o.read_timeout_usec = 50'000;
  o.read_timeout_spread_usec = 0;
  listen(o);
  handler_.answer = std::nullopt;  // an event: acknowledged once stored
  int waiting = connect_as();
  int silent = connect_as();  // arms the deadline after the first was handed over
  ASSERT_EQ(::send(waiting, "event\n", 6, 0), 6);
  ASSERT_TRUE(run_until([&] { return handler_.lines.size() == 1; }));
  EXPECT_TRUE(until_closed(silent).closed);
  run_for(150);  // three deadlines later
  Got g = peek(waiting);
  EXPECT_FALSE(g.closed);
  EXPECT_EQ(g.text, "");
  endpoint_->reply(handler_.conns[0], "ok\n");
  g = until_closed(waiting);
  EXPECT_EQ(g.text, "ok\n");
  endpoint_->reply(handler_.conns[0], "again\n");  // gone: nothing
  EXPECT_EQ(endpoint_->connections(), 0u);
}

TEST_F(ControlEndpointTest, ALineOver64KiBIsRefused) {
  listen({});
  int c = connect_as();
  const std::string big(cronitor::kMaxLineBytes + 1, 'x');
  size_t sent = 0;
  Got g;
  // The agent reads while the test writes: the line is larger than a socket's buffer may be.
  run_until([&] {
    ssize_t n = ::send(c, big.data() + sent, big.size() - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) sent += static_cast<size_t>(n);
    Got p = peek(c);
    g.text += p.text;
    g.closed = p.closed;
    return g.closed;
  });
  EXPECT_TRUE(g.closed);
  EXPECT_EQ(g.text, "err line longer than 64 KiB\n");
  EXPECT_TRUE(handler_.lines.empty());
}

TEST_F(ControlEndpointTest, OneUidHoldsAtMostItsShareOfWaitingConnections) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: peers of another uid";
  ControlEndpoint::Options o;
  o.max_waiting_per_uid = 2;
  listen(o);
  int a = connect_as(kNobody), b = connect_as(kNobody);
  ASSERT_TRUE(run_until([&] { return endpoint_->connections() == 2; }));
  int c = connect_as(kNobody);
  Got g = until_closed(c);
  EXPECT_EQ(g.text, "busy too many connections\n");
  EXPECT_EQ(endpoint_->connections(), 2u);
  // Root is not limited; and a connection that sent its line no longer counts.
  int r1 = connect_as(), r2 = connect_as(), r3 = connect_as();
  ASSERT_TRUE(run_until([&] { return endpoint_->connections() == 5; }));
  ASSERT_EQ(::send(a, "line\n", 5, 0), 5);
  EXPECT_EQ(until_closed(a).text, "ok\n");
  int d = connect_as(kNobody);
  ASSERT_TRUE(run_until([&] { return endpoint_->connections() == 5; }));
  EXPECT_FALSE(peek(d).closed);
  EXPECT_FALSE(peek(b).closed);
  ASSERT_EQ(handler_.peers.size(), 1u);
  EXPECT_EQ(handler_.peers[0].uid, kNobody);
  (void)r1, (void)r2, (void)r3;
}

TEST_F(ControlEndpointTest, AFullTableClosesNewConnections) {
  ControlEndpoint::Options o;
  o.max_conns = 2;
  listen(o);
  connect_as();
  connect_as();
  ASSERT_TRUE(run_until([&] { return endpoint_->connections() == 2; }));
  int c = connect_as();
  Got g = until_closed(c);  // its wrapper spools instead
  EXPECT_EQ(g.text, "");
  EXPECT_EQ(endpoint_->connections(), 2u);
}

TEST_F(ControlEndpointTest, TheSocketIsReplacedAndRemoved) {
  { std::ofstream(path_) << "stale"; }
  listen({});
  EXPECT_TRUE(fs::is_socket(path_));
  EXPECT_EQ(fs::status(path_).permissions() & fs::perms::all, fs::perms(0666));
  endpoint_.reset();
  EXPECT_FALSE(fs::exists(path_));
}

TEST_F(ControlEndpointTest, ATooLongPathIsAnError) {
  auto e = ControlEndpoint::listen(ev_, (dir_ / std::string(120, 's')).string(), handler_);
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("is too long"), std::string::npos);
}

}  // namespace
}  // namespace cronitor::agent
