// The fork storm of issue 21's Proof: the running daemon with `observe: auto` beside the real
// Debian cron (tests/support/proc_cron_test.h), while an unprivileged user's loops start short
// processes as fast as two cores allow (about 20,000 a second here) from before cron's minute
// until after its jobs ended. Each run of the minute is seen with its exit code (exit 4 alerted,
// exit 0 ok) or, where the kernel dropped events, ends as "outcome unknown" with one warning: never
// a false failure or a false miss. Then the agent is stopped (SIGSTOP) until the kernel drops
// events for its full queue, and a held job ends meanwhile: its end is lost for sure, and the run
// must end as "outcome unknown" with one warning and no alert, the loss counted in `status`.
// `status` answers in the storm. Prints the storm's rate, the agent's CPU, ENOBUFS gaps and runs.
// Needs root and /usr/sbin/cron; about one to two minutes (cron starts jobs at second :01). Run
// it under `flock /work/.locks/cron` by hand.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <vector>

#include "tests/support/http_recorder.h"
#include "tests/support/proc_cron_test.h"
#include "tests/support/temp_user.h"

namespace {

using namespace cronitor::testing;
using Clock = std::chrono::steady_clock;

const std::string kFail = "sleep 2; exit 4 # cronitor-storm-e2e-fail";
const std::string kOk = "sleep 2 # cronitor-storm-e2e-ok";

// A short process: vfork (the fastest start a loop has) and _exit. The child never returns here.
[[gnu::noinline]] pid_t spawn_short() {
  const pid_t p = ::vfork();
  if (p == 0) ::_exit(0);
  return p;
}

// `loops` processes of `user` starting short processes until `limit` passed (each loop ends then
// by itself) or stop() killed them by their pids. started() counts them, in shared memory.
class ForkStorm {
 public:
  ForkStorm(const TempUser& user, int loops, std::chrono::seconds limit) {
    void* m = ::mmap(nullptr, sizeof(std::atomic<uint64_t>), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return;
    count_ = new (m) std::atomic<uint64_t>(0);
    const auto until = Clock::now() + limit;
    for (int i = 0; i < loops; ++i) {
      const pid_t pid = ::fork();
      if (pid == 0) {
        user.become();
        while (Clock::now() < until)
          for (int j = 0; j < 256; ++j) {
            const pid_t p = spawn_short();
            if (p > 0) ::waitpid(p, nullptr, 0);
            count_->fetch_add(1, std::memory_order_relaxed);
          }
        ::_exit(0);
      }
      if (pid > 0) pids_.push_back(pid);
    }
  }
  ~ForkStorm() {
    stop();
    if (count_) ::munmap(count_, sizeof *count_);
  }
  ForkStorm(const ForkStorm&) = delete;
  ForkStorm& operator=(const ForkStorm&) = delete;
  bool running() const { return count_ && !pids_.empty(); }
  uint64_t started() const { return count_ ? count_->load() : 0; }
  void stop() {
    for (pid_t p : pids_) ::kill(p, SIGKILL);
    for (pid_t p : pids_) ::waitpid(p, nullptr, 0);
    pids_.clear();
  }

 private:
  std::atomic<uint64_t>* count_ = nullptr;
  std::vector<pid_t> pids_;
};

// utime + stime of `pid`, in clock ticks.
uint64_t cpu_ticks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), {});
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));  // fields from the 3rd (state) on
  std::string field;
  uint64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return utime + stime;
}

// The start of process `pid` (/proc/PID/stat field 22), 0 when it is gone or a zombie.
uint64_t start_ticks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), {});
  if (stat.empty()) return 0;
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string field;
  for (int i = 3; rest >> field; ++i) {
    if (i == 3 && field == "Z") return 0;
    if (i == 22) return std::stoull(field);
  }
  return 0;
}

// Events the kernel could not queue for `pid`'s process events socket (netlink protocol 11):
// the Drops of /proc/net/netlink for the socket among its open files.
std::optional<uint64_t> connector_drops(pid_t pid) {
  std::set<std::string> inodes;
  std::error_code ec;
  for (const auto& fd : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    const std::string link = fs::read_symlink(fd.path(), ec).string();
    if (link.starts_with("socket:[")) inodes.insert(link.substr(8, link.size() - 9));
  }
  std::ifstream in("/proc/net/netlink");
  std::string line;
  std::getline(in, line);  // sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string sk, eth, port, groups, rmem, wmem, dump, locks, drops, inode;
    if (f >> sk >> eth >> port >> groups >> rmem >> wmem >> dump >> locks >> drops >> inode && eth == "11" &&
        inodes.contains(inode))
      return std::stoull(drops);
  }
  return std::nullopt;
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

