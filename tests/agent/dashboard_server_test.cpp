// The dashboard's routes (agent/dashboard/dashboard_server.h) driven as a function of (request,
// now): 401 without a session, login by token (read again from its file), 403 for a POST without
// the CSRF token, the pages from the data sources.
#include "agent/dashboard/dashboard_server.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace cronitor::agent::dashboard {
namespace {

using nlohmann::json;
using Request = MetricsHttp::Request;

const Instant kNow = Instant(std::chrono::seconds(1'800'000'000));

std::string header(const MetricsHttp::Reply& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "";
}

class DashboardServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dash-server-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    token_ = *load_or_create_token(dir_ + "/dashboard.token");
    DashboardServer::Data data;
    data.status = [] {
      return json{
          {"host", "db1"},
          {"monitors", json::array({{{"key", "x"}, {"name", "<img src=x onerror=alert(1)>"}, {"state", "ok"}}})}};
    };
    data.history = [this](const std::string& key, int limit) {
      asked_.push_back(key + ":" + std::to_string(limit));
      return json::array({{{"run_id", "r1"}, {"status", "failed"}, {"output_tail", "</pre><script>x</script>"}}});
    };
    server_ = std::make_unique<DashboardServer>(dir_ + "/dashboard.token", std::move(data), "1.2.3");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string cookie_of(const MetricsHttp::Reply& login) {
    const std::string set = header(login, "Set-Cookie");
    return set.substr(0, set.find(';'));
  }

  std::string dir_, token_;
  std::vector<std::string> asked_;
  std::unique_ptr<DashboardServer> server_;
};

TEST_F(DashboardServerTest, EveryPageNeedsASession) {
  for (const char* url : {"/", "/jobs/x", "/nothing"}) {
    auto r = server_->handle(Request{"GET", url, "", {}}, kNow);
    EXPECT_EQ(r.status, 401u) << url;
    EXPECT_EQ(r.body, kLoginHint);
  }
  EXPECT_EQ(server_->handle(Request{"GET", "/login", "", {{"token", "00"}}}, kNow).status, 401u);
  EXPECT_TRUE(asked_.empty());
}

TEST_F(DashboardServerTest, LoginThenPagesAndNoScriptRuns) {
  auto login = server_->handle(Request{"GET", "/login", "", {{"token", token_}, {"next", "/jobs/x"}}}, kNow);
  ASSERT_EQ(login.status, 303u);
  EXPECT_EQ(header(login, "Location"), "/jobs/x");
  const std::string cookie = cookie_of(login);
  auto overview = server_->handle(Request{"GET", "/", cookie, {}}, kNow);
  ASSERT_EQ(overview.status, 200u) << overview.body;
  EXPECT_NE(overview.body.find("&lt;img src=x onerror=alert(1)&gt;"), std::string::npos);
  EXPECT_NE(header(overview, "Content-Security-Policy").find("default-src 'none'"), std::string::npos);
  auto job = server_->handle(Request{"GET", "/jobs/x", cookie, {}}, kNow);
  ASSERT_EQ(job.status, 200u);
  EXPECT_EQ(job.body.find("<script"), std::string::npos);
  EXPECT_EQ(asked_, (std::vector<std::string>{"x:60", "x:500"}));
  EXPECT_EQ(server_->handle(Request{"GET", "/jobs/nope", cookie, {}}, kNow).status, 404u);
}

TEST_F(DashboardServerTest, NextLeavesNotTheSite) {
  for (const char* next : {"//evil.example/", "https://evil.example/", "/\\evil.example", "jobs"}) {
    auto login = server_->handle(Request{"GET", "/login", "", {{"token", token_}, {"next", next}}}, kNow);
    EXPECT_EQ(header(login, "Location"), "/") << next;
  }
}

TEST_F(DashboardServerTest, PostWithoutCsrfIsRefused) {
  const std::string cookie = cookie_of(server_->handle(Request{"GET", "/login", "", {{"token", token_}}}, kNow));
  EXPECT_EQ(server_->handle(Request{"POST", "/", cookie, {}}, kNow).status, 403u);
  EXPECT_EQ(server_->handle(Request{"POST", "/", "", {}}, kNow).status, 401u);
}

TEST_F(DashboardServerTest, RotatedTokenEndsSessions) {
  const std::string cookie = cookie_of(server_->handle(Request{"GET", "/login", "", {{"token", token_}}}, kNow));
  auto fresh = rotate_token(dir_ + "/dashboard.token");
  ASSERT_TRUE(fresh);
  // The old token no longer logs in, and the login that reads the new one ends the old sessions.
  EXPECT_EQ(server_->handle(Request{"GET", "/login", "", {{"token", token_}}}, kNow).status, 401u);
  EXPECT_EQ(server_->handle(Request{"GET", "/", cookie, {}}, kNow).status, 401u);
  EXPECT_EQ(server_->handle(Request{"GET", "/login", "", {{"token", *fresh}}}, kNow).status, 303u);
}

}  // namespace
}  // namespace cronitor::agent::dashboard
