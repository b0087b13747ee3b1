// Issue 18, items 1, 2, 3 and 5, as a real unprivileged user would try them: taking root's job
// through one's own crontab (or a key root adds later), starving root's alerts, taking every
// pidfd, and asking for a history that does not fit in memory. The users are "own-*" (this
// file's own names, so other attack tests can run beside it).
#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/reliability/attack_fixture.h"

namespace cronitor::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class Owners : public AttackFixture {
 protected:
  void SetUp() override {
    if (::getuid() != 0) GTEST_SKIP() << "needs root: the agent is root, the attacker a user made with useradd";
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    ::chmod(dir_.c_str(), 0755);
    socket_ = dir_ + "/agent.sock";
    spool_ = dir_ + "/spool";
    mallory_ = std::make_unique<TempUser>("own-mallory");
    bob_ = std::make_unique<TempUser>("own-bob");
  }

  /// The config: root's `root-backup` in agent.yaml, discovery of the crontabs under `root` (none:
  /// off), `extra` lines (more monitors) and `top` lines (retention, ...).
  void start_with(const std::string& root, const std::string& extra = "", const std::string& top = "") {
    if (!slack_) slack_ = std::make_unique<HttpRecorder>(kRecorder, dir_);
    std::ofstream(dir_ + "/agent.yaml") << "state_dir: " << dir_ << "/state\n"
                                        << "socket: " << socket_ << "\n"
                                        << "spool_dir: " << spool_ << "\n"
                                        << "hostname: owners-host\n"
                                        << (root.empty() ? "discovery: {crontabs: false, systemd: false}\n"
                                                         : "discovery: {root: " + root +
                                                               ", crontabs: true, systemd: false, auto_wrap: false}\n")
                                        << "notify:\n  ops: [\"slack:" << slack_->url("/hook") << "\"]\n"
                                        << "defaults:\n  notify: [ops]\n"
                                        << top << "monitors:\n"
                                        << "  - key: root-backup\n    schedule: every 1 hour\n"
                                        << extra;
    ASSERT_TRUE(agent_.start(dir_ + "/agent.yaml", socket_)) << agent_.log();
  }
  json control_as(const TempUser* who, const json& req) {
    return json::parse(send_line_as(who, socket_, req.dump() + "\n"), nullptr, false);
  }
  json status() { return control_as(nullptr, {{"control", "status"}}); }
  json monitor(const std::string& key) {
    const json st = status();
    for (const auto& m : st["monitors"])
      if (m["key"] == key) return m;
    return nullptr;
  }
  /// A root wrapper that fails with exit 5: its alert must reach Slack within 10 s.
  size_t failures_of(const std::string& key) const {
    size_t n = 0;
    for (const auto& r : slack_->requests()) {
      const std::string body = r["body"].get<std::string>();
      n += body.find(key) != std::string::npos && body.find("failed: exit code 5") != std::string::npos;
    }
    return n;
  }
  void roots_failure_alerts(const std::string& key) {
    const size_t before = failures_of(key);
    EXPECT_EQ(run_as(nullptr, {exec_bin_, key, "--", "exit 5"}, wrapper_env()), 5);
    EXPECT_TRUE(wait_until([&] { return failures_of(key) > before; }, 10s))
        << "root's failure of " << key << " did not alert\n"
        << agent_.log().substr(0, 6000);
  }
  cronitor::RunEvent user_event(const std::string& key, cronitor::RunState state, int64_t uid, int n) const {
    auto e = event(key, state, uid, n);
    e.host = "owners-host";
    return e;
  }
};

/// In a child that became `user` (its own process group): sends each line on a connection of
/// its own, coming back after "busy" (the rate limit); then stays alive until killed when `hold`
/// (its pid is the wrapper pid of its runs). Returns the child's pid once every line was
/// answered, and the number of "ok" answers in `acked`.
pid_t send_lines_as(const TempUser* user, const std::string& socket, const std::vector<std::string>& lines, bool hold,
                    size_t& acked) {
  int p[2];
  if (::pipe(p) != 0) return -1;
  pid_t child = ::fork();
  if (child == 0) {
    ::close(p[0]);
    ::setpgid(0, 0);
    if (user) user->become();
    uint64_t ok = 0;
    for (const auto& line : lines) {
      for (int attempt = 0; attempt < 2000; ++attempt) {
        int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::memcpy(a.sun_path, socket.c_str(), socket.size());
        std::string reply;
        if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
          (void)!::write(fd, line.data(), line.size());
          timeval tv{5, 0};
          ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
          char buf[512];
          for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) reply.append(buf, static_cast<size_t>(n));
        }
        ::close(fd);
        if (reply.starts_with("busy")) {
          ::usleep(20000);
          continue;
        }
        ok += reply == "ok\n";
        break;
      }
    }
    (void)!::write(p[1], &ok, sizeof ok);
    ::close(p[1]);
    if (hold)
      for (;;) ::pause();
    ::_exit(0);
  }
  ::close(p[1]);
  uint64_t ok = 0;
  const bool got = ::read(p[0], &ok, sizeof ok) == sizeof ok;
  ::close(p[0]);
  acked = got ? ok : 0;
  if (!hold) {
    ::waitpid(child, nullptr, 0);
    return 0;
  }
  return child;
}

