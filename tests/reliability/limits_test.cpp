// Issue 18, items 6, 7 and 10, as a real unprivileged user would try them: a crontab of 20,000
// lines, slow connections to /metrics from many loopback addresses, and what a user's jobs send
// upstream, show in /metrics and say in alerts. The users are "limits-*" (this file's own names,
// so other attack tests can run beside it).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/reliability/attack_fixture.h"
#include "tests/support/free_port.h"

namespace cronitor::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

/// The agent's proportional set size in KiB (what it costs the host), 0 when unknown.
long pss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps_rollup");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("Pss:")) return std::atol(line.c_str() + 4);
  return 0;
}

/// GET `path` from 127.0.0.1:`port` (HTTP/1.0, one connection); the whole answer, "" on a
/// refused or timed-out connection (`timeout`).
std::string http_get(uint16_t port, const std::string& path, std::chrono::milliseconds timeout = 5000ms) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    (void)!::write(fd, req.data(), req.size());
    char buf[65536];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

class Limits : public AttackFixture {
 protected:
  void SetUp() override {
    if (::getuid() != 0) GTEST_SKIP() << "needs root: the agent is root, the attacker a user made with useradd";
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    ::chmod(dir_.c_str(), 0755);
    socket_ = dir_ + "/agent.sock";
    spool_ = dir_ + "/spool";
    mallory_ = std::make_unique<TempUser>("limits-mallory");
    root_ = dir_ + "/root";
    std::filesystem::create_directories(root_ + "/etc/cron.d");
    std::filesystem::create_directories(root_ + "/var/spool/cron/crontabs");
  }
  /// Her crontab under the discovery root: `text`, hers, mode 0600.
  void her_crontab(const std::string& text) {
    const std::string tab = root_ + "/var/spool/cron/crontabs/" + mallory_->name();
    std::ofstream(tab) << text;
    ASSERT_EQ(::chown(tab.c_str(), mallory_->uid(), mallory_->gid()), 0);
    ASSERT_EQ(::chmod(tab.c_str(), 0600), 0);
  }
  /// The config: crontab discovery under root_ (not wrapped by the agent unless `discovery` says
  /// so), /metrics on port_, `extra` top-level lines.
  void start_with(const std::string& extra = "", const std::string& discovery = "auto_wrap: false") {
    if (!slack_) slack_ = std::make_unique<HttpRecorder>(kRecorder, dir_);
    std::ofstream(dir_ + "/agent.yaml") << "state_dir: " << dir_ << "/state\n"
                                        << "socket: " << socket_ << "\n"
                                        << "spool_dir: " << spool_ << "\n"
                                        << "hostname: limits-host\n"
                                        << "discovery: {root: " << root_ << ", crontabs: true, systemd: false, "
                                        << discovery << "}\n"
                                        << "prometheus: {listen: \"127.0.0.1:" << port_ << "\"}\n"
                                        << "notify:\n  ops: [\"slack:" << slack_->url("/hook") << "\"]\n"
                                        << "defaults:\n  notify: [ops]\n"
                                        << extra;
    // A start that reads 20,000 lines on a loaded machine may take longer than start()'s 10 s.
    if (!agent_.start(dir_ + "/agent.yaml", socket_)) {
      ASSERT_TRUE(wait_until([&] { return agent_.log().find("listening on \"") != std::string::npos; }, 60s))
          << agent_.log().substr(0, 4000);
    }
  }
  json status() { return json::parse(send_line_as(nullptr, socket_, "{\"control\":\"status\"}\n"), nullptr, false); }
  size_t count_in_log(const std::string& text) const {
    const std::string log = agent_.log();
    size_t n = 0;
    for (size_t at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) ++n;
    return n;
  }

  std::string root_;
  uint16_t port_ = free_port();
};

