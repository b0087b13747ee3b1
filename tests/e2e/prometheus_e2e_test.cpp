// Debian's real Prometheus and Alertmanager on loopback with the real agent: Prometheus scrapes the
// agent's /metrics (prometheus.listen) every second and evaluates the shipped rules
// (etc/cronitor-agent.rules.yml, checked by promtool first); a heartbeat job misses its run and a
// job fails. Prometheus' own alerts fire (its /api/v1/alerts) and reach Alertmanager, and the
// agent's own alert for the failed job (notify target alertmanager:URL) is in Alertmanager's
// /api/v2/alerts. An incident open for longer than Alertmanager's resolve_timeout stays active there
// until the job recovers (the agent posts it again). Every process is a child of the test, ended by
// its pid; the temp dirs go.
#include <arpa/inet.h>
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/event.h"
#include "tests/support/agent_process.h"
#include "tests/support/daemon_test.h"
#include "tests/support/free_port.h"
#include "tests/support/subprocess.h"
#include "wrapper/agent_client.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using cronitor::testing::AgentProcess;
using cronitor::testing::AgentSandbox;
using cronitor::testing::free_port;
using cronitor::testing::run_command;
using cronitor::testing::wait_until;
using nlohmann::json;

constexpr const char* kPrometheus = "/usr/bin/prometheus";
constexpr const char* kAlertmanager = "/usr/bin/prometheus-alertmanager";  // Debian's name
constexpr const char* kPromtool = "/usr/bin/promtool";
constexpr const char* kRules = CRONITOR_SOURCE_DIR "/etc/cronitor-agent.rules.yml";