class ProcEventsStorm : public ProcCronTest {
 protected:
  ProcEventsStorm() : ProcCronTest("procstorm-e2e") {}
  void TearDown() override {
    if (agent_.pid() > 0) ::kill(agent_.pid(), SIGCONT);  // a failed assertion may leave it stopped
    ProcCronTest::TearDown();
  }
  // status, timed: the longest answer is kept.
  json timed_status() {
    const auto t0 = Clock::now();
    json st = status();
    slowest_status_ = std::max(slowest_status_, std::chrono::duration<double>(Clock::now() - t0).count());
    return st;
  }
  double slowest_status_ = 0;
};

TEST_F(ProcEventsStorm, EveryRunInAForkStormIsSeenWithItsExitCodeOrItsLossIsTold) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (the connector, mount namespaces, cron, a user)";
  ASSERT_TRUE(fs::exists("/usr/sbin/cron")) << "install Debian's cron (REAL-COMPONENTS.md)";
  ASSERT_TRUE(fs::is_directory("/etc/cron.hourly") && fs::is_directory("/etc/cron.d"));
  ASSERT_FALSE(pid_alive("/run/crond.pid")) << "a cron daemon already runs here";
  fs::remove_all(dir_);
  const fs::path root = dir_ / "root";
  for (const char* d : {"etc/cron.d", "etc/cron.hourly", "run"}) fs::create_directories(root / d);
  // The held job waits for the test's file, then exits 6: its end comes while the agent is stopped.
  const fs::path held_pid = dir_ / "held.pid", release = dir_ / "release";
  const std::string held = "echo $$ > " + held_pid.string() + "; while [ ! -e " + release.string() +
                           " ]; do sleep 0.2; done; exit 6 # cronitor-storm-e2e-held";
  std::ofstream(root / "etc/crontab") << "SHELL=/bin/sh\nMAILTO=\"\"\n";
  std::ofstream(root / "etc/cron.d/procstorm") << "SHELL=/bin/sh\nMAILTO=\"\"\n* * * * * root " << kFail
                                               << "\n* * * * * root " << kOk << "\n* * * * * root " << held << "\n";
  for (const auto& p : {root / "etc/crontab", root / "etc/cron.d/procstorm"})
    fs::permissions(p, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
  const std::string kFailAt = "/etc/cron.d/procstorm:3", kOkAt = "/etc/cron.d/procstorm:4",
                    kHeldAt = "/etc/cron.d/procstorm:5";

  HttpRecorder slack(kRecorder, dir_.string());
  ASSERT_GT(slack.port(), 0);
  ASSERT_NO_FATAL_FAILURE(start_cron_and_agent(
      root, "procstorm-host", "off",
      "notify:\n  ops: [\"slack:" + slack.url("/services/T/B/X") + "\"]\ndefaults:\n  notify: [ops]\n"));
  json st = status();
  ASSERT_EQ(monitor(st, kHeldAt)["reported_by"], "process events") << st.dump(2);
  const std::string held_key = monitor(st, kHeldAt)["key"];

  // The storm starts a few seconds before cron's minute (cron starts its jobs at second :01).
  ASSERT_TRUE(wait_until(
      [] {
        const std::time_t t = std::time(nullptr);
        const int sec = std::gmtime(&t)->tm_sec;
        return sec >= 53 && sec <= 57;
      },
      65s));
  const char* prefix = std::getenv("CRONITOR_TEST_USER_PREFIX");  // names of one's own on a shared host
  TempUser user(std::string(prefix ? prefix : "") + "procstorm");
  const json before = status()["process_events"];
  const uint64_t cpu0 = cpu_ticks(agent_.pid());
  const auto t0 = Clock::now();
  ForkStorm storm(user, 2, 60s);
  ASSERT_TRUE(storm.running());

  // In the storm: the failing and the healthy line end, the held one is seen running.
  auto ended = [&](const std::string& at) { return monitor(st, at)["last_run"].is_object(); };
  const bool seen = wait_until(
      [&] {
        st = timed_status();
        return ended(kFailAt) && ended(kOkAt) && monitor(st, kHeldAt)["open_run"].is_object() && fs::exists(held_pid);
      },
      40s);
  ASSERT_TRUE(seen) << st.dump(2) << "\nagent:\n" << agent_.log();
  const json in_storm = st["process_events"];
  const uint64_t cpu1 = cpu_ticks(agent_.pid());
  const double storm_s = std::chrono::duration<double>(Clock::now() - t0).count();
  const double rate = static_cast<double>(storm.started()) / storm_s;
  const uint64_t gaps_in_storm = in_storm["losses"].get<uint64_t>() - before["losses"].get<uint64_t>();

  // Stopped, the agent reads nothing: the kernel drops events once its queue is full; the held job
  // ends then, and its end is dropped with them.
  pid_t held_shell = 0;
  std::ifstream(held_pid) >> held_shell;
  ASSERT_GT(held_shell, 0);
  const uint64_t held_start = start_ticks(held_shell);
  ASSERT_GT(held_start, 0u);
  ASSERT_EQ(::kill(agent_.pid(), SIGSTOP), 0);
  const auto drops0 = connector_drops(agent_.pid());
  ASSERT_TRUE(drops0.has_value()) << "no process events socket of the agent in /proc/net/netlink";
  ASSERT_TRUE(wait_until([&] { return connector_drops(agent_.pid()).value_or(0) > *drops0; }, 20s))
      << "the kernel dropped nothing for a stopped agent in a storm";
  std::ofstream(release).close();
  ASSERT_TRUE(wait_until([&] { return start_ticks(held_shell) != held_start; }, 10s)) << "the held job did not end";
  const uint64_t drops1 = connector_drops(agent_.pid()).value_or(0);
  ASSERT_TRUE(wait_until([&] { return connector_drops(agent_.pid()).value_or(0) > drops1; }, 10s));
  ASSERT_EQ(::kill(agent_.pid(), SIGCONT), 0);
  storm.stop();

  const bool told = wait_until(
      [&] {
        st = timed_status();
        return monitor(st, kHeldAt)["state"] == "unknown";
      },
      30s);
  ASSERT_TRUE(told) << st.dump(2) << "\nagent:\n" << agent_.log();
  const json proc = st["process_events"];
  const json fail = monitor(st, kFailAt), ok = monitor(st, kOkAt), hold = monitor(st, kHeldAt);
  const std::string log = agent_.log();

  // The held run: its loss is told, once, and nothing is alerted.
  EXPECT_TRUE(hold["last_run"]["exit_code"].is_null()) << hold.dump(2);
  EXPECT_TRUE(hold["incident"].is_null()) << hold.dump(2);
  EXPECT_EQ(occurrences(log, held_key + "'s run (pid"), 1u) << log;
  EXPECT_EQ(occurrences(log, "ends with its outcome unknown (its end was not seen)"), 1u) << log;
  EXPECT_GT(proc["losses"].get<uint64_t>(), in_storm["losses"].get<uint64_t>()) << proc.dump();
  EXPECT_GE(proc["ended_unknown"].get<uint64_t>(), 1u) << proc.dump();

  // The lines that ended in the storm: their exit codes, or (events were lost) outcome unknown.
  for (const auto& [m, code] : {std::pair{fail, 4}, std::pair{ok, 0}}) {
    EXPECT_FALSE(m["incident"].is_object() && m["incident"]["kind"] == "missed") << m.dump(2);
    if (gaps_in_storm > 0 && m["state"] == "unknown") {
      EXPECT_EQ(occurrences(log, "the end of " + m["key"].get<std::string>() + "'s run"), 1u) << log;
      continue;
    }
    EXPECT_EQ(m["last_run"]["exit_code"], code) << m.dump(2);
    EXPECT_EQ(m["state"], code == 0 ? "ok" : "failing") << m.dump(2);
  }
  // Slack heard of the failure with its code, and of nothing else.
  if (fail["state"] == "failing") {
    const json alert = slack.wait_for(
        [](const json& r) { return r.value("body", std::string()).find("storm-e2e-fail") != std::string::npos; }, 20s);
    EXPECT_FALSE(alert.is_null()) << log;
  }
  for (const auto& r : slack.requests()) {
    const std::string body = r.value("body", std::string());
    EXPECT_EQ(body.find("storm-e2e-ok"), std::string::npos) << body;
    EXPECT_EQ(body.find("storm-e2e-held"), std::string::npos) << body;
  }
  // Responsive in the storm: every status answered, none slowly.
  EXPECT_LT(slowest_status_, 5.0);

  const double cpu_s = static_cast<double>(cpu1 - cpu0) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  const uint64_t events = in_storm["events"].get<uint64_t>() - before["events"].get<uint64_t>();
  std::printf(
      "fork storm: %.0f processes/s for %.1f s; agent %.1f%% of one core, %.0f events/s, %.0f ns CPU per event, "
      "%llu ENOBUFS gaps in the storm (%llu in all, with the stopped agent's), runs ended unknown %llu, slowest "
      "status %.0f ms; load %s\n",
      rate, storm_s, 100.0 * cpu_s / storm_s, static_cast<double>(events) / storm_s,
      events ? cpu_s * 1e9 / static_cast<double>(events) : 0.0, static_cast<unsigned long long>(gaps_in_storm),
      static_cast<unsigned long long>(proc["losses"].get<uint64_t>()),
      static_cast<unsigned long long>(proc["ended_unknown"].get<uint64_t>()), slowest_status_ * 1000,
      load_average().c_str());
  RecordProperty("storm_processes_per_s", static_cast<int>(rate));
  RecordProperty("enobufs_gaps_in_storm", static_cast<int>(gaps_in_storm));
}

}  // namespace