TEST_F(Limits, OneUsersCrontabOf20000LinesIsBoundedAndSaidOnce) {
  std::ofstream(root_ + "/etc/cron.d/nightly") << "0 3 * * * root /usr/bin/cronitor-exec limits-nightly -- 'backup'\n";
  std::string tab;
  for (int i = 0; i < 20000; ++i) tab += "* * * * * /usr/bin/cronitor-exec f" + std::to_string(i) + " -- true\n";
  her_crontab(tab);
  start_with();
  ASSERT_TRUE(wait_until([&] { return status()["monitors"].is_array(); }, 10s));
  const json st = status();
  size_t hers = 0;
  bool roots = false;
  for (const auto& m : st["monitors"]) {
    hers += m["key"].get<std::string>().starts_with("f");
    roots = roots || m["key"] == "limits-nightly";
  }
  const long pss = pss_kib(agent_.pid());
  const auto t0 = std::chrono::steady_clock::now();
  const std::string metrics = http_get(port_, "/metrics");
  std::printf(
      "a user's crontab of 20,000 lines: %zu monitors of hers, agent PSS %.1f MiB, /metrics %zu bytes (%.0f ms)\n",
      hers, static_cast<double>(pss) / 1024, metrics.size(), ms_since(t0));
  EXPECT_TRUE(roots) << "root's job is monitored";
  EXPECT_EQ(hers, 500u) << "discovery.max_monitors_per_user (500) bounds her crontab";
  EXPECT_LT(metrics.size(), 1u << 20);
  EXPECT_LT(pss, 32 * 1024) << "the agent's PSS (90 MiB before the limit, 44.8 MiB while discovery held every line)";
  EXPECT_EQ(count_in_log("more than 2000 job lines in this crontab"), 1u) << agent_.log().substr(0, 4000);
  // Discovery reads 2,000 of her lines (4 times what it may monitor of them): the 18,000 after are
  // not held at all, and said once. Listed as refused with the reason: one entry for her file
  // (not 1,500), one log line.
  ASSERT_TRUE(st["refused_lines"].is_array()) << st.dump().substr(0, 2000);
  size_t past = 0;
  for (const auto& r : st["refused_lines"])
    past += r["reason"].get<std::string>().find("1500 jobs are past the limit of 500") != std::string::npos;
  EXPECT_EQ(past, 1u) << st["refused_lines"].dump().substr(0, 2000);
  EXPECT_EQ(count_in_log("past the limit"), 1u) << agent_.log().substr(0, 4000);
  // `discover` lists each of those lines as refused, with the reason.
  const std::string out = dir_ + "/discover.json";
  ASSERT_EQ(run_as(nullptr,
                   {"/bin/sh", "-c",
                    agent_bin_ + " discover --json --root " + root_ + " --config " + dir_ + "/agent.yaml > " + out},
                   {"PATH=/usr/bin:/bin"}),
            0);
  std::ifstream in(out);
  const json jobs = json::parse(in, nullptr, false);
  ASSERT_TRUE(jobs.is_array());
  size_t refused = 0;
  for (const auto& j : jobs)
    refused +=
        j.contains("refused") && j["refused"].get<std::string>().find("max_monitors_per_user") != std::string::npos;
  EXPECT_EQ(refused, 1500u);
  // 600 lines added above hers while the agent runs: her monitored lines keep their places, and
  // she gets no more monitors (else each edit could add 500).
  std::string more;
  for (int i = 0; i < 600; ++i) more += "* * * * * /usr/bin/cronitor-exec g" + std::to_string(i) + " -- true\n";
  const size_t changes = count_in_log("discovery: ");
  her_crontab(more + tab);
  ASSERT_TRUE(wait_until([&] { return count_in_log("discovery: ") > changes; }, 30s)) << agent_.log().substr(0, 4000);
  size_t after = 0;
  const json now = status();
  for (const auto& m : now["monitors"]) {
    const std::string key = m["key"].get<std::string>();
    after += key.starts_with("f") || key.starts_with("g");
  }
  EXPECT_EQ(after, 500u) << "lines added above hers made more monitors";
  // Root's job still alerts at once.
  EXPECT_EQ(run_as(nullptr, {exec_bin_, "limits-nightly", "--", "exit 5"}, wrapper_env()), 5);
  EXPECT_TRUE(wait_until([&] { return slack_count("limits-nightly") > 0; }, 10s)) << agent_.log().substr(0, 4000);
}

/// Lines of `text` that run through cronitor-exec.
size_t wrapped_lines(const std::string& text) {
  size_t n = 0;
  for (size_t at = text.find("cronitor-exec"); at != std::string::npos; at = text.find("cronitor-exec", at + 1)) ++n;
  return n;
}

