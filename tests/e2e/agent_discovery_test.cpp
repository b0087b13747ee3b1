// The daemon with discovery on a --root copy of a host: discovered crontab jobs become monitors
// (with their "# cronitor:" comment), a deleted job alerts once as removed, and the socket only
// lets a user report on jobs that run as that user (SO_PEERCRED).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/event.h"
#include "tests/support/agent_process.h"
#include "tests/support/daemon_test.h"
#include "tests/support/http_recorder.h"
#include "tests/support/simulated_clock.h"
#include "tests/support/subprocess.h"

namespace {

using namespace cronitor::testing;

class AgentDiscovery : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "root/etc/cron.d");
    fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
    socket_ = (dir_ / "agent.sock").string();
    std::ofstream(dir_ / "root/etc/cron.d/backup") << "SHELL=/bin/sh\n# cronitor: grace=10m failure_tolerance=2\n*/5 * "
                                                      "* * * root /usr/local/bin/backup-db --all\n";
    fs::permissions(dir_ / "root/etc/cron.d/backup",
                    fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
    // The wrapper as the package installs it (auto_wrap writes nothing else into crontabs).
    fs::create_directories(dir_ / "root/usr/bin");
    fs::copy_file(CRONITOR_EXEC_BIN, dir_ / "root/usr/bin/cronitor-exec");
    start_cron();
  }
  void TearDown() override {
    stop();
    stop_cron();
    fs::remove_all(dir_);
  }
  /// A stand-in for the cron daemon of the --root host: a process named "cron" (a copy of
  /// sleep) whose pid is in root/run/crond.pid, as Debian's cron writes it.
  void start_cron() {
    fs::create_directories(dir_ / "root/run");
    fs::copy_file("/bin/sleep", dir_ / "cron", fs::copy_options::overwrite_existing);
    // The pid file once the process is named "cron", as cron writes its own (else the agent may
    // look while the child still has the test's name and find no cron).
    cron_pid_ = spawn_exec((dir_ / "cron").string(), {"cron", "600"});
    ASSERT_GT(cron_pid_, 0);
    std::ofstream(dir_ / "root/run/crond.pid") << cron_pid_ << "\n";
  }
  void stop_cron() {
    if (cron_pid_ > 0) {
      ::kill(cron_pid_, SIGKILL);
      ::waitpid(cron_pid_, nullptr, 0);
      cron_pid_ = -1;
    }
  }
  void stop() { agent_.stop(SIGTERM); }
  /// How many requests so far hold `text`.
  int count(HttpRecorder& r, const std::string& text) {
    int n = 0;
    for (const auto& q : r.requests()) n += q["body"].get<std::string>().find(text) != std::string::npos;
    return n;
  }
  /// Waits until every alert the agent made so far has been sent: a failure of a key of the test's
  /// own, alerted after them to the same target, has arrived.
  void alerts_settled(HttpRecorder& slack) {
    const std::string key = "barrier-" + std::to_string(++barriers_);
    auto r = run_command({kAgent, "ping", key, "--state", "fail", "--config", (dir_ / "agent.yaml").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_FALSE(slack.wait_for_body(key, 15s).is_null()) << log();
  }
  std::string backup_key() {
    const json st = status();
    for (const auto& m : st["monitors"])
      if (m["name"] == "backup-db") return m["key"];
    return {};
  }
  void start(const std::string& slack_url, const std::vector<std::string>& extra = {}) {
    std::ofstream(dir_ / "agent.yaml") << "state_dir: " << (dir_ / "state").string() << "\nsocket: " << socket_
                                       << "\nspool_dir: " << (dir_ / "spool").string()
                                       << "\nhostname: disc-host\ndiscovery: {root: " << (dir_ / "root").string()
                                       << ", crontabs: true, systemd: false}\n"
                                       << "defaults:\n  notify: [\"slack:" << slack_url << "\"]\n";
    ASSERT_TRUE(agent_.start((dir_ / "agent.yaml").string(), socket_, extra)) << log();
  }
  json status() {
    auto r = run_command({kAgent, "status", "--json", "--config", (dir_ / "agent.yaml").string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }
  std::string log() const { return agent_.log(); }
  /// Sends one event as `uid` (a child process that setuid()s) and returns the agent's reply.
  std::string send_as(uid_t uid, const std::string& key, int64_t claimed_uid) {
    int p[2];
    EXPECT_EQ(::pipe(p), 0);
    pid_t child = ::fork();
    if (child == 0) {
      ::close(p[0]);
      if (::setgid(uid) != 0 || ::setuid(uid) != 0) ::_exit(2);
      cronitor::RunEvent e;
      e.key = key;
      e.run_id = "0e0e0e0e-0e0e-4e0e-8e0e-0e0e0e0e0e0e";
      e.state = cronitor::RunState::kRun;
      e.ts = cronitor::format_timestamp_ms(1795255382000);
      e.host = "h";
      e.pid = ::getpid();
      e.uid = claimed_uid;
      std::string line = cronitor::encode(e);
      int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
      sockaddr_un a{};
      a.sun_family = AF_UNIX;
      std::memcpy(a.sun_path, socket_.c_str(), socket_.size());
      std::string reply = "connect failed";
      if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
        (void)!::write(fd, line.data(), line.size());
        char buf[512];
        ssize_t n = ::read(fd, buf, sizeof buf);
        reply.assign(buf, n > 0 ? static_cast<size_t>(n) : 0);
      }
      (void)!::write(p[1], reply.data(), reply.size());
      ::_exit(0);
    }
    ::close(p[1]);
    std::string reply;
    char buf[512];
    ssize_t n;
    while ((n = ::read(p[0], buf, sizeof buf)) > 0) reply.append(buf, static_cast<size_t>(n));
    ::close(p[0]);
    ::waitpid(child, nullptr, 0);
    return reply;
  }

  fs::path dir_ = fs::temp_directory_path() / ("agent-disc-" + std::to_string(::getpid()) + "-" +
                                               ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::string socket_;
  AgentProcess agent_{kAgent, (dir_ / "daemon.log").string()};
  pid_t cron_pid_ = -1;
  int barriers_ = 0;
};

TEST_F(AgentDiscovery, DiscoveredJobIsMonitoredAndItsRemovalAlertsOnce) {
  HttpRecorder slack(kRecorder, dir_.string());
  start(slack.url("/s"));
  auto st = status();
  ASSERT_TRUE(st.is_object());
  json job;
  for (const auto& m : st["monitors"])
    if (m["name"] == "backup-db") job = m;
  ASSERT_TRUE(job.is_object()) << st.dump(2);
  EXPECT_EQ(job["source"], "/etc/cron.d/backup:3");
  EXPECT_EQ(job["schedule"], "*/5 * * * *");
  // auto_wrap: the job, new to the agent, now runs through cronitor-exec with its key; the
  // original is backed up.
  std::ifstream in(dir_ / "root/etc/cron.d/backup");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(text.find("cronitor-exec " + job["key"].get<std::string>() + " -- "), std::string::npos) << text;
  EXPECT_NE(text.find("/usr/bin/cronitor-exec " + job["key"].get<std::string>()), std::string::npos) << text;
  EXPECT_FALSE(fs::is_empty(dir_ / "state/backups"));
  fs::remove(dir_ / "root/etc/cron.d/backup");
  auto removed = slack.wait_for_body("backup-db was removed from /etc/cron.d/backup line 3", 10s);
  ASSERT_FALSE(removed.is_null()) << log();
  alerts_settled(slack);  // a second removal alert would have come before it
  int count = 0;
  for (const auto& r : slack.requests()) count += r["body"].get<std::string>().find("was removed") != std::string::npos;
  EXPECT_EQ(count, 1);
}

TEST_F(AgentDiscovery, ALatinOneCrontabIsShownAsValidUtf8AndItsLineKeepsItsBytes) {
  // An old crontab in Latin-1: cron runs it as bytes, so the agent must too. Invalid UTF-8 in
  // a name once reached nlohmann's dump() in the root daemon (an exception, the daemon ended)
  // and the hand-written state rows (unreadable at the next start).
  const std::string name = "Sicherung f\xfcr Kunden", command = "/usr/local/bin/sich\xe9rung --all";
  std::ofstream(dir_ / "root/etc/cron.d/latin") << "# Name: " << name << "\n0 3 * * * root " << command << "\n";
  HttpRecorder slack(kRecorder, dir_.string());
  start(slack.url("/s"));
  const std::string shown = "Sicherung f\xef\xbf\xbdr Kunden";  // U+FFFD for the byte 0xfc
  std::string key;
  json st = status();
  for (const auto& m : st["monitors"])
    if (m["name"] == shown) key = m["key"];
  ASSERT_FALSE(key.empty()) << st.dump(2, ' ', false, json::error_handler_t::replace);
  // auto_wrap rewrote the line around the command's own bytes.
  std::ifstream in(dir_ / "root/etc/cron.d/latin");
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(text.find("root /usr/bin/cronitor-exec " + key + " -- '" + command + "'\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# Name: " + name + "\n"), std::string::npos) << text;
  // A failure alerts with the name in valid UTF-8, and the daemon goes on.
  auto r = run_command(
      {kAgent, "ping", key, "--state", "fail", "--exit-code", "3", "--config", (dir_ / "agent.yaml").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(slack.wait_for_body(shown, 10s).is_null()) << log();
  ASSERT_EQ(::waitpid(agent_.pid(), nullptr, WNOHANG), 0) << "the daemon ended: " << log();
  // Its incident is in state.db, readable at the next start.
  stop();
  start(slack.url("/s"));
  st = status();
  json incident;
  for (const auto& m : st["monitors"])
    if (m["key"] == key) incident = m["incident"];
  ASSERT_TRUE(incident.is_object()) << st.dump(2, ' ', false, json::error_handler_t::replace) << log();
  EXPECT_EQ(incident["kind"], "failed");
  EXPECT_NE(incident["reason"].get<std::string>().find(shown), std::string::npos) << incident.dump();
}

TEST_F(AgentDiscovery, PeerCredentialsDecideWhoMayReport) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to send as another user";
  HttpRecorder slack(kRecorder, dir_.string());
  start(slack.url("/s"));
  std::string key;
  const json st = status();
  for (const auto& m : st["monitors"])
    if (m["name"] == "backup-db") key = m["key"];
  ASSERT_FALSE(key.empty());
  // nobody (65534) claiming to be root.
  EXPECT_EQ(send_as(65534, "anything", 0).rfind("err uid 0 does not match the sender's uid 65534", 0), 0u);
  // nobody reporting a job that runs as root.
  EXPECT_EQ(send_as(65534, key, 65534).rfind("err job", 0), 0u);
  // nobody reporting its own (unknown) key, and root reporting the root job: accepted.
  EXPECT_EQ(send_as(65534, "nobodys-job", 65534), "ok\n");
  EXPECT_EQ(send_as(0, key, 0), "ok\n");
}

TEST_F(AgentDiscovery, JobRemovedWhileTheAgentWasStoppedAlertsOnceAtStart) {
  HttpRecorder slack(kRecorder, dir_.string());
  start(slack.url("/s"));
  ASSERT_FALSE(backup_key().empty());
  stop();
  fs::remove(dir_ / "root/etc/cron.d/backup");
  start(slack.url("/s"));
  auto removed = slack.wait_for(
      [](const json& r) {
        const auto body = r["body"].get<std::string>();
        return body.find("backup-db was removed from /etc/cron.d/backup line 3") != std::string::npos &&
               body.find("while the agent was not running") != std::string::npos;
      },
      10s);
  ASSERT_FALSE(removed.is_null()) << log();
  // Known now: another restart says nothing more.
  stop();
  start(slack.url("/s"));
  EXPECT_TRUE(backup_key().empty()) << status().dump();
  alerts_settled(slack);  // a second removal alert would have come before it
  EXPECT_EQ(count(slack, "was removed"), 1) << log();
}

// Issue 17, item 6: a line that is not wrapped (a package file's, or auto_wrap off) has a key
// derived from its schedule and command. Editing its schedule is a change of that job: its state
// and runs go to the new key, and nothing says it was removed, nor at the next start.
TEST_F(AgentDiscovery, AnUnwrappedLineEditedInPlaceIsAChangeNotARemoval) {
  HttpRecorder slack(kRecorder, dir_.string());
  std::ofstream(dir_ / "agent.yaml") << "state_dir: " << (dir_ / "state").string() << "\nsocket: " << socket_
                                     << "\nspool_dir: " << (dir_ / "spool").string()
                                     << "\nhostname: disc-host\ndiscovery: {root: " << (dir_ / "root").string()
                                     << ", crontabs: true, systemd: false, auto_wrap: false}\n"
                                     << "defaults:\n  notify: [\"slack:" << slack.url("/s") << "\"]\n";
  ASSERT_TRUE(agent_.start((dir_ / "agent.yaml").string(), socket_)) << log();
  const std::string before = backup_key();
  ASSERT_FALSE(before.empty()) << status().dump();
  auto ping = run_command({kAgent, "ping", before, "--state", "complete", "--config", (dir_ / "agent.yaml").string()});
  ASSERT_EQ(ping.exit_code, 0) << ping.err;
  auto edit = [&](const std::string& schedule) {
    std::ofstream(dir_ / "root/etc/cron.d/backup") << "SHELL=/bin/sh\n# cronitor: grace=10m failure_tolerance=2\n"
                                                   << schedule << " root /usr/local/bin/backup-db --all\n";
  };
  edit("*/7 * * * *");
  ASSERT_TRUE(agent_.wait_for_log("was edited")) << log();
  const std::string after = backup_key();
  ASSERT_FALSE(after.empty());
  EXPECT_NE(after, before);
  auto h = run_command({kAgent, "history", after, "--json", "--config", (dir_ / "agent.yaml").string()});
  ASSERT_EQ(h.exit_code, 0) << h.err;
  EXPECT_EQ(json::parse(h.out).size(), 1u) << "the run before the edit goes with the job: " << h.out;
  // Restored: a change again; and a restart finds nothing removed.
  edit("*/5 * * * *");
  ASSERT_TRUE(wait_until([&] { return backup_key() == before; }, 10s)) << log();
  stop();
  ASSERT_TRUE(agent_.start((dir_ / "agent.yaml").string(), socket_)) << log();
  EXPECT_EQ(backup_key(), before);
  alerts_settled(slack);  // a removal alert would have come before it
  EXPECT_EQ(count(slack, "was removed"), 0) << log();
  EXPECT_EQ(occurrences(log(), "was edited"), 2u) << log();
}

TEST_F(AgentDiscovery, JobStillThereAfterRestartIsNotReportedRemoved) {
  HttpRecorder slack(kRecorder, dir_.string());
  start(slack.url("/s"));
  ASSERT_FALSE(backup_key().empty());
  stop();
  start(slack.url("/s"));
  ASSERT_FALSE(backup_key().empty());
  alerts_settled(slack);
  EXPECT_EQ(count(slack, "was removed"), 0) << log();
}

// The agent's delays (its look 10 s after cron's exit, every 5 s while cron is down) pass on its
// simulated clock as the test moves it (tests/support/simulated_clock.h); the exits are real.
TEST_F(AgentDiscovery, CronRestartIsNoOutageButCronGoneIsAlertedAndItsReturn) {
  HttpRecorder slack(kRecorder, dir_.string());
  start(slack.url("/s"), {simulated_clock_arg()});
  ASSERT_FALSE(backup_key().empty());
  auto logged = [&](const std::string& text) {
    const size_t before = occurrences(log(), text);
    return [this, text, before] { return occurrences(log(), text) > before; };
  };
  // A restart (stop, then a new daemon at once): the agent sees the exit through its pidfd,
  // looks again 10 s later, finds the new cron: no incident.
  auto exited = logged("exited; looking again in 10 s");
  stop_cron();
  start_cron();
  ASSERT_TRUE(wait_until(exited, 15s)) << log();
  auto back = logged("the cron daemon runs again, as pid " + std::to_string(cron_pid_));
  const auto confirmed = advance_until(socket_, back, 15s);
  ASSERT_TRUE(confirmed) << log();
  EXPECT_GE(*confirmed, 9s) << "looked again before the confirmation delay: " << log();
  EXPECT_EQ(count(slack, "cron daemon"), 0) << log();
  // Gone for good: alerted once it stays gone 10 s, with no cron job due (they are every 5 min).
  auto exited_again = logged("exited; looking again in 10 s");
  stop_cron();
  ASSERT_TRUE(wait_until(exited_again, 15s)) << log();
  auto down_told = logged("The cron daemon on disc-host is not running");
  const auto gone = advance_until(socket_, down_told, 15s);
  ASSERT_TRUE(gone) << log();
  EXPECT_GE(*gone, 9s) << "alerted before the confirmation delay: " << log();
  std::printf("cron daemon killed -> alerted after %lld s of simulated time\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(*gone).count()));
  auto down = slack.wait_for_body("The cron daemon on disc-host is not running", 15s);
  ASSERT_FALSE(down.is_null()) << log();
  EXPECT_NE(down["body"].get<std::string>().find("no live cron process behind"), std::string::npos) << down.dump();
  start_cron();
  // Looked for every 5 s while it is down.
  ASSERT_TRUE(advance_until(socket_, logged("The cron daemon on disc-host is running again"), 6s)) << log();
  auto up = slack.wait_for_body("The cron daemon on disc-host is running again", 15s);
  ASSERT_FALSE(up.is_null()) << log();
  EXPECT_EQ(count(slack, "is not running"), 1);
}

// Item 6 of issue 13: the host's zone changes under a running cron (a symlink
// root/etc/localtime, as timedatectl writes it). Jobs stay evaluated in the zone cron started
// with, one warning says so, and cron's restart switches them and ends the warning.
TEST_F(AgentDiscovery, ZoneChangedUnderRunningCronWarnsOnceUntilCronRestarts) {
  auto set_zone = [&](const std::string& zone) {
    const fs::path tmp = dir_ / "root/etc/.localtime.new";
    fs::remove(tmp);
    fs::create_symlink("/usr/share/zoneinfo/" + zone, tmp);
    fs::rename(tmp, dir_ / "root/etc/localtime");  // atomic, as timedatectl does
    std::ofstream(dir_ / "root/etc/timezone") << zone << "\n";
  };
  set_zone("Europe/Berlin");
  // Cron starts after the zone is set (a new daemon reads it anew).
  stop_cron();
  start_cron();
  std::ofstream(dir_ / "root/etc/cron.d/nightly") << "30 2 * * * root /usr/local/bin/nightly-report\n"
                                                  << "15 14 * * 1-5 root /usr/local/bin/nightly-report\n";
  HttpRecorder slack(kRecorder, dir_.string());
  start(slack.url("/s"), {simulated_clock_arg()});  // cron's restart is confirmed as the test moves it
  auto nightly = [&] {
    const json st = status();
    for (const auto& m : st["monitors"])
      if (m["name"] == "nightly-report") return m;
    return json();
  };
  json before = nightly();
  ASSERT_TRUE(before.is_object()) << status().dump(2);
  EXPECT_EQ(before["timezone"], "Europe/Berlin");
  // Item 7 on the side: the two lines are one job with both schedules.
  EXPECT_EQ(before["schedule"], "30 2 * * * + 15 14 * * 1-5");
  auto disc = run_command({kAgent, "discover", "--json", "--root", (dir_ / "root").string()});
  ASSERT_EQ(disc.exit_code, 0) << disc.err;
  int listed = 0;
  for (const auto& j : json::parse(disc.out))
    if (j["file"] == "/etc/cron.d/nightly") {
      ++listed;
      EXPECT_EQ(j["lines"], json::array({1, 2})) << j.dump();
      EXPECT_EQ(j["schedules"], json::array({"30 2 * * *", "15 14 * * 1-5"})) << j.dump();
    }
  EXPECT_EQ(listed, 1) << disc.out;

  set_zone("Europe/Lisbon");
  const std::string warning = "cron still runs jobs in Europe/Berlin; restart cron to apply Europe/Lisbon";
  auto warned = slack.wait_for_body(warning, 15s);
  ASSERT_FALSE(warned.is_null()) << log();
  EXPECT_NE(log().find(warning), std::string::npos) << log();
  EXPECT_EQ(nightly()["timezone"], "Europe/Berlin");  // what cron really uses
  EXPECT_EQ(nightly()["next_expected"], before["next_expected"]);
  // Written again (dpkg-reconfigure tzdata writes both files): no second warning (counted below,
  // after the restart, which the agent handles after this change).
  set_zone("Europe/Lisbon");

  // Restart cron: the new daemon reads Lisbon; the monitor follows and the warning ends.
  const size_t exits = occurrences(log(), "exited; looking again in 10 s");
  stop_cron();
  start_cron();
  ASSERT_TRUE(wait_until([&] { return occurrences(log(), "exited; looking again in 10 s") > exits; }, 15s)) << log();
  ASSERT_TRUE(advance_until(
      socket_, [&] { return log().find("cron runs jobs in Europe/Lisbon now") != std::string::npos; }, 15s))
      << log();
  auto cleared = slack.wait_for_body("cron runs jobs in Europe/Lisbon now", 15s);
  ASSERT_FALSE(cleared.is_null()) << log();
  ASSERT_TRUE(cronitor::testing::wait_until([&] { return nightly()["timezone"] == "Europe/Lisbon"; }, 10s))
      << status().dump(2);
  EXPECT_NE(nightly()["next_expected"], before["next_expected"]);
  EXPECT_EQ(count(slack, "cron still runs jobs in"), 1) << log();
}

}  // namespace