/// A server of the test (Prometheus, Alertmanager): its output in a log file, ended by its pid.
class Child {
 public:
  Child() = default;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() { stop(); }
  void start(const std::vector<std::string>& argv, const fs::path& log) {
    log_ = log;
    pid_ = ::fork();
    if (pid_ == 0) {
      (void)!std::freopen(log.c_str(), "a", stdout);
      (void)!std::freopen(log.c_str(), "a", stderr);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  /// SIGTERM, then SIGKILL if it has not gone within 10 s.
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    const bool gone = wait_until([&] { return ::waitpid(pid_, nullptr, WNOHANG) == pid_; }, 10s);
    if (!gone) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    pid_ = -1;
  }
  std::string log() const {
    std::ifstream in(log_);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  }

 private:
  pid_t pid_ = -1;
  fs::path log_;
};

size_t collect(char* p, size_t n, size_t m, void* ud) {
  static_cast<std::string*>(ud)->append(p, n * m);
  return n * m;
}

/// GET `url`: the body on a 200, nothing otherwise (not up yet).
std::optional<std::string> get(const std::string& url) {
  std::string body;
  long status = 0;
  CURL* c = curl_easy_init();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
  const bool ok = curl_easy_perform(c) == CURLE_OK;
  if (ok) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(c);
  if (!ok || status != 200) return std::nullopt;
  return body;
}

std::optional<json> get_json(const std::string& url) {
  auto body = get(url);
  if (!body) return std::nullopt;
  auto j = json::parse(*body, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

std::string event(const std::string& key, const std::string& run, cronitor::RunState st, int exit_code = 0) {
  cronitor::RunEvent e;
  e.key = key;
  e.run_id = run;
  e.state = st;
  e.ts = cronitor::format_timestamp_ms(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  e.host = "prom-host";
  e.pid = 11;
  e.uid = 0;
  e.duration_ms = 100;
  if (st == cronitor::RunState::kFail) e.exit_code = exit_code;
  return cronitor::encode(e);
}

class PrometheusE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* bin : {kPrometheus, kAlertmanager, kPromtool})
      if (!fs::exists(bin))
        GTEST_SKIP() << bin
                     << " is not installed (Debian packages prometheus and prometheus-alertmanager; "
                        "scripts/install-deps installs them)";
    box_.emplace(cronitor::testing::test_dir("prom-e2e"));
    dir_ = box_->dir();
    socket_ = box_->socket();
    agent_ = std::make_unique<AgentProcess>(cronitor::testing::kAgent, (dir_ / "daemon.log").string());
  }
  void TearDown() override {
    if (agent_) agent_->stop(SIGTERM);
    prometheus_.stop();
    alertmanager_.stop();
    agent_.reset();
    box_.reset();  // the folder with every server's data and log
  }

  std::optional<AgentSandbox> box_;
  fs::path dir_;
  std::string socket_;
  std::unique_ptr<AgentProcess> agent_;
  Child prometheus_, alertmanager_;
};

bool has_alert(const json& alerts, const std::string& name, const std::string& key, const std::string& state = "") {
  for (const auto& a : alerts) {
    const auto& l = a["labels"];
    if (l.value("alertname", "") == name && l.value("key", "") == key &&
        (state.empty() || a.value("state", "") == state))
      return true;
  }
  return false;
}

TEST_F(PrometheusE2E, ShippedRulesFireForAMissedAndAFailedJobAndTheAgentsAlertReachesAlertmanager) {
  const auto began = std::chrono::steady_clock::now();
  // The rules as shipped are valid.
  auto check = run_command({kPromtool, "check", "rules", kRules});
  ASSERT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_NE((check.out + check.err).find("SUCCESS: 6 rules found"), std::string::npos) << check.out << check.err;

  const uint16_t metrics_port = free_port(), am_port = free_port(), prom_port = free_port();
  const std::string am = "127.0.0.1:" + std::to_string(am_port), prom = "127.0.0.1:" + std::to_string(prom_port),
                    metrics = "127.0.0.1:" + std::to_string(metrics_port);
  // Alertmanager: its own storage, no cluster, a route that delivers nowhere (the API is what we read).
  std::ofstream(dir_ / "alertmanager.yml") << "route: {receiver: nowhere, group_wait: 1s}\n"
                                              "receivers: [{name: nowhere}]\n";
  alertmanager_.start({kAlertmanager, "--config.file=" + (dir_ / "alertmanager.yml").string(),
                       "--storage.path=" + (dir_ / "am-data").string(), "--web.listen-address=" + am,
                       "--cluster.listen-address=", "--log.level=warn"},
                      dir_ / "alertmanager.log");
  // The agent: serves /metrics, sends its own alerts to Alertmanager.
  std::ofstream(dir_ / "agent.yaml") << "state_dir: " << (dir_ / "state").string() << "\nsocket: " << socket_
                                     << "\nspool_dir: " << (dir_ / "spool").string()
                                     << "\nhostname: prom-host\n"
                                        "discovery: {crontabs: false, systemd: false}\n"
                                        "notify:\n  am: [\"alertmanager:http://"
                                     << am
                                     << "\"]\n"
                                        "defaults:\n  notify: [am]\n"
                                        "prometheus: {listen: \""
                                     << metrics
                                     << "\"}\n"
                                        "monitors:\n"
                                        "  - key: heartbeat\n    schedule: every 5 seconds\n    grace_seconds: 1\n"
                                        "  - key: backup\n    name: Nightly backup\n    schedule: \"0 3 * * *\"\n";
  fs::permissions(dir_ / "agent.yaml", fs::perms::owner_read | fs::perms::owner_write);
  ASSERT_TRUE(agent_->start((dir_ / "agent.yaml").string(), socket_)) << agent_->log();
  // Prometheus: scrapes the agent and evaluates the shipped rules every second, alerts to Alertmanager.
  std::ofstream(dir_ / "prometheus.yml") << "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
                                            "rule_files: [\""
                                         << kRules
                                         << "\"]\n"
                                            "alerting:\n  alertmanagers:\n    - static_configs: [{targets: [\""
                                         << am
                                         << "\"]}]\n"
                                            "scrape_configs:\n  - job_name: cronitor-agent\n"
                                            "    static_configs: [{targets: [\""
                                         << metrics << "\"]}]\n";
  prometheus_.start(
      {kPrometheus, "--config.file=" + (dir_ / "prometheus.yml").string(),
       "--storage.tsdb.path=" + (dir_ / "prom-data").string(), "--web.listen-address=" + prom, "--log.level=warn"},
      dir_ / "prometheus.log");
  ASSERT_TRUE(wait_until([&] { return get("http://" + am + "/-/ready").has_value(); }, 30s)) << alertmanager_.log();
  ASSERT_TRUE(wait_until([&] { return get("http://" + prom + "/-/ready").has_value(); }, 30s)) << prometheus_.log();

  // heartbeat runs once, then misses (5 s + 1 s grace); backup fails with exit code 3.
  ASSERT_TRUE(cronitor::wrapper::send_to_agent(
      socket_, event("heartbeat", "00000001-0000-4000-8000-000000000001", cronitor::RunState::kRun), 2000000));
  ASSERT_TRUE(cronitor::wrapper::send_to_agent(
      socket_, event("heartbeat", "00000001-0000-4000-8000-000000000001", cronitor::RunState::kComplete), 2000000));
  ASSERT_TRUE(cronitor::wrapper::send_to_agent(
      socket_, event("backup", "00000002-0000-4000-8000-000000000002", cronitor::RunState::kRun), 2000000));
  ASSERT_TRUE(cronitor::wrapper::send_to_agent(
      socket_, event("backup", "00000002-0000-4000-8000-000000000002", cronitor::RunState::kFail, 3), 2000000));

  // Prometheus scraped the agent over HTTP: the failure is counted.
  const std::string q = "http://" + prom + "/api/v1/query?query=cronitor_job_runs_total%7Bkey%3D%22backup%22%2C" +
                        "outcome%3D%22failure%22%7D";
  ASSERT_TRUE(wait_until(
      [&] {
        auto j = get_json(q);
        return j && !(*j)["data"]["result"].empty() && (*j)["data"]["result"][0]["value"][1] == "1";
      },
      30s))
      << get("http://" + prom + "/api/v1/targets").value_or("") << prometheus_.log() << agent_->log();

  // Prometheus' own alerts fire from the shipped rules.
  json prom_alerts;
  const bool fired = wait_until(
      [&] {
        auto j = get_json("http://" + prom + "/api/v1/alerts");
        if (!j) return false;
        prom_alerts = (*j)["data"]["alerts"];
        return has_alert(prom_alerts, "CronitorJobFailed", "backup", "firing") &&
               has_alert(prom_alerts, "CronitorJobMissedDeadline", "heartbeat", "firing");
      },
      40s);
  ASSERT_TRUE(fired) << prom_alerts.dump(1) << get("http://" + metrics + "/metrics").value_or("") << agent_->log();
  EXPECT_FALSE(has_alert(prom_alerts, "CronitorJobFailed", "heartbeat")) << "heartbeat succeeded";
  EXPECT_FALSE(has_alert(prom_alerts, "CronitorJobMissedDeadline", "backup")) << "backup's slot is at 03:00";
  EXPECT_FALSE(has_alert(prom_alerts, "CronitorAgentDown", "")) << prom_alerts.dump(1);

  // Alertmanager holds the agent's own alert for the failed job, and Prometheus' alerts.
  json am_alerts;
  const bool received = wait_until(
      [&] {
        auto j = get_json("http://" + am + "/api/v2/alerts");
        if (!j) return false;
        am_alerts = *j;
        return has_alert(am_alerts, "CronitorJobProblem", "backup") &&
               has_alert(am_alerts, "CronitorJobMissedDeadline", "heartbeat") &&
               has_alert(am_alerts, "CronitorJobFailed", "backup");
      },
      30s);
  ASSERT_TRUE(received) << am_alerts.dump(1) << agent_->log();
  for (const auto& a : am_alerts)
    if (a["labels"].value("alertname", "") == "CronitorJobProblem" && a["labels"].value("key", "") == "backup") {
      EXPECT_EQ(a["labels"]["host"], "prom-host");
      EXPECT_EQ(a["labels"]["cron_job"], "Nightly backup");
      EXPECT_FALSE(a["labels"].contains("job")) << "`job` names the scrape job in Prometheus: " << a.dump(1);
      EXPECT_EQ(a["labels"]["severity"], "critical");
      EXPECT_TRUE(a["annotations"]["description"].get<std::string>().starts_with("failed")) << a.dump(1);
      EXPECT_EQ(a["status"]["state"], "active");
    }

  // cronitor_job_runs_total comes from state.db's history: the same after a restart.
  agent_->stop(SIGTERM);
  ASSERT_TRUE(agent_->start((dir_ / "agent.yaml").string(), socket_)) << agent_->log();
  std::string text;
  ASSERT_TRUE(wait_until(
      [&] {
        text = get("http://" + metrics + "/metrics").value_or("");
        return !text.empty();
      },
      10s))
      << agent_->log();
  auto series = [&](const std::string& start, const std::string& end) {
    for (size_t at = text.find(start); at != std::string::npos; at = text.find(start, at + 1)) {
      const std::string line = text.substr(at, text.find('\n', at) - at);
      if (line.ends_with(end)) return true;
    }
    return false;
  };
  EXPECT_TRUE(series(R"(cronitor_job_runs_total{key="backup",name="Nightly backup",)", R"(outcome="failure"} 1)"))
      << text;
  EXPECT_TRUE(series(R"(cronitor_job_runs_total{key="heartbeat",)", R"(outcome="success"} 1)")) << text;
  EXPECT_NE(text.find(R"(key="heartbeat",name="heartbeat")"), std::string::npos);
  std::printf("prometheus e2e: %.1f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
}

// Issue 19 item 5: Alertmanager ends an alert posted without endsAt after its resolve_timeout
// (here 5 s). The agent posts an open incident's alert again every alertmanager_resend (2 s) with
// endsAt 4 intervals ahead, so the alert stays active for as long as the job fails (20 s here:
// past resolve_timeout and past the first post's endsAt), and ends when the job recovers.
TEST_F(PrometheusE2E, AnOpenIncidentStaysActiveInAlertmanagerPastResolveTimeoutUntilTheJobRecovers) {
  const uint16_t am_port = free_port();
  const std::string am = "127.0.0.1:" + std::to_string(am_port);
  std::ofstream(dir_ / "alertmanager.yml") << "global: {resolve_timeout: 5s}\n"
                                              "route: {receiver: nowhere, group_wait: 1s}\n"
                                              "receivers: [{name: nowhere}]\n";
  alertmanager_.start({kAlertmanager, "--config.file=" + (dir_ / "alertmanager.yml").string(),
                       "--storage.path=" + (dir_ / "am-data").string(), "--web.listen-address=" + am,
                       "--cluster.listen-address=", "--log.level=warn"},
                      dir_ / "alertmanager.log");
  std::ofstream(dir_ / "agent.yaml") << "state_dir: " << (dir_ / "state").string() << "\nsocket: " << socket_
                                     << "\nspool_dir: " << (dir_ / "spool").string()
                                     << "\nhostname: am-host\n"
                                        "discovery: {crontabs: false, systemd: false}\n"
                                        "notify:\n  am: [\"alertmanager:http://"
                                     << am
                                     << "\"]\n"
                                        "defaults:\n  notify: [am]\n  alertmanager_resend: 2s\n"
                                        "monitors:\n"
                                        "  - key: backup\n    name: Nightly backup\n    schedule: \"0 3 * * *\"\n";
  fs::permissions(dir_ / "agent.yaml", fs::perms::owner_read | fs::perms::owner_write);
  ASSERT_TRUE(agent_->start((dir_ / "agent.yaml").string(), socket_)) << agent_->log();
  ASSERT_TRUE(wait_until([&] { return get("http://" + am + "/-/ready").has_value(); }, 30s)) << alertmanager_.log();

  // GET /api/v2/alerts lists the alerts whose endsAt has not passed: the active ones.
  auto active = [&] {
    auto j = get_json("http://" + am + "/api/v2/alerts");
    return j && has_alert(*j, "CronitorJobProblem", "backup");
  };
  ASSERT_TRUE(cronitor::wrapper::send_to_agent(
      socket_, event("backup", "00000003-0000-4000-8000-000000000003", cronitor::RunState::kRun), 2000000));
  ASSERT_TRUE(cronitor::wrapper::send_to_agent(
      socket_, event("backup", "00000003-0000-4000-8000-000000000003", cronitor::RunState::kFail, 3), 2000000));
  ASSERT_TRUE(wait_until(active, 20s)) << agent_->log() << alertmanager_.log();
  const auto fired = std::chrono::steady_clock::now();
  auto alerts = get_json("http://" + am + "/api/v2/alerts").value_or(json::array());
  for (const auto& a : alerts)
    if (a["labels"].value("key", "") == "backup") {
      EXPECT_EQ(a["labels"]["cron_job"], "Nightly backup");
      EXPECT_EQ(a["labels"]["host"], "am-host");
      EXPECT_FALSE(a["labels"].contains("job")) << a.dump(1);
      EXPECT_EQ(a["status"]["state"], "active");
    }

  // The job keeps failing: the alert stays active past resolve_timeout (5 s) and past the first
  // post's endsAt (8 s), looked at every 250 ms for 20 s.
  int looks = 0;
  while (std::chrono::steady_clock::now() - fired < 20s) {
    ASSERT_TRUE(active()) << "Alertmanager ended the alert of an open incident after "
                          << std::chrono::duration<double>(std::chrono::steady_clock::now() - fired).count() << " s\n"
                          << get("http://" + am + "/api/v2/alerts").value_or("") << agent_->log();
    ++looks;
    std::this_thread::sleep_for(250ms);
  }
  EXPECT_GT(looks, 40);
  // amtool, Alertmanager's own client, sees it too.
  if (fs::exists("/usr/bin/amtool")) {
    auto q = run_command({"/usr/bin/amtool", "alert", "query", "--alertmanager.url=http://" + am, "key=backup"});
    EXPECT_EQ(q.exit_code, 0) << q.err;
    EXPECT_NE(q.out.find("CronitorJobProblem"), std::string::npos) << q.out << q.err;
  }

  // The job recovers: the resolution ends the alert at once, and no late re-post brings it back.
  ASSERT_TRUE(cronitor::wrapper::send_to_agent(
      socket_, event("backup", "00000004-0000-4000-8000-000000000004", cronitor::RunState::kRun), 2000000));
  ASSERT_TRUE(cronitor::wrapper::send_to_agent(
      socket_, event("backup", "00000004-0000-4000-8000-000000000004", cronitor::RunState::kComplete), 2000000));
  ASSERT_TRUE(wait_until([&] { return !active(); }, 10s))
      << get("http://" + am + "/api/v2/alerts").value_or("") << agent_->log();
  const auto resolved = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - resolved < 6s) {  // 3 re-post intervals
    ASSERT_FALSE(active()) << "the alert came back after its resolution\n" << agent_->log();
    std::this_thread::sleep_for(250ms);
  }
}

}  // namespace
