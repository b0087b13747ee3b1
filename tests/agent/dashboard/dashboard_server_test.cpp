// The dashboard's routes (agent/dashboard/dashboard_server.h) driven as a function of (request,
// now): 401 without a session, login by token (read again from its file), 403 for a POST without
// the CSRF token, the pages from the data sources.
#include "agent/dashboard/dashboard_server.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/agent/test_values.h"

namespace cronitor::agent::dashboard {
namespace {

using test_values::kDashboardNow;

using nlohmann::json;
using Request = MetricsHttp::Request;

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
    data.history = [this](const std::string& key, int limit, bool tails) {
      asked_.push_back(key + ":" + std::to_string(limit) + (tails ? "" : " no tails"));
      return json::array({{{"run_id", "r1"}, {"status", "failed"}, {"output_tail", "</pre><script>x</script>"}}});
    };
    data.control = [this](const json& req) {
      controls_.push_back(req);
      return json{{"ok", true}};
    };
    data.test_alert = [] { return std::string("Test alert queued for slack:https://hooks.slack.com/..."); };
    data.incidents = [](const std::string& key, int, bool notices) {
      json inc = json::array({{{"key", "x"},
                               {"kind", "failed"},
                               {"opened", "2027-01-15T08:00:00Z"},
                               {"resolved", nullptr},
                               {"alerts", 1},
                               {"reason", "<b>exit 1</b>"},
                               {"sent", json::array({{{"at", "2027-01-15T08:00:00Z"},
                                                      {"action", "open"},
                                                      {"summary", "x failed: </pre><script>y</script>"},
                                                      {"deliveries", json::array({{{"target", "slack:https://..."},
                                                                                   {"state", "sent"},
                                                                                   {"attempts", 1}}})}}})}}});
      json out = {{"incidents", key.empty() || key == "x" ? inc : json::array()}};
      if (notices) out["notices"] = json::array();
      return out;
    };
    server_ = std::make_unique<DashboardServer>(dir_ + "/dashboard.token", std::move(data), "1.2.3");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  /// The CSRF token the forms of `html` carry.
  static std::string csrf_in(const std::string& html) {
    const std::string mark = "name=\"csrf\" value=\"";
    const size_t at = html.find(mark);
    if (at == std::string::npos) return "";
    return html.substr(at + mark.size(), html.find('"', at + mark.size()) - at - mark.size());
  }
  static Request post(const std::string& url, const std::string& cookie, const std::string& body) {
    Request r{"POST", url, cookie, {}};
    r.body = body;
    return r;
  }
  std::string cookie_of(const MetricsHttp::Reply& login) {
    const std::string set = header(login, "Set-Cookie");
    return set.substr(0, set.find(';'));
  }