TEST_F(Owners, AUsersCrontabNeverTakesRootsJobsAndRootsNewKeyStartsFresh) {
  // Root's /etc/cron.d line (wrapped, key own-nightly), and mallory's crontab naming that key and
  // root-backup (agent.yaml's, no `user:`): both of her lines are listed as refused and report
  // nothing; her wrapper's runs and her pauses of those keys are refused.
  const std::string root = dir_ + "/root";
  std::filesystem::create_directories(root + "/etc/cron.d");
  std::filesystem::create_directories(root + "/var/spool/cron/crontabs");
  std::ofstream(root + "/etc/cron.d/nightly") << "0 3 * * * root /usr/bin/cronitor-exec own-nightly -- 'backup.sh'\n";
  const std::string tab = root + "/var/spool/cron/crontabs/" + mallory_->name();
  std::ofstream(tab) << "* * * * * /usr/bin/cronitor-exec own-nightly -- 'true'\n"
                     << "* * * * * /usr/bin/cronitor-exec root-backup -- 'true'\n"
                     << "* * * * * /usr/bin/cronitor-exec own-mine -- 'true'\n";
  ASSERT_EQ(::chown(tab.c_str(), mallory_->uid(), mallory_->gid()), 0);
  ASSERT_EQ(::chmod(tab.c_str(), 0600), 0);
  start_with(root);
  for (const std::string key : {"own-nightly", "root-backup"}) {
    std::string err;
    EXPECT_EQ(run_as(mallory_.get(), {exec_bin_, key, "--", "exit 0"}, wrapper_env(), &err, dir_ + "/m.err"), 0);
    EXPECT_NE(err.find("refused"), std::string::npos) << key << ": her complete was taken: " << err;
    auto pause = control_as(mallory_.get(), {{"control", "pause"}, {"key", key}, {"until_us", 253402300799000000LL}});
    EXPECT_EQ(pause["ok"], false) << key << ": " << pause.dump();
    EXPECT_NE(pause.value("error", std::string()).find(key), std::string::npos) << pause.dump();
    const json m = monitor(key);
    ASSERT_TRUE(m.is_object()) << key << " " << status().dump();
    EXPECT_EQ(m["state"] == "paused", false) << m.dump();
    roots_failure_alerts(key);
    auto history = control_as(nullptr, {{"control", "history"}, {"key", key}});
    for (const auto& r : history["runs"]) EXPECT_NE(r["status"], "ok") << "her complete was stored: " << r.dump();
  }
  // Her own key is hers; the refused lines are listed with the reason, to root and to her.
  EXPECT_EQ(run_as(mallory_.get(), {exec_bin_, "own-mine", "--", "exit 0"}, wrapper_env()), 0);
  const json all = status();
  ASSERT_TRUE(all["refused_lines"].is_array()) << all.dump();
  EXPECT_EQ(all["refused_lines"].size(), 2u) << all["refused_lines"].dump();
  for (const auto& r : all["refused_lines"])
    EXPECT_NE(r["reason"].get<std::string>().find("reports nothing"), std::string::npos);
  EXPECT_EQ(control_as(mallory_.get(), {{"control", "status"}})["refused_lines"].size(), 2u);
  EXPECT_EQ(control_as(bob_.get(), {{"control", "status"}})["refused_lines"].size(), 0u);

  // Her refused lines go: root's jobs stay (not "removed", no alert about them).
  std::ofstream(tab, std::ios::trunc) << "* * * * * /usr/bin/cronitor-exec own-mine -- 'true'\n";
  ASSERT_TRUE(agent_.wait_for_log(" removed", 10s)) << agent_.log().substr(0, 6000);
  for (const std::string key : {"own-nightly", "root-backup"}) {
    EXPECT_NE(monitor(key)["state"], "removed") << monitor(key).dump();
    EXPECT_EQ(slack_count("removed"), 0u);
  }
  // A key nobody defines yet: mallory reports it first and pauses it; then root defines it in
  // agent.yaml. Root's job starts fresh: not paused, and her runs and pause no longer count.
  EXPECT_EQ(run_as(mallory_.get(), {exec_bin_, "own-later", "--", "exit 0"}, wrapper_env()), 0);
  auto paused =
      control_as(mallory_.get(), {{"control", "pause"}, {"key", "own-later"}, {"until_us", 253402300799000000LL}});
  ASSERT_EQ(paused["ok"], true) << paused.dump();
  std::ofstream(dir_ + "/agent.yaml", std::ios::app) << "  - key: own-later\n    schedule: every 1 hour\n";
  ::kill(agent_.pid(), SIGHUP);
  ASSERT_TRUE(wait_until(
      [&] { return monitor("own-later").value("source", std::string()).find("agent.yaml") != std::string::npos; }, 10s))
      << monitor("own-later").dump() << agent_.log().substr(0, 6000);
  EXPECT_NE(monitor("own-later")["state"], "paused") << monitor("own-later").dump();
  EXPECT_EQ(control_as(nullptr, {{"control", "history"}, {"key", "own-later"}})["runs"].size(), 0u);
  std::string err;
  EXPECT_EQ(run_as(mallory_.get(), {exec_bin_, "own-later", "--", "exit 0"}, wrapper_env(), &err, dir_ + "/m.err"), 0);
  EXPECT_NE(err.find("refused"), std::string::npos) << err;
  EXPECT_EQ(control_as(mallory_.get(), {{"control", "resume"}, {"key", "own-later"}})["ok"], false);
  roots_failure_alerts("own-later");
  EXPECT_TRUE(agent_alive());
}