TEST_F(Limits, AUsersRefusedLinesAreNeverWrapped) {
  namespace fs = std::filesystem;
  // Only an installed, root-owned wrapper is written into crontabs: give the root one.
  fs::create_directories(root_ + "/usr/bin");
  fs::copy_file(exec_bin_, root_ + "/usr/bin/cronitor-exec", fs::copy_options::overwrite_existing);
  ASSERT_EQ(::chmod((root_ + "/usr/bin/cronitor-exec").c_str(), 0755), 0);
  std::ofstream(root_ + "/etc/cron.d/nightly") << "0 3 * * * root backup-nightly\n";
  const std::string tab = root_ + "/var/spool/cron/crontabs/" + mallory_->name();
  auto read = [](const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  // Five lines of hers and a limit of three: the two past it report nothing, so auto_wrap leaves
  // them as they are (wrapped, each would run cronitor-exec for a monitor root never allowed).
  her_crontab("* * * * * job-1\n* * * * * job-2\n* * * * * job-3\n* * * * * job-4\n* * * * * job-5\n");
  start_with("", "auto_wrap: true, max_monitors_per_user: 3");
  ASSERT_EQ(wrapped_lines(read(root_ + "/etc/cron.d/nightly")), 1u) << "root's line is wrapped\n"
                                                                    << agent_.log().substr(0, 4000);
  const std::string first = read(tab);
  EXPECT_EQ(wrapped_lines(first), 3u) << "lines past the limit were wrapped:\n" << first;
  EXPECT_EQ(first.find("cronitor-exec", first.find("job-3")), std::string::npos) << first;

  // A line whose key another user holds (bob reported it first, a key nothing defined): refused
  // for its key, under the limit, and not wrapped either.
  bob_ = std::make_unique<TempUser>("limits-bob");
  const std::string scratch = dir_ + "/scratch";
  fs::create_directories(scratch + "/var/spool/cron/crontabs");
  const std::string scratch_tab = scratch + "/var/spool/cron/crontabs/" + mallory_->name();
  std::ofstream(scratch_tab) << "* * * * * job-taken\n";
  ASSERT_EQ(::chown(scratch_tab.c_str(), mallory_->uid(), mallory_->gid()), 0);
  ASSERT_EQ(::chmod(scratch_tab.c_str(), 0600), 0);
  const std::string out = dir_ + "/discover.json";
  ASSERT_EQ(run_as(nullptr, {"/bin/sh", "-c", agent_bin_ + " discover --json --root " + scratch + " > " + out},
                   {"PATH=/usr/bin:/bin"}),
            0);
  std::ifstream in(out);
  const json found = json::parse(in, nullptr, false);
  ASSERT_TRUE(found.is_array() && found.size() == 1) << found.dump();
  const std::string taken = found[0]["key"];
  std::string err;
  ASSERT_EQ(run_as(bob_.get(), {exec_bin_, taken, "--", "true"}, wrapper_env(), &err, dir_ + "/bob.err"), 0);
  ASSERT_TRUE(wait_until(
      [&] {
        const json st = status();
        for (const auto& m : st["monitors"])
          if (m["key"] == taken) return true;
        return false;
      },
      10s))
      << err << agent_.log().substr(agent_.log().size() > 3000 ? agent_.log().size() - 3000 : 0);
  // She keeps two of her wrapped lines and adds the taken one.
  std::string kept;
  std::istringstream lines(first);
  size_t n = 0;
  for (std::string line; std::getline(lines, line);)
    if (line.find("cronitor-exec") != std::string::npos && n++ < 2) kept += line + "\n";
  her_crontab(kept + "* * * * * job-taken\n");
  auto refused_taken = [&] {
    const json st = status();
    for (const auto& r : st["refused_lines"])
      if (r.value("key", std::string()) == taken) return true;
    return false;
  };
  ASSERT_TRUE(wait_until(refused_taken, 30s)) << status()["refused_lines"].dump() << agent_.log().substr(0, 4000);
  const std::string second = read(tab);
  EXPECT_EQ(wrapped_lines(second), 2u) << "her line on bob's key was wrapped:\n" << second;
  EXPECT_EQ(agent_.log().find("auto_wrap: 1 job lines"), std::string::npos) << agent_.log().substr(0, 4000);
}

/// In a child that became `user`: holds `n` connections to 127.0.0.1:`port` from 127.0.0.2-4,
/// each sending a request line and then one header line every 3 s, never ending it (slowloris);
/// a connection the server closes is opened again 100 ms later. Runs until killed.
pid_t slow_connections(const TempUser& user, uint16_t port, int n) {
  pid_t child = ::fork();
  if (child != 0) return child;
  user.become();
  struct Slow {
    int fd = -1;
    std::chrono::steady_clock::time_point next;
  };
  std::vector<Slow> conns(static_cast<size_t>(n));
  auto open_one = [&](int i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in from{};
    from.sin_family = AF_INET;
    from.sin_addr.s_addr = htonl(0x7f000002 + static_cast<uint32_t>(i % 3));  // 127.0.0.2-4
    ::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{0, 200000};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0) {
      const char* start = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
      (void)!::send(fd, start, std::strlen(start), MSG_NOSIGNAL);
    }
    return fd;
  };
  const auto now = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) conns[static_cast<size_t>(i)] = {open_one(i), now + 3s};
  for (;;) {
    std::vector<pollfd> fds;
    for (const auto& c : conns) fds.push_back({c.fd, POLLIN, 0});
    ::poll(fds.data(), fds.size(), 100);
    const auto t = std::chrono::steady_clock::now();
    for (size_t i = 0; i < conns.size(); ++i) {
      char buf[256];
      bool gone = (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0 && ::recv(conns[i].fd, buf, sizeof buf, 0) <= 0;
      if (!gone && t >= conns[i].next) {
        gone = ::send(conns[i].fd, "X-a: b\r\n", 8, MSG_NOSIGNAL) != 8;
        conns[i].next = t + 3s;
      }
      if (gone) {
        ::close(conns[i].fd);
        ::usleep(100000);
        conns[i] = {open_one(static_cast<int>(i)), std::chrono::steady_clock::now() + 3s};
      }
    }
  }
}

