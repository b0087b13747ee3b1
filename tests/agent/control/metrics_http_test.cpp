// prometheus.listen's server over real HTTP on 127.0.0.1, on a real sd-event loop driven by the
// test thread (as the agent drives it): the exposition on GET /metrics, 404/405 for anything else,
// idle connections closed, the connection limit held, a busy port reported.
#include "agent/control/metrics_http.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <future>
#include <string>
#include <thread>

#include "tests/support/free_port.h"

namespace cronitor::agent {
namespace {

using namespace std::chrono_literals;
using cronitor::testing::free_port;

struct Reply {
  long status = 0;
  std::string body, content_type, allow;
};

size_t collect(char* p, size_t n, size_t m, void* ud) {
  static_cast<std::string*>(ud)->append(p, n * m);
  return n * m;
}

size_t on_curl_header(char* p, size_t n, size_t m, void* ud) {
  std::string line(p, n * m);
  auto* r = static_cast<Reply*>(ud);
  auto take = [&](const char* name, std::string& out) {
    if (line.size() > std::strlen(name) && strncasecmp(line.c_str(), name, std::strlen(name)) == 0) {
      out = line.substr(std::strlen(name));
      while (!out.empty() && (out.back() == '\r' || out.back() == '\n')) out.pop_back();
    }
  };
  take("Content-Type: ", r->content_type);
  take("Allow: ", r->allow);
  return n * m;
}

Reply fetch(const std::string& url, const char* method) {
  Reply r;
  CURL* c = curl_easy_init();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  if (std::string(method) == "POST") curl_easy_setopt(c, CURLOPT_POSTFIELDS, "a=b");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_curl_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  curl_easy_cleanup(c);
  return r;
}

int connect_to(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

class MetricsHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GE(sd_event_new(&ev_), 0);
    port_ = free_port();
    address_ = "127.0.0.1:" + std::to_string(port_);
  }
  void TearDown() override {
    server_.reset();
    sd_event_unref(ev_);
  }
  void start(MetricsHttp::Limits limits = {}) {
    auto s = MetricsHttp::start(
        ev_, address_, [this] { return "cronitor_agent_events_received_total " + std::to_string(++renders_) + "\n"; },
        limits);
    ASSERT_TRUE(s) << s.error().message;
    server_ = std::move(*s);
  }
  /// Runs the loop until `done` holds or `limit` passes; the HTTP client runs on another thread.
  template <typename F>
  bool drive_until(F done, std::chrono::milliseconds limit = 20s) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > end) return false;
      sd_event_run(ev_, 20000);
    }
    return true;
  }
  Reply request(const std::string& path, const char* method = "GET") {
    auto f = std::async(std::launch::async, [&] { return fetch("http://" + address_ + path, method); });
    EXPECT_TRUE(drive_until([&] { return f.wait_for(0s) == std::future_status::ready; }));
    return f.get();
  }
  /// True once the server closed `fd` (read gives 0 or a reset).
  bool closed_by_server(int fd) {
    char b;
    ssize_t n = ::recv(fd, &b, 1, MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }

  sd_event* ev_ = nullptr;
  uint16_t port_ = 0;
  std::string address_;
  int renders_ = 0;
  std::unique_ptr<MetricsHttp> server_;
};

TEST_F(MetricsHttpTest, ServesTheExpositionMadeAtEachScrape) {
  MetricsHttp::Limits l;
  l.reuse_ms = 0;
  start(l);
  auto r = request("/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "cronitor_agent_events_received_total 1\n");
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  r = request("/metrics");
  EXPECT_EQ(r.body, "cronitor_agent_events_received_total 2\n") << "made again per scrape, not cached";
  EXPECT_EQ(server_->scrapes(), 2u);
}

TEST_F(MetricsHttpTest, AFloodOfScrapesReusesTheTextMadeRecently) {
  MetricsHttp::Limits l;
  l.reuse_ms = 600000;  // longer than the test: every scrape after the first is a copy
  start(l);
  for (int i = 0; i < 30; ++i) EXPECT_EQ(request("/metrics").body, "cronitor_agent_events_received_total 1\n");
  EXPECT_EQ(server_->scrapes(), 30u);
  EXPECT_EQ(server_->renders(), 1u);
  EXPECT_EQ(renders_, 1);
}

TEST_F(MetricsHttpTest, OtherPathsAre404AndOtherMethods405) {
  start();
  EXPECT_EQ(request("/").status, 404);
  EXPECT_EQ(request("/metrics/x").status, 404);
  EXPECT_EQ(request("/metrics?x=1").status, 200) << "a query string is not part of the path";
  auto post = request("/metrics", "POST");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.allow, "GET");
  EXPECT_EQ(request("/metrics", "DELETE").status, 405);
  EXPECT_EQ(renders_, 1) << "only the GET /metrics made the text";
}

TEST_F(MetricsHttpTest, AnIdleConnectionIsClosed) {
  MetricsHttp::Limits l;
  l.idle_timeout_s = 1;
  start(l);
  int fd = connect_to(port_);
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(drive_until([&] { return closed_by_server(fd); }, 15s)) << "a silent client keeps no connection";
  ::close(fd);
  EXPECT_EQ(request("/metrics").status, 200);
}

TEST_F(MetricsHttpTest, AScrapeBeyondTheLimitTakesThePlaceOfASilentConnection) {
  MetricsHttp::Limits l;
  l.connections = 2;
  l.per_ip = 2;
  start(l);
  int a = connect_to(port_), b = connect_to(port_);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  ASSERT_TRUE(drive_until([&] { return server_->connections() == 2; }, 10s));
  // Both are silent for longer than a client needs to send its headers (250 ms): a scrape takes
  // the place of the older one and is answered at once (http_admission.h); none waits for a slot.
  const auto until = std::chrono::steady_clock::now() + 400ms;
  while (std::chrono::steady_clock::now() < until) sd_event_run(ev_, 10000);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(request("/metrics").status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_EQ(renders_, 1);
  EXPECT_TRUE(drive_until([&] { return closed_by_server(a); }, 5s)) << "the older silent connection was cut";
  // The other one is cut when its headers are 2 s late.
  EXPECT_TRUE(drive_until([&] { return closed_by_server(b); }, 5s));
  ::close(a);
  ::close(b);
}

TEST_F(MetricsHttpTest, ABusyPortIsAClearError) {
  start();
  auto second = MetricsHttp::start(ev_, address_, [] { return std::string(); });
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("prometheus.listen \"" + address_ + "\": cannot serve there"),
            std::string::npos)
      << second.error().message;
}

}  // namespace
}  // namespace cronitor::agent