TEST_F(Owners, AUsersFloodOfFailuresNeverHoldsBackRootsAlert) {
  start_with("");
  // 30 failures on her own keys: her allowance at the target (20 per 10 minutes) is used up.
  std::vector<std::string> lines;
  for (int i = 0; i < 30; ++i)
    lines.push_back(cronitor::encode(
        user_event("own-junk-" + std::to_string(i), cronitor::RunState::kFail, mallory_->uid(), i + 1)));
  size_t acked = 0;
  send_lines_as(mallory_.get(), socket_, lines, false, acked);
  ASSERT_EQ(acked, 30u) << agent_.log().substr(0, 4000);
  ASSERT_TRUE(wait_until([&] { return slack_count("own-junk-") >= 20; }, 15s)) << slack_count("own-junk-");
  // Root's failure goes out at once, not in a digest 10 minutes later.
  const auto t0 = std::chrono::steady_clock::now();
  roots_failure_alerts("root-backup");
  std::printf("root's alert after a user's 30 failures: %.0f ms\n",
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  EXPECT_EQ(slack_count("own-junk-"), 20u) << "her own allowance still holds";
}

TEST_F(Owners, OneUsersRunsLeavePidfdsForRootsKilledWrapper) {
  start_with("");
  // 4,200 `run` events of one ad-hoc key from one live process (each its wrapper): they once held
  // the host's 4,096 pidfds.
  constexpr int kRuns = 4200;
  std::vector<std::string> lines;
  lines.reserve(kRuns);
  for (int i = 0; i < kRuns; ++i) {
    auto e = user_event("own-runs", cronitor::RunState::kRun, mallory_->uid(), i + 1);
    e.wrapper_pid = 1;  // the agent takes the peer's pid (SO_PEERCRED): her live process
    lines.push_back(cronitor::encode(e));
  }
  size_t acked = 0;
  const auto t0 = std::chrono::steady_clock::now();
  pid_t attacker = send_lines_as(mallory_.get(), socket_, lines, true, acked);
  ASSERT_GT(attacker, 0);
  std::printf("%zu of %d runs of one user acknowledged in %.1f s\n", acked, kRuns,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  EXPECT_GE(acked, static_cast<size_t>(kRuns) - 10);
  // Root's wrapper runs a job, and is killed (with its job): the agent notices the lost run.
  pid_t wrapper = ::fork();
  if (wrapper == 0) {
    int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, 0), ::dup2(devnull, 1), ::dup2(devnull, 2);
    std::vector<std::string> env = wrapper_env();
    std::vector<char*> e;
    for (auto& s : env) e.push_back(s.data());
    e.push_back(nullptr);
    ::execle(exec_bin_.c_str(), exec_bin_.c_str(), "root-backup", "--", "sleep 60", nullptr, e.data());
    ::_exit(127);
  }
  ASSERT_TRUE(wait_until(
      [&] {
        auto h = control_as(nullptr, {{"control", "history"}, {"key", "root-backup"}});
        return h["runs"].size() == 1 && h["runs"][0]["status"] == "running";
      },
      10s))
      << agent_.log().substr(0, 4000);
  // The job's group: the wrapper's child leads it.
  pid_t job = 0;
  for (const auto& p : std::filesystem::directory_iterator("/proc")) {
    std::ifstream in(p.path() / "stat");
    std::string text;
    if (!std::getline(in, text) || text.rfind(')') == std::string::npos) continue;
    char state;
    int ppid = 0;
    if (std::sscanf(text.c_str() + text.rfind(')') + 1, " %c %d", &state, &ppid) == 2 && ppid == wrapper)
      job = std::atoi(p.path().filename().c_str());
  }
  ::kill(wrapper, SIGKILL);
  ::waitpid(wrapper, nullptr, 0);
  if (job > 0) ::kill(-job, SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  const bool noticed = wait_until([&] { return slack_count("wrapper lost") > 0; }, 15s);
  std::printf("root's killed wrapper %s after %.0f ms\n", noticed ? "noticed" : "not noticed",
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - killed).count());
  ::kill(attacker, SIGKILL);
  ::waitpid(attacker, nullptr, 0);
  EXPECT_TRUE(noticed) << "root's killed wrapper was not noticed\n" << agent_.log().substr(0, 6000);
  EXPECT_TRUE(agent_alive());
}

TEST_F(Owners, HistoryRepliesAreBoundedAndStoredRunsPrunedAsTheyCome) {
  start_with("", "", "retention: {runs: 400}\n");
  // 1,000 runs of root's job and 2,000 of her ad-hoc key, each with an 8 KiB output.
  const std::string output(cronitor::kMaxOutputTailBytes, 'x');
  auto completes = [&](const std::string& key, int64_t uid, int n, int first) {
    std::vector<std::string> lines;
    for (int i = 0; i < n; ++i) {
      auto e = user_event(key, cronitor::RunState::kComplete, uid, first + i);
      e.output_tail = output;
      lines.push_back(cronitor::encode(e));
    }
    return lines;
  };
  size_t acked = 0;
  send_lines_as(nullptr, socket_, completes("root-backup", 0, 1000, 1), false, acked);
  ASSERT_EQ(acked, 1000u) << agent_.log().substr(0, 4000);
  send_lines_as(mallory_.get(), socket_, completes("own-hist", mallory_->uid(), 2000, 5001), false, acked);
  ASSERT_EQ(acked, 2000u) << agent_.log().substr(0, 4000);
  std::error_code ec;
  std::printf("state.db after 3,000 runs with 8 KiB outputs: %ju bytes (+ WAL %ju)\n",
              static_cast<uintmax_t>(std::filesystem::file_size(dir_ + "/state/state.db", ec)),
              static_cast<uintmax_t>(std::filesystem::file_size(dir_ + "/state/state.db-wal", ec)));
  // The largest limit: one bounded reply, at once, and honest events acknowledged right after.
  auto timed_history = [&](const TempUser* who, const std::string& key, json& out) {
    const std::string line = json({{"control", "history"}, {"key", key}, {"limit", 10000}}).dump() + "\n";
    // Her 2,000 runs used her rate budget, which her listings share: "busy" until it refills.
    (void)wait_until([&] { return send_line_as(who, socket_, line).find("\"busy") == std::string::npos; }, 10s);
    const auto t0 = std::chrono::steady_clock::now();
    const std::string reply = send_line_as(who, socket_, line);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    out = json::parse(reply, nullptr, false);
    std::printf("history of %s, limit 10,000: %zu bytes, %zu runs, %.0f ms\n", key.c_str(), reply.size(),
                out.is_object() ? out["runs"].size() : 0, ms);
    return reply.size();
  };
  json root_h, her_h;
  EXPECT_LE(timed_history(nullptr, "root-backup", root_h), 2u << 20) << "the reply is not bounded";
  ASSERT_TRUE(root_h.is_object());
  EXPECT_EQ(root_h["ok"], true);
  // Root's job keeps retention.runs (400), pruned as runs come (every 64), not only daily.
  EXPECT_LE(root_h["runs"].size(), 400u + 64u) << "root's runs are not pruned as they come";
  EXPECT_GE(root_h["runs"].size(), 400u);
  EXPECT_EQ(root_h["runs"][0]["output_cut"], true);
  EXPECT_EQ(send_line_as(nullptr, socket_,
                         cronitor::encode(user_event("root-backup", cronitor::RunState::kComplete, 0, 9999))),
            "ok\n");
  // Her ad-hoc key keeps at most 100 runs: her 2,000 do not grow state.db.
  EXPECT_LE(timed_history(mallory_.get(), "own-hist", her_h), 2u << 20);
  ASSERT_TRUE(her_h.is_object());
  EXPECT_LE(her_h["runs"].size(), 100u + 64u);
  EXPECT_TRUE(agent_alive());
}

}  // namespace
}  // namespace cronitor::testing