TEST_F(Limits, SlowConnectionsFromManyLoopbackAddressesLeaveRoomForAnHonestScrape) {
  start_with();
  ASSERT_NE(http_get(port_, "/metrics").find("200 OK"), std::string::npos) << agent_.log().substr(0, 4000);
  pid_t attacker = slow_connections(*mallory_, port_, 24);
  std::this_thread::sleep_for(1s);  // the attack in place: every connection opened and started
  std::vector<double> took;
  size_t served = 0;
  for (int i = 0; i < 10; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::string answer = http_get(port_, "/metrics", 5000ms);
    took.push_back(ms_since(t0));
    served += answer.find("200 OK") != std::string::npos && answer.find("cronitor_agent_") != std::string::npos;
    std::this_thread::sleep_for(300ms);
  }
  ::kill(attacker, SIGKILL);
  ::waitpid(attacker, nullptr, 0);
  std::sort(took.begin(), took.end());
  std::printf(
      "honest scrapes with 24 slow connections from 127.0.0.2-4: %zu of 10 served, median %.1f ms, max %.1f ms\n",
      served, took[took.size() / 2], took.back());
  EXPECT_EQ(served, 10u);
  EXPECT_LT(took.back(), 1000.0);
  EXPECT_TRUE(agent_alive());
}

TEST_F(Limits, AUsersJobsUpstreamInMetricsAndInAlertsFollowTheDecisions) {
  // Root's job and hers carry the same name; hers comes from her crontab, and she also reports a
  // key of her own that nothing defines.
  std::ofstream(root_ + "/etc/cron.d/nightly")
      << "# cronitor: name=nightly-db-backup\n0 3 * * * root /usr/bin/cronitor-exec limits-roots -- 'backup'\n";
  her_crontab("# cronitor: name=nightly-db-backup\n0 3 * * * /usr/bin/cronitor-exec limits-hers -- 'backup'\n");
  std::filesystem::create_directories(dir_ + "/api");
  auto api = std::make_unique<HttpRecorder>(kRecorder, dir_ + "/api");
  start_with("uplink:\n  cronitor: {api_key: limitskey, telemetry_url: \"" + api->url("") + "\", api_url: \"" +
             api->url("/api") + "\"}\n");
  EXPECT_EQ(run_as(mallory_.get(), {exec_bin_, "limits-hers", "--", "exit 5"}, wrapper_env()), 5);
  EXPECT_EQ(run_as(mallory_.get(), {exec_bin_, "limits-adhoc", "--", "exit 5"}, wrapper_env()), 5);
  EXPECT_EQ(run_as(nullptr, {exec_bin_, "limits-roots", "--", "exit 5"}, wrapper_env()), 5);
  // Alerts: hers says whose it is; root's does not.
  ASSERT_TRUE(wait_until([&] { return slack_count("failed: exit code 5") >= 3; }, 15s)) << agent_.log().substr(0, 6000);
  EXPECT_EQ(slack_count("user " + mallory_->name() + ": nightly-db-backup failed: exit code 5"), 1u);
  EXPECT_EQ(slack_count("user " + mallory_->name() + ": limits-adhoc failed: exit code 5"), 1u) << "her own key";
  size_t roots_plain = 0;
  for (const auto& r : slack_->requests()) {
    const std::string body = r["body"].get<std::string>();
    roots_plain +=
        body.find("limits-roots") != std::string::npos && body.find(": nightly-db-backup failed") == std::string::npos;
  }
  EXPECT_EQ(roots_plain, 1u) << "root's alert has no user prefix";
  // Upstream: her crontab's job goes up under the host's key; her own key does not.
  ASSERT_TRUE(wait_until(
      [&] {
        for (const auto& r : api->requests())
          if (r["path"].get<std::string>().find("/limits-roots?") != std::string::npos) return true;
        return false;
      },
      15s))
      << agent_.log().substr(0, 6000);
  size_t hers_up = 0, adhoc_up = 0;
  for (const auto& r : api->requests()) {
    const std::string what = r["path"].get<std::string>() + r["body"].get<std::string>();
    hers_up += what.find("limits-hers") != std::string::npos;
    adhoc_up += what.find("limits-adhoc") != std::string::npos;
  }
  EXPECT_GT(hers_up, 0u);
  EXPECT_EQ(adhoc_up, 0u) << "a user's own key went upstream with the host's API key";
  // /metrics (and the 0644 textfile, the same text): her jobs by key only.
  const std::string metrics = http_get(port_, "/metrics");
  EXPECT_NE(metrics.find("key=\"limits-roots\",name=\"nightly-db-backup\""), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("key=\"limits-hers\",name=\"limits-hers\",source=\"\""), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("key=\"limits-adhoc\",name=\"limits-adhoc\",source=\"\""), std::string::npos);
  EXPECT_TRUE(agent_alive());
}

