// The dashboard in a real browser (issue 22): the real agent with dashboard.listen, runs from the
// real wrapper, Debian's chromium headless logging in with the URL `cronitor-agent dashboard`
// prints, its DOM checked (jobs listed, state, one chart mark per run, failures marked, an
// XSS-shaped name and output kept as text) and screenshots saved under the build folder. Raw HTTP
// checks the status codes a browser hides: 401 without a session, 403 for a POST without CSRF,
// and posts the pause form (a headless browser runs no script to click it) with the session's
// CSRF token, whose effect `cronitor-agent status --json` then shows.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "tests/support/daemon_test.h"
#include "tests/support/free_port.h"

namespace cronitor::testing {
namespace {

const std::string kChromium = "/usr/bin/chromium";

/// One HTTP/1.0 request to 127.0.0.1:`port`; the whole answer (status line, headers, body).
std::string http(uint16_t port, const std::string& method, const std::string& path, const std::string& cookie = "",
                 const std::string& form = "") {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    std::string req = method + " " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n";
    if (!cookie.empty()) req += "Cookie: " + cookie + "\r\n";
    if (!form.empty()) req += "Content-Type: application/x-www-form-urlencoded\r\n";
    req += "Content-Length: " + std::to_string(form.size()) + "\r\n\r\n" + form;
    (void)!::write(fd, req.data(), req.size());
    char buf[65536];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

class DashboardBrowser : public DaemonTest {
 protected:
  DashboardBrowser() : DaemonTest("dash-e2e") {}
  void SetUp() override {
    if (!fs::exists(kChromium)) GTEST_SKIP() << "chromium is not installed (scripts/install-deps installs it)";
    port_ = free_port();
    std::ofstream(config()) << sandbox_config("dash-e2e") << "dashboard: {listen: \"127.0.0.1:" << port_ << "\"}\n"
                            << "notify: {default: [\"webhook:http://127.0.0.1:9/hook\"]}\n"
                            << "monitors:\n"
                            << "  - key: xss\n"
                            << "    name: \"<img src=x onerror=alert(1)>\"\n"
                            << "    schedule: \"*/5 * * * *\"\n"
                            << "  - key: backup\n"
                            << "    name: Nightly backup\n"
                            << "    schedule: \"0 2 * * *\"\n";
    ASSERT_TRUE(daemon_.start(config(), socket())) << daemon_.log();
    ASSERT_TRUE(daemon_.wait_for_log("dashboard: serving")) << daemon_.log();
  }
  /// chromium --headless with its own profile, bounded in time; `args` then the URL.
  Output chromium(const std::vector<std::string>& args, const std::string& url) {
    std::vector<std::string> argv = {"/usr/bin/timeout", "90",
                                     kChromium,          "--headless",
                                     "--no-sandbox",     "--disable-gpu",
                                     "--no-first-run",   "--user-data-dir=" + (dir_ / "profile").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back(url);
    return run_command(argv);
  }
  std::string login_url() {
    auto out = run_command({kAgent, "dashboard", "--config", config()});
    EXPECT_EQ(out.exit_code, 0) << out.err;
    std::string url = out.out;
    while (!url.empty() && url.back() == '\n') url.pop_back();
    return url;
  }
  int exec(const std::string& key, const std::string& command) {
    return run_command({kExec, key, "--", command}).exit_code;  // the wrapper runs it with sh -c
  }
  uint16_t port_ = 0;
};

TEST_F(DashboardBrowser, LoginOverviewJobPageAndRefusals) {
  // Runs: the XSS-named job fails twice (the 2nd and the last) with XSS-shaped output.
  for (int i = 0; i < 5; ++i) {
    const bool fail = i == 1 || i == 4;
    ASSERT_EQ(exec("xss", fail ? "echo '</pre><script>alert(2)</script>'; exit 3" : "true"), fail ? 3 : 0);
  }
  ASSERT_EQ(exec("backup", "true"), 0);
  const std::string url = login_url();
  ASSERT_TRUE(url.starts_with("http://127.0.0.1:" + std::to_string(port_) + "/login?token=")) << url;

  // Without a session: 401 and the hint, for a page and for a POST.
  const std::string anon = http(port_, "GET", "/");
  EXPECT_TRUE(anon.starts_with("HTTP/1.1 401") || anon.starts_with("HTTP/1.0 401")) << anon.substr(0, 200);
  EXPECT_TRUE(has(anon, "cronitor-agent dashboard")) << anon;
  auto in_browser = chromium({"--dump-dom"}, "http://127.0.0.1:" + std::to_string(port_) + "/jobs/xss");
  EXPECT_TRUE(has(in_browser.out, "Not logged in")) << in_browser.out;
  // With one: the cookie works, a POST without the CSRF token is refused.
  const std::string login = http(port_, "GET", url.substr(url.find("/login")));
  const auto at = login.find("cronitor_session=");
  ASSERT_NE(at, std::string::npos) << login;
  const std::string cookie = login.substr(at, login.find(';', at) - at);
  EXPECT_TRUE(has(login, "HttpOnly") && has(login, "SameSite=Strict")) << login;
  EXPECT_TRUE(has(http(port_, "GET", "/", cookie), " 200 "));
  const std::string post = http(port_, "POST", "/", cookie);
  EXPECT_TRUE(has(post.substr(0, 20), " 403")) << post.substr(0, 200);

  // The overview in the browser, logged in by the printed URL.
  auto overview = chromium({"--dump-dom"}, url);
  ASSERT_EQ(overview.exit_code, 0) << overview.err;
  const std::string& dom = overview.out;
  EXPECT_TRUE(has(dom, "data-key=\"xss\"")) << dom.substr(0, 2000);
  EXPECT_TRUE(has(dom, "data-key=\"backup\""));
  EXPECT_LT(dom.find("data-key=\"xss\""), dom.find("data-key=\"backup\"")) << "failing first";
  EXPECT_TRUE(has(dom, "&lt;img src=x onerror=alert(1)&gt;"));
  EXPECT_FALSE(has(dom, "<img"));
  // The strips: xss's 5 runs as ok, failed, ok ok, failed (one path per class: 3 ok in 2 rows,
  // 2 failed), backup's one.
  EXPECT_EQ(occurrences(dom, "<path class=\"seg "), 3u) << "xss's 2 classes + backup's 1";
  EXPECT_TRUE(has(dom, "<path class=\"seg ok\" data-n=\"3\" d=\"M0 8h5M12 8h11\""));
  EXPECT_TRUE(has(dom, "<path class=\"seg failed\" data-n=\"2\" d=\"M6 8h5M24 8h5\""));

  // The job page: one chart mark per run, the two failures marked, their output as text.
  auto job = chromium({"--dump-dom"}, url + "&next=/jobs/xss");
  ASSERT_EQ(job.exit_code, 0) << job.err;
  EXPECT_EQ(occurrences(job.out, "<circle class=\"mark "), 5u) << job.out.substr(0, 3000);
  EXPECT_EQ(occurrences(job.out, "<circle class=\"mark failed"), 2u);
  EXPECT_EQ(occurrences(job.out, "&lt;/pre&gt;&lt;script&gt;alert(2)&lt;/script&gt;"), 2u)
      << job.out.substr(job.out.find("<table class=\"runs\""), 3000);
  EXPECT_FALSE(has(job.out, "<script"));

  // Screenshots for people, under the build folder.
  const std::string shots = CRONITOR_BUILD_DIR;
  auto s1 = chromium({"--window-size=1400,700", "--screenshot=" + shots + "/dashboard-overview.png"}, url);
  auto s2 =
      chromium({"--window-size=1000,1100", "--screenshot=" + shots + "/dashboard-job.png"}, url + "&next=/jobs/xss");
  EXPECT_TRUE(fs::exists(shots + "/dashboard-overview.png")) << s1.err;
  EXPECT_TRUE(fs::exists(shots + "/dashboard-job.png")) << s2.err;

  // The incidents: xss's failure opened one; the page lists it, its name as text.
  auto incidents = chromium({"--dump-dom"}, url + "&next=/incidents");
  ASSERT_EQ(incidents.exit_code, 0) << incidents.err;
  EXPECT_TRUE(has(incidents.out, "<tr class=\"incident open\" data-key=\"xss\">")) << incidents.out;
  EXPECT_TRUE(has(incidents.out, "&lt;img src=x onerror=alert(1)&gt;")) << incidents.out;
  EXPECT_FALSE(has(incidents.out, "<img"));
  EXPECT_FALSE(has(incidents.out, "<script"));
  EXPECT_TRUE(has(job.out, "<h2>Incidents</h2>"));
  EXPECT_TRUE(has(job.out, "<h2>Settings in force</h2>"));
  EXPECT_TRUE(has(job.out, "action=\"/jobs/xss/pause\""));

  // Pause by the job page's form: refused without the CSRF token (nothing paused), done with it.
  const std::string page = http(port_, "GET", "/jobs/xss", cookie);
  const std::string mark = "name=\"csrf\" value=\"";
  const size_t at_csrf = page.find(mark);
  ASSERT_NE(at_csrf, std::string::npos) << page;
  const std::string csrf = page.substr(at_csrf + mark.size(), 64);
  EXPECT_TRUE(has(http(port_, "POST", "/jobs/xss/pause", cookie, "for=1+hour").substr(0, 20), " 403"));
  EXPECT_TRUE(
      has(http(port_, "POST", "/jobs/xss/pause", cookie, "csrf=" + std::string(64, 'a')).substr(0, 20), " 403"));
  auto state = [&] {
    auto st = run_command({kAgent, "status", "--json", "--config", config()});
    auto j = nlohmann::json::parse(st.out, nullptr, false);
    if (j.is_object() && j.contains("monitors"))
      for (const auto& m : j["monitors"])
        if (m.value("key", "") == "xss") return m.value("state", "");
    return std::string("?");
  };
  EXPECT_NE(state(), "paused");
  const std::string paused = http(port_, "POST", "/jobs/xss/pause", cookie, "csrf=" + csrf + "&for=1+hour");
  EXPECT_TRUE(has(paused.substr(0, 20), " 303")) << paused;
  EXPECT_TRUE(has(paused, "Location: /jobs/xss")) << paused;
  EXPECT_EQ(state(), "paused");
  const std::string after = http(port_, "GET", "/jobs/xss", cookie);
  EXPECT_TRUE(has(after, "<p class=\"done\">Paused xss for 1h")) << after.substr(0, 3000);
  EXPECT_TRUE(has(daemon_.log(), "xss paused by uid 0")) << daemon_.log();

  // A test alert: queued for the default list (nothing listens there), shown on the Incidents page.
  EXPECT_TRUE(has(http(port_, "POST", "/test-alert", cookie).substr(0, 20), " 403"));
  const std::string tested = http(port_, "POST", "/test-alert", cookie, "csrf=" + csrf);
  EXPECT_TRUE(has(tested, "Location: /\r\n")) << tested;
  EXPECT_TRUE(has(tested, "Test alert queued for webhook:")) << tested;
  const std::string listed = http(port_, "GET", "/incidents", cookie);
  EXPECT_TRUE(has(listed, "Test alert from cronitor-agent on dash-e2e")) << listed;
  EXPECT_TRUE(has(listed, "<code>webhook:")) << "the incident's alert went to the webhook: " << listed;
}

// dashboard.listen on every address (issue 22: "needs it explicitly and warns at start"): with
// allow_remote the agent serves it and says so at start, naming the key and the address; the
// pages still need a session. Without allow_remote the same file is a config error naming the key.
// And `cronitor-agent dashboard [--new-token]` against it.
class DashboardRemote : public DaemonTest {
 protected:
  DashboardRemote() : DaemonTest("dash-remote") {}
};

TEST_F(DashboardRemote, AllAddressesNeedAllowRemoteAndWarnAtStart) {
  const uint16_t port = free_port();
  const std::string listen = "0.0.0.0:" + std::to_string(port);
  std::ofstream(config()) << sandbox_config("dash-remote") << "dashboard: {listen: \"" << listen << "\"}\n";
  auto refused = run_command({kAgent, "check-config", config()});
  EXPECT_NE(refused.exit_code, 0) << refused.out;
  EXPECT_TRUE(has(refused.out + refused.err, "dashboard.listen")) << refused.out << refused.err;
  EXPECT_TRUE(has(refused.out + refused.err, "dashboard.allow_remote: true")) << refused.out << refused.err;

  std::ofstream(config()) << sandbox_config("dash-remote") << "dashboard: {listen: \"" << listen
                          << "\", allow_remote: true}\n";
  ASSERT_TRUE(daemon_.start(config(), socket())) << daemon_.log();
  ASSERT_TRUE(daemon_.wait_for_log("dashboard: serving http://" + listen)) << daemon_.log();
  const std::string log = daemon_.log();
  const size_t warned = log.find("dashboard: listening on " + listen + ", not a loopback address");
  ASSERT_NE(warned, std::string::npos) << log;
  EXPECT_TRUE(has(log.substr(warned, log.find('\n', warned) - warned), "(dashboard.allow_remote)")) << log;
  EXPECT_TRUE(has(log.substr(log.rfind('\n', warned) + 1, 40), "warn")) << "logged as a warning: " << log;
  // Reached over loopback (0.0.0.0 takes it too): no page without a session, the one-line hint.
  const std::string anon = http(port, "GET", "/");
  EXPECT_TRUE(has(anon.substr(0, 20), " 401")) << anon.substr(0, 200);
  const std::string body = anon.substr(anon.find("\r\n\r\n") + 4);
  EXPECT_TRUE(has(body, "cronitor-agent dashboard")) << body;
  EXPECT_EQ(occurrences(body, "\n"), 1u) << "one line: " << body;

  // `cronitor-agent dashboard` prints the URL a browser here opens (loopback for 0.0.0.0);
  // --new-token rotates the token: the open session ends at once, the old URL logs in no more.
  auto printed = run_command({kAgent, "dashboard", "--config", config()});
  ASSERT_EQ(printed.exit_code, 0) << printed.err;
  const std::string prefix = "http://127.0.0.1:" + std::to_string(port) + "/login?token=";
  ASSERT_TRUE(printed.out.starts_with(prefix)) << printed.out;
  const std::string old_login =
      printed.out.substr(printed.out.find("/login"), printed.out.find('\n') - printed.out.find("/login"));
  const std::string login = http(port, "GET", old_login);
  const auto at = login.find("cronitor_session=");
  ASSERT_NE(at, std::string::npos) << login;
  const std::string cookie = login.substr(at, login.find(';', at) - at);
  EXPECT_TRUE(has(http(port, "GET", "/", cookie).substr(0, 20), " 200"));
  auto rotated = run_command({kAgent, "dashboard", "--new-token", "--config", config()});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err;
  EXPECT_TRUE(has(rotated.err, "every open dashboard session has ended")) << rotated.err;
  ASSERT_TRUE(rotated.out.starts_with(prefix)) << rotated.out;
  EXPECT_NE(rotated.out, printed.out);
  EXPECT_TRUE(has(http(port, "GET", "/", cookie).substr(0, 20), " 401")) << "the session ended at once";
  EXPECT_TRUE(has(http(port, "GET", old_login).substr(0, 20), " 401"));
  const std::string fresh =
      rotated.out.substr(rotated.out.find("/login"), rotated.out.find('\n') - rotated.out.find("/login"));
  EXPECT_TRUE(has(http(port, "GET", fresh).substr(0, 20), " 303"));
}

}  // namespace
}  // namespace cronitor::testing