  std::string dir_, token_;
  std::vector<std::string> asked_;
  std::vector<json> controls_;
  std::unique_ptr<DashboardServer> server_;
};

TEST_F(DashboardServerTest, EveryPageNeedsASession) {
  for (const char* url : {"/", "/jobs/x", "/nothing"}) {
    auto r = server_->handle(Request{"GET", url, "", {}}, kDashboardNow);
    EXPECT_EQ(r.status, 401u) << url;
    EXPECT_EQ(r.body, kLoginHint);
  }
  EXPECT_EQ(server_->handle(Request{"GET", "/login", "", {{"token", "00"}}}, kDashboardNow).status, 401u);
  EXPECT_TRUE(asked_.empty());
}

TEST_F(DashboardServerTest, LoginThenPagesAndNoScriptRuns) {
  auto login = server_->handle(Request{"GET", "/login", "", {{"token", token_}, {"next", "/jobs/x"}}}, kDashboardNow);
  ASSERT_EQ(login.status, 303u);
  EXPECT_EQ(header(login, "Location"), "/jobs/x");
  const std::string cookie = cookie_of(login);
  auto overview = server_->handle(Request{"GET", "/", cookie, {}}, kDashboardNow);
  ASSERT_EQ(overview.status, 200u) << overview.body;
  EXPECT_NE(overview.body.find("&lt;img src=x onerror=alert(1)&gt;"), std::string::npos);
  EXPECT_NE(header(overview, "Content-Security-Policy").find("default-src 'none'"), std::string::npos);
  auto job = server_->handle(Request{"GET", "/jobs/x", cookie, {}}, kDashboardNow);
  ASSERT_EQ(job.status, 200u);
  EXPECT_EQ(job.body.find("<script"), std::string::npos);
  EXPECT_EQ(asked_, (std::vector<std::string>{"x:60 no tails", "x:500"}));
  EXPECT_EQ(server_->handle(Request{"GET", "/jobs/nope", cookie, {}}, kDashboardNow).status, 404u);
}

TEST_F(DashboardServerTest, NextLeavesNotTheSite) {
  for (const char* next : {"//evil.example/", "https://evil.example/", "/\\evil.example", "jobs"}) {
    auto login = server_->handle(Request{"GET", "/login", "", {{"token", token_}, {"next", next}}}, kDashboardNow);
    EXPECT_EQ(header(login, "Location"), "/") << next;
  }
}

TEST_F(DashboardServerTest, PostWithoutCsrfIsRefused) {
  const std::string cookie =
      cookie_of(server_->handle(Request{"GET", "/login", "", {{"token", token_}}}, kDashboardNow));
  EXPECT_EQ(server_->handle(Request{"POST", "/", cookie, {}}, kDashboardNow).status, 403u);
  EXPECT_EQ(server_->handle(Request{"POST", "/", "", {}}, kDashboardNow).status, 401u);
}

TEST_F(DashboardServerTest, RotatedTokenEndsSessions) {
  const std::string cookie =
      cookie_of(server_->handle(Request{"GET", "/login", "", {{"token", token_}}}, kDashboardNow));
  auto fresh = rotate_token(dir_ + "/dashboard.token");
  ASSERT_TRUE(fresh);
  // The old token no longer logs in, and the login that reads the new one ends the old sessions.
  EXPECT_EQ(server_->handle(Request{"GET", "/login", "", {{"token", token_}}}, kDashboardNow).status, 401u);
  EXPECT_EQ(server_->handle(Request{"GET", "/", cookie, {}}, kDashboardNow).status, 401u);
  EXPECT_EQ(server_->handle(Request{"GET", "/login", "", {{"token", *fresh}}}, kDashboardNow).status, 303u);
}

// `cronitor-agent dashboard --new-token` says every session has ended: so it has at the next
// request, before anyone logs in again (the token was read again only at a login).
TEST_F(DashboardServerTest, RotatedTokenEndsSessionsAtTheNextRequest) {
  const std::string cookie =
      cookie_of(server_->handle(Request{"GET", "/login", "", {{"token", token_}}}, kDashboardNow));
  ASSERT_EQ(server_->handle(Request{"GET", "/", cookie, {}}, kDashboardNow).status, 200u);
  ASSERT_TRUE(rotate_token(dir_ + "/dashboard.token"));
  EXPECT_EQ(server_->handle(Request{"GET", "/", cookie, {}}, kDashboardNow).status, 401u);
  EXPECT_EQ(server_->handle(Request{"GET", "/jobs/x", cookie, {}}, kDashboardNow).status, 401u);
}

// The overview's filters are a GET form: they work without JavaScript, from the query string.
TEST_F(DashboardServerTest, OverviewFiltersByStateAndTextFromTheQuery) {
  const std::string cookie =
      cookie_of(server_->handle(Request{"GET", "/login", "", {{"token", token_}}}, kDashboardNow));
  const std::string all = server_->handle(Request{"GET", "/", cookie, {}}, kDashboardNow).body;
  EXPECT_NE(all.find("<form class=\"filter\" method=\"get\" action=\"/\">"), std::string::npos) << all;
  EXPECT_NE(all.find("data-key=\"x\""), std::string::npos);
  const std::string failing = server_->handle(Request{"GET", "/", cookie, {{"state", "failing"}}}, kDashboardNow).body;
  EXPECT_EQ(failing.find("data-key=\"x\""), std::string::npos);
  EXPECT_NE(failing.find("0 of 1 jobs"), std::string::npos);
  EXPECT_NE(failing.find("<option selected>failing</option>"), std::string::npos) << "the form keeps the filter";
  const std::string text =
      server_->handle(Request{"GET", "/", cookie, {{"state", "ok"}, {"q", "ONERROR"}}}, kDashboardNow).body;
  EXPECT_NE(text.find("data-key=\"x\""), std::string::npos);
  EXPECT_EQ(server_->handle(Request{"GET", "/", cookie, {{"q", "nothing like it"}}}, kDashboardNow)
                .body.find("data-key=\"x\""),
            std::string::npos);
}

TEST_F(DashboardServerTest, ActionsAreTheSocketsControlRequestsWithTheirCsrfToken) {
  const std::string cookie =
      cookie_of(server_->handle(Request{"GET", "/login", "", {{"token", token_}}}, kDashboardNow));
  const std::string job = server_->handle(Request{"GET", "/jobs/x", cookie, {}}, kDashboardNow).body;
  const std::string csrf = csrf_in(job);
  ASSERT_EQ(csrf.size(), 64u) << job;
  EXPECT_NE(job.find("action=\"/jobs/x/pause\""), std::string::npos);
  // Without the token, with a wrong one, or without a session: refused, nothing done.
  EXPECT_EQ(server_->handle(post("/jobs/x/pause", cookie, "for=2h"), kDashboardNow).status, 403u);
  EXPECT_EQ(server_->handle(post("/jobs/x/pause", cookie, "csrf=" + std::string(64, '0')), kDashboardNow).status, 403u);
  EXPECT_EQ(server_->handle(post("/jobs/x/pause", "", "csrf=" + csrf), kDashboardNow).status, 401u);
  EXPECT_TRUE(controls_.empty());
  // With it: the CLI's request (`pause x --for 2h`), then 303 back to the page, which says so once.
  auto paused = server_->handle(post("/jobs/x/pause", cookie, "csrf=" + csrf + "&for=2+hours"), kDashboardNow);
  ASSERT_EQ(paused.status, 303u) << paused.body;
  EXPECT_EQ(header(paused, "Location"), "/jobs/x");
  ASSERT_EQ(controls_.size(), 1u);
  EXPECT_EQ(controls_[0], (json{{"control", "pause"}, {"key", "x"}, {"until_us", 1'800'007'200'000'000}}));
  const std::string after = server_->handle(Request{"GET", "/jobs/x", cookie, {}}, kDashboardNow).body;
  EXPECT_NE(after.find("<p class=\"done\">Paused x for 2h"), std::string::npos) << after;
  EXPECT_EQ(server_->handle(Request{"GET", "/jobs/x", cookie, {}}, kDashboardNow).body.find("class=\"done\""),
            std::string::npos);
  // Until resumed; resume; a bad duration does nothing.
  ASSERT_EQ(server_->handle(post("/jobs/x/pause", cookie, "csrf=" + csrf + "&for="), kDashboardNow).status, 303u);
  EXPECT_EQ(controls_.back(), (json{{"control", "pause"}, {"key", "x"}}));
  ASSERT_EQ(server_->handle(post("/jobs/x/resume", cookie, "csrf=" + csrf), kDashboardNow).status, 303u);
  EXPECT_EQ(controls_.back(), (json{{"control", "resume"}, {"key", "x"}}));
  ASSERT_EQ(server_->handle(post("/jobs/x/pause", cookie, "csrf=" + csrf + "&for=soon"), kDashboardNow).status, 303u);
  EXPECT_EQ(controls_.size(), 3u);
  EXPECT_NE(server_->handle(Request{"GET", "/jobs/x", cookie, {}}, kDashboardNow).body.find("Not paused: "),
            std::string::npos);
  // The host: snooze for a while with a reason, end it; a test alert. Back to the overview.
  auto snoozed =
      server_->handle(post("/snooze", cookie, "csrf=" + csrf + "&for=30m&reason=db+migration"), kDashboardNow);
  ASSERT_EQ(snoozed.status, 303u);
  EXPECT_EQ(header(snoozed, "Location"), "/");
  EXPECT_EQ(controls_.back(),
            (json{{"control", "snooze"}, {"until_us", 1'800'001'800'000'000}, {"reason", "db migration"}}));
  ASSERT_EQ(server_->handle(post("/snooze/off", cookie, "csrf=" + csrf), kDashboardNow).status, 303u);
  EXPECT_EQ(controls_.back(), (json{{"control", "snooze"}, {"until_us", nullptr}, {"reason", ""}}));
  ASSERT_EQ(server_->handle(post("/test-alert", cookie, "csrf=" + csrf), kDashboardNow).status, 303u);
  const std::string overview = server_->handle(Request{"GET", "/", cookie, {}}, kDashboardNow).body;
  EXPECT_NE(overview.find("Test alert queued for slack:"), std::string::npos);
  EXPECT_NE(overview.find("action=\"/test-alert\""), std::string::npos);
  EXPECT_NE(overview.find("href=\"/incidents\""), std::string::npos);
  EXPECT_EQ(server_->handle(post("/jobs/x/delete", cookie, "csrf=" + csrf), kDashboardNow).status, 404u);
  Request big = post("/snooze", cookie, "csrf=" + csrf);
  big.body_too_long = true;
  EXPECT_EQ(server_->handle(big, kDashboardNow).status, 413u);
  EXPECT_EQ(controls_.size(), 5u);
}

TEST_F(DashboardServerTest, RefusedControlSaysWhy) {
  DashboardServer::Data data;
  data.status = [] { return json{{"monitors", json::array({{{"key", "x"}, {"state", "ok"}}})}}; };
  data.history = [](const std::string&, int, bool) { return json::array(); };
  data.control = [](const json&) { return json{{"ok", false}, {"error", "no monitor with key \"x\""}}; };
  DashboardServer server(dir_ + "/dashboard.token", std::move(data), "1");
  const std::string cookie = cookie_of(server.handle(Request{"GET", "/login", "", {{"token", token_}}}, kDashboardNow));
  const std::string csrf = csrf_in(server.handle(Request{"GET", "/jobs/x", cookie, {}}, kDashboardNow).body);
  ASSERT_EQ(server.handle(post("/jobs/x/resume", cookie, "csrf=" + csrf), kDashboardNow).status, 303u);
  EXPECT_NE(server.handle(Request{"GET", "/jobs/x", cookie, {}}, kDashboardNow)
                .body.find("Refused: no monitor with key &quot;x&quot;"),
            std::string::npos);
}

// The overview reads the runs of the jobs it lists only: a filter's matches, a page of a big host.
TEST_F(DashboardServerTest, OverviewReadsTheRunsOfTheJobsItListsOnly) {
  DashboardServer::Data data;
  data.status = [] {
    json monitors = json::array();
    for (int i = 0; i < 2500; ++i)
      monitors.push_back({{"key", "job-" + std::to_string(i)}, {"state", i == 2222 ? "failing" : "ok"}});
    return json{{"monitors", monitors}};
  };
  std::vector<std::string> asked;
  data.history = [&asked](const std::string& key, int, bool tails) {
    EXPECT_FALSE(tails);
    asked.push_back(key);
    return json::array();
  };
  DashboardServer server(dir_ + "/dashboard.token", std::move(data), "1");
  const std::string cookie = cookie_of(server.handle(Request{"GET", "/login", "", {{"token", token_}}}, kDashboardNow));
  const std::string first = server.handle(Request{"GET", "/", cookie, {}}, kDashboardNow).body;
  ASSERT_EQ(asked.size(), kOverviewPageJobs);
  EXPECT_EQ(asked.front(), "job-2222") << "failing first";
  for (const auto& key : asked) EXPECT_NE(first.find("data-key=\"" + key + "\""), std::string::npos) << key;
  asked.clear();
  const std::string last = server.handle(Request{"GET", "/", cookie, {{"page", "3"}}}, kDashboardNow).body;
  EXPECT_EQ(asked.size(), 500u);
  EXPECT_NE(last.find("Page 3 of 3: jobs 2001-2500 of 2500"), std::string::npos);
  asked.clear();
  server.handle(Request{"GET", "/", cookie, {{"q", "job-123"}}}, kDashboardNow);
  EXPECT_EQ(asked, (std::vector<std::string>{"job-123", "job-1230", "job-1231", "job-1232", "job-1233", "job-1234",
                                             "job-1235", "job-1236", "job-1237", "job-1238", "job-1239"}));
  asked.clear();
  server.handle(Request{"GET", "/", cookie, {{"state", "failing"}, {"page", "x"}}}, kDashboardNow);
  EXPECT_EQ(asked, std::vector<std::string>{"job-2222"});
}

// A job page asks for its own job's status object when the daemon offers it, not every job's.
TEST_F(DashboardServerTest, JobPageTakesItsJobAloneWhenOffered) {
  DashboardServer::Data data;
  int statuses = 0;
  std::vector<std::string> monitors;
  data.status = [&statuses] {
    ++statuses;
    return json{{"monitors", json::array({{{"key", "x"}, {"name", "from status"}, {"state", "ok"}}})}};
  };
  data.monitor = [&monitors](const std::string& key) {
    monitors.push_back(key);
    return key == "x" ? json{{"key", "x"}, {"name", "from monitor"}, {"state", "failing"}} : json();
  };
  data.history = [](const std::string&, int, bool) { return json::array(); };
  DashboardServer server(dir_ + "/dashboard.token", std::move(data), "1");
  const std::string cookie = cookie_of(server.handle(Request{"GET", "/login", "", {{"token", token_}}}, kDashboardNow));
  const auto page = server.handle(Request{"GET", "/jobs/x", cookie, {}}, kDashboardNow);
  EXPECT_EQ(page.status, 200u);
  EXPECT_NE(page.body.find("from monitor"), std::string::npos);
  EXPECT_EQ(page.body.find("from status"), std::string::npos);
  EXPECT_EQ(server.handle(Request{"GET", "/jobs/y", cookie, {}}, kDashboardNow).status, 404u);
  EXPECT_EQ(monitors, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(statuses, 0);
  server.handle(Request{"GET", "/", cookie, {}}, kDashboardNow);
  EXPECT_EQ(statuses, 1) << "the overview lists every job";
}

TEST_F(DashboardServerTest, IncidentsPageAndJobPageListThemAsText) {
  const std::string cookie =
      cookie_of(server_->handle(Request{"GET", "/login", "", {{"token", token_}}}, kDashboardNow));
  auto page = server_->handle(Request{"GET", "/incidents", cookie, {}}, kDashboardNow);
  ASSERT_EQ(page.status, 200u);
  EXPECT_NE(page.body.find("<tr class=\"incident open\" data-key=\"x\">"), std::string::npos) << page.body;
  EXPECT_NE(page.body.find("<code>slack:https://...</code> sent"), std::string::npos) << page.body;
  EXPECT_NE(page.body.find("&lt;b&gt;exit 1&lt;/b&gt;"), std::string::npos);
  EXPECT_EQ(page.body.find("<script"), std::string::npos);
  EXPECT_EQ(page.body.find("<b>exit"), std::string::npos);
  const std::string job = server_->handle(Request{"GET", "/jobs/x", cookie, {}}, kDashboardNow).body;
  EXPECT_NE(job.find("<h2>Incidents</h2>"), std::string::npos);
  EXPECT_NE(job.find("x failed: &lt;/pre&gt;&lt;script&gt;"), std::string::npos);
  EXPECT_EQ(server_->handle(Request{"GET", "/incidents", "", {}}, kDashboardNow).status, 401u);
}

}  // namespace
}  // namespace cronitor::agent::dashboard
