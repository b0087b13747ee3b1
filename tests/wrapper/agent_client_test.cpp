// The wrapper's side of the agent socket (wrapper/agent_client.h) against a real listening Unix
// socket whose backlog is full, as when a local user floods the agent with connections.
#include "wrapper/agent_client.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace cronitor::wrapper {
namespace {

class FullBacklog : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("cronitor-client-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "agent.sock").string();
    listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(listener_, 0);
    sockaddr_un a = address();
    ASSERT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    // Backlog 0: one pending connection fills it (Linux admits backlog + 1).
    ASSERT_EQ(::listen(listener_, 0), 0);
    for (int i = 0; i < 4; ++i) {
      int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
        fillers_.push_back(fd);
        continue;
      }
      ASSERT_EQ(errno, EAGAIN) << std::strerror(errno);
      ::close(fd);
      full_ = true;
      break;
    }
    ASSERT_TRUE(full_) << "the backlog never filled";
  }
  void TearDown() override {
    for (int fd : fillers_) ::close(fd);
    if (listener_ >= 0) ::close(listener_);
    std::filesystem::remove_all(dir_);
  }
  sockaddr_un address() const {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, path_.data(), path_.size());
    return a;
  }
  std::filesystem::path dir_;
  std::string path_;
  int listener_ = -1;
  std::vector<int> fillers_;
  bool full_ = false;
};

TEST_F(FullBacklog, AClientWaitsForRoomUntilItsDeadline) {
  // The "agent" takes the flooder's pending connection after 30 ms, then serves the next one.
  std::thread agent([this] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    int flood = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (flood >= 0) ::close(flood);
    pollfd p{listener_, POLLIN, 0};
    if (::poll(&p, 1, 3000) != 1) return;  // the client gave up
    int honest = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (honest < 0) return;
    char buf[512];
    std::string line;
    while (line.find('\n') == std::string::npos) {
      ssize_t n = ::read(honest, buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<size_t>(n));
    }
    if (line == "hello\n") (void)!::write(honest, "ok\n", 3);
    ::close(honest);
  });
  const auto t0 = std::chrono::steady_clock::now();
  bool refused = true;
  auto r = send_to_agent(path_, "hello\n", 2'000'000, &refused);
  const auto waited = std::chrono::steady_clock::now() - t0;
  agent.join();
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_FALSE(refused);
  EXPECT_GE(waited, std::chrono::milliseconds(25)) << "it connected while the backlog was full";
}

TEST_F(FullBacklog, AClientGivesUpAtItsDeadlineAndSaysWhy) {
  const auto t0 = std::chrono::steady_clock::now();
  auto r = send_to_agent(path_, "hello\n", 20'000);
  const auto waited = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("backlog full"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find(path_), std::string::npos) << r.error().message;
  EXPECT_GE(waited, std::chrono::milliseconds(19));
  EXPECT_LT(waited, std::chrono::seconds(2)) << "the deadline did not hold";
}

}  // namespace
}  // namespace cronitor::wrapper
