// An alert's POST made by a child process of the agent's program (uplink/post_child.h): the
// request and the result pass whole, and the child's outcome means what an in-process POST's does.
#include "uplink/post_child.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <future>

#include "tests/support/http_recorder.h"

namespace cronitor::uplink {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

TEST(PostChild, RequestAndResultPassAnyByte) {
  OutgoingMessage m;
  m.url = "https://hooks.example/a:b?c=1";
  m.headers = {"Content-Type: application/json", "X-Odd: 12:34"};
  m.body = std::string("{\"a\":\"x\0y:3:\"}", 15);
  const auto req = decode_post_request(encode_post_request(m, 7s));
  ASSERT_TRUE(req);
  EXPECT_EQ(req->timeout, 7000ms);
  EXPECT_EQ(req->message.url, m.url);
  EXPECT_EQ(req->message.headers, m.headers);
  EXPECT_EQ(req->message.body, m.body);
  const auto r = decode_send_result(encode_send_result({false, true, "HTTP 503: 1:2"}));
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ok);
  EXPECT_TRUE(r->retry);
  EXPECT_EQ(r->error, "HTTP 503: 1:2");
  // A cut or padded message is refused, not half read.
  const std::string whole = encode_post_request(m, 7s);
  EXPECT_FALSE(decode_post_request(whole.substr(0, whole.size() - 1)));
  EXPECT_FALSE(decode_post_request(whole + "x"));
  EXPECT_FALSE(decode_send_result("1:1"));
}

class PostChildProcess : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("agent-post-child-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    set_post_child(CRONITOR_AGENT_BIN);
  }
  void TearDown() override {
    set_post_child("");
    fs::remove_all(dir_);
  }
  fs::path dir_;
};

TEST_F(PostChildProcess, APostArrivesAndItsOutcomeKeepsItsMeaning) {
  // The recorder fails its first request with 500.
  cronitor::testing::HttpRecorder rec(CRONITOR_SOURCE_DIR "/tests/support/http_recorder.py", dir_.string(), 1);
  ASSERT_GT(rec.port(), 0);
  AlertSender sender("db1", 5s);
  OutgoingMessage m;
  m.url = rec.url("/hook");
  m.headers = {"Content-Type: application/json"};
  m.body = "{\"text\":\"nightly-billing failed\"}";
  const auto first = sender.post(m);
  EXPECT_FALSE(first.ok);
  EXPECT_TRUE(first.retry);
  EXPECT_NE(first.error.find("HTTP 500"), std::string::npos) << first.error;
  const auto second = sender.post(m);
  EXPECT_TRUE(second.ok) << second.error;
  const auto reqs = rec.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[1]["path"], "/hook");
  EXPECT_EQ(reqs[1]["body"], m.body);
  // Nobody listens: a network error, retried later, in curl's words.
  m.url = "http://127.0.0.1:1/x";
  const auto down = sender.post(m);
  EXPECT_FALSE(down.ok);
  EXPECT_TRUE(down.retry);
  EXPECT_NE(down.error.find("Couldn't connect"), std::string::npos) << down.error;
}

TEST_F(PostChildProcess, CancelEndsASendInProgressAtOnce) {
  // A server that takes the connection and never answers (the kernel accepts into the backlog).
  const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(s, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(s, 4), 0);
  ASSERT_EQ(::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len), 0);
  AlertSender sender("db1", 30s);
  OutgoingMessage m;
  m.url = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/hook";
  m.body = "{}";
  const auto t0 = std::chrono::steady_clock::now();
  auto result = std::async(std::launch::async, [&] { return sender.post(m); });
  EXPECT_EQ(result.wait_for(500ms), std::future_status::timeout);  // the child waits for the answer
  sender.cancel();
  ASSERT_EQ(result.wait_for(10s), std::future_status::ready);
  const auto r = result.get();
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.retry);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
  ::close(s);
}

}  // namespace
}  // namespace cronitor::uplink