/// The control bytes (but newline) in every string of `j`, a decoded message body.
size_t control_bytes(const json& j) {
  size_t n = 0;
  if (j.is_string()) {
    for (unsigned char c : j.get<std::string>()) n += (c < 0x20 && c != '\n') || c == 0x7f;
  } else if (j.is_structured()) {
    for (const auto& v : j) n += control_bytes(v);
  }
  return n;
}

TEST_F(Limits, AUsersEscapeSequencesReachRootsTerminalAndSlackAsText) {
  // Issue 18 item 8: her crontab names her job with sequences that clear root's terminal and set
  // its title, and her job prints colour codes and a bell: root's status and discover, and the
  // Slack alert, show them as text (\e, \x07), never as the bytes.
  const std::string evil = "\x1b[2J\x1b]0;OWNED\x07esc-job";
  her_crontab("# cronitor: name=" + evil + "\n0 3 * * * /usr/bin/cronitor-exec limits-esc -- 'x'\n");
  start_with();
  EXPECT_EQ(
      run_as(mallory_.get(), {exec_bin_, "limits-esc", "--", "printf '\\033[31mred\\007\\n'; exit 4"}, wrapper_env()),
      4);
  ASSERT_TRUE(wait_until([&] { return slack_count("failed: exit code 4") > 0; }, 15s)) << agent_.log().substr(0, 4000);
  size_t in_slack = 0, shown = 0;
  for (const auto& r : slack_->requests()) {
    const json body = json::parse(r["body"].get<std::string>(), nullptr, false);
    in_slack += control_bytes(body);
    shown += body.dump().find("\\\\e[2J") != std::string::npos;
  }
  EXPECT_EQ(in_slack, 0u) << "control bytes of her job's name or output in a Slack message";
  EXPECT_GT(shown, 0u) << "her job's name is shown as text";
  const auto has_control = [](const std::string& text) {
    return std::any_of(text.begin(), text.end(), [](char c) { return c == '\x1b' || c == '\x07'; });
  };
  for (const std::vector<std::string>& cmd :
       {std::vector<std::string>{agent_bin_, "status", "--config", dir_ + "/agent.yaml"},
        std::vector<std::string>{agent_bin_, "discover", "--root", root_, "--config", dir_ + "/agent.yaml"}}) {
    const std::string out = dir_ + "/out.txt";
    std::string line;
    for (const auto& w : cmd) line += "'" + w + "' ";
    ASSERT_EQ(run_as(nullptr, {"/bin/sh", "-c", line + "> " + out}, {"PATH=/usr/bin:/bin"}), 0) << line;
    std::ifstream in(out);
    const std::string text((std::istreambuf_iterator<char>(in)), {});
    EXPECT_FALSE(has_control(text)) << cmd[1] << " printed an escape byte of hers:\n" << text;
    // The table cuts a long name (marked ~): its start is enough.
    EXPECT_NE(text.find("\\e[2J\\e]0;OWNED"), std::string::npos) << cmd[1] << ":\n" << text;
  }
  EXPECT_FALSE(has_control(agent_.log())) << "the agent's log";
}

}  // namespace
}  // namespace cronitor::testing
