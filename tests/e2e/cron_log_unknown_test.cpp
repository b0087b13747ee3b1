// Issue 17 item 5, the real daemon: a job of a package's file is seen only in cron's log, and cron
// logs at its default -L 1 (a stand-in cron process without -L, as Debian 12 starts it). A CMD
// line with no END is a run of unknown outcome in `status` and `history`, text and JSON, never
// "ok, exit 0, 0 ms"; `status` and `discover` say that this job's failures are not seen, and
// how to see them. No real cron is needed: the test writes cron's line to the log file the
// agent follows.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/agent_process.h"
#include "tests/support/daemon_test.h"
#include "tests/support/subprocess.h"

namespace {

using namespace cronitor::testing;

const std::string kCommand = "/usr/local/sbin/pkgjob-unknown --nightly";

class CronLogUnknown : public DaemonTest {
 protected:
  CronLogUnknown() : DaemonTest("cronlog-unknown") {}
  void SetUp() override {
    fs::create_directories(root_ / "etc/cron.d");
    fs::create_directories(root_ / "var/lib/dpkg/info");
    fs::create_directories(root_ / "run");
    std::ofstream(root_ / "etc/cron.d/pkgjob") << "SHELL=/bin/sh\n17 3 * * * root " << kCommand << "\n";
    fs::permissions(root_ / "etc/cron.d/pkgjob",
                    fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
    std::ofstream(root_ / "var/lib/dpkg/info/fakepkg.list") << "/etc/cron.d\n/etc/cron.d/pkgjob\n";
    start_cron({});
    std::ofstream{syslog_};  // followed from its end: it exists before the agent starts
  }
  void TearDown() override {
    DaemonTest::TearDown();
    stop_cron();
  }
  /// The --root host's cron: a process named "cron" (a copy of sh waiting in a loop, in a process
  /// group of its own) with `args` on its command line, its pid in crond.pid.
  void start_cron(const std::vector<std::string>& args) {
    // A folder of its own each time: the last stand-in's forked shell may still hold its copy
    // while it dies (ETXTBSY on an overwrite), and the process must still be named "cron".
    const fs::path where = dir_ / ("cron-" + std::to_string(++crons_));
    fs::create_directories(where);
    fs::copy_file("/bin/sh", where / "cron");
    std::vector<std::string> argv = {"cron", "-c", "while :; do sleep 1; done"};
    argv.insert(argv.end(), args.begin(), args.end());  // $0, $1...: the shell never reads them
    // The pid file once the process is named "cron", as cron writes its own.
    cron_ = spawn_exec((where / "cron").string(), argv, [] { ::setpgid(0, 0); });
    ASSERT_GT(cron_, 0);
    std::ofstream(root_ / "run/crond.pid") << cron_ << "\n";
  }
  void stop_cron() {
    if (cron_ <= 0) return;
    ::kill(-cron_, SIGKILL);
    ::waitpid(cron_, nullptr, 0);
    cron_ = -1;
  }
  /// The folder's own paths, discovery on the --root copy and cron's log in `syslog_`.
  std::string agent_config() const {
    return "state_dir: " + (dir_ / "state").string() + "\nsocket: " + socket() + "\nspool_dir: " + box_.spool() +
           "\nhostname: unknown-host\nobserve: off\ndiscovery: {root: " + root_.string() +
           ", systemd: false, cron_log: " + syslog_.string() + "}\n";
  }
  json status() {
    auto r = run_command({kAgent, "status", "--json", "--config", config()});
    return json::parse(r.out, nullptr, false);
  }
  json job(const json& st) {
    if (st.is_object())
      for (const auto& m : st["monitors"])
        if (m["source"] == "/etc/cron.d/pkgjob:2") return m;
    return {};
  }

  const fs::path root_ = dir_ / "root";
  const fs::path syslog_ = dir_ / "syslog";
  pid_t cron_ = -1;
  int crons_ = 0;  // stand-ins started
};

TEST_F(CronLogUnknown, AStartWithoutEndIsOutcomeUnknownAndItsFailuresAreSaidUnseen) {
  std::ofstream(config()) << agent_config();
  ASSERT_TRUE(daemon_.start(config(), socket())) << daemon_.log();
  json st = status();
  json m = job(st);
  ASSERT_TRUE(m.is_object()) << st.dump(2) << daemon_.log();
  ASSERT_EQ(m["reported_by"], "cron log") << m.dump(2);
  const std::string unseen = m.value("failures_unseen", json()).is_string() ? m["failures_unseen"] : json("");
  EXPECT_TRUE(has(unseen, "-L 1, cron's command line (pid " + std::to_string(cron_) + ")")) << m.dump(2);
  const std::string key = m["key"];

  // cron at -L 1 logs the start, and nothing more.
  std::ofstream(syslog_, std::ios::app) << "2026-12-06T03:17:01.123456+00:00 host CRON[4242]: (root) CMD (" << kCommand
                                        << ")\n";
  const bool seen = wait_until(
      [&] {
        m = job(status());
        return m.is_object() && m["last_run"].is_object();
      },
      10s);
  ASSERT_TRUE(seen) << m.dump(2) << daemon_.log();
  EXPECT_EQ(m["state"], "unknown") << m.dump(2);
  EXPECT_EQ(m["last_run"]["status"], "unknown") << m.dump(2);
  EXPECT_TRUE(m["last_run"]["exit_code"].is_null()) << m.dump(2);
  EXPECT_TRUE(m["last_run"]["duration_ms"].is_null()) << m.dump(2);
  EXPECT_TRUE(m["open_run"].is_null()) << m.dump(2);

  auto text = run_command({kAgent, "status", "--config", config()});
  EXPECT_TRUE(has(text.out, "outcome unknown")) << text.out;
  EXPECT_TRUE(has(text.out, "failures not seen for " + key + ": cron logs only the start of jobs")) << text.out;
  EXPECT_TRUE(has(text.out, "EXTRA_OPTS='-L 15' in /etc/default/cron")) << text.out;

  auto hist = run_command({kAgent, "history", key, "--json", "--config", config()});
  ASSERT_EQ(hist.exit_code, 0) << hist.err;
  const json runs = json::parse(hist.out, nullptr, false);
  ASSERT_TRUE(runs.is_array() && runs.size() == 1u) << hist.out;
  EXPECT_EQ(runs[0]["status"], "unknown");
  EXPECT_TRUE(runs[0]["exit_code"].is_null()) << hist.out;
  EXPECT_TRUE(runs[0]["duration_ms"].is_null()) << hist.out;
  auto hist_text = run_command({kAgent, "history", key, "--config", config()});
  EXPECT_TRUE(has(hist_text.out, "outcome unknown")) << hist_text.out;
  EXPECT_FALSE(has(hist_text.out, " ok ")) << hist_text.out;

  // discover says it too, for this job, with the fix.
  auto disc = run_command({kAgent, "discover", "--root", root_.string(), "--json"});
  const json jobs = json::parse(disc.out, nullptr, false);
  ASSERT_TRUE(jobs.is_array()) << disc.out << disc.err;
  bool found = false;
  for (const auto& j : jobs)
    if (j["file"] == "/etc/cron.d/pkgjob") {
      found = true;
      EXPECT_TRUE(j.value("failures_unseen", json()).is_string() &&
                  has(j["failures_unseen"].get<std::string>(), "wrap --package-files"))
          << j.dump(2);
    }
  EXPECT_TRUE(found) << disc.out;
  auto disc_text = run_command({kAgent, "discover", "--root", root_.string()});
  EXPECT_TRUE(has(disc_text.out, "observed from cron's log (package fakepkg), failures not seen")) << disc_text.out;

  // The agent stopped: state.db says the same.
  daemon_.stop(SIGTERM);
  auto stopped = run_command({kAgent, "history", key, "--config", config()});
  EXPECT_TRUE(has(stopped.out, "outcome unknown")) << stopped.out << stopped.err;
  auto stopped_status = run_command({kAgent, "status", "--json", "--config", config()});
  EXPECT_EQ(job(json::parse(stopped_status.out, nullptr, false))["state"], "unknown") << stopped_status.out;
}

// With cron logging ends (-L 15 in its command line) nothing is said unseen: the job's runs keep
// their real outcome (END and "grandchild failed" lines, tests/e2e/cron_log_cron_test.cpp).
TEST_F(CronLogUnknown, NothingIsSaidUnseenWhenCronLogsEnds) {
  stop_cron();  // the stand-in without -L goes; one with -L 15 takes its place
  start_cron({"-L", "15"});
  std::ofstream(config()) << agent_config();
  ASSERT_TRUE(daemon_.start(config(), socket())) << daemon_.log();
  const json m = job(status());
  ASSERT_EQ(m["reported_by"], "cron log") << m.dump(2);
  ASSERT_TRUE(m.contains("failures_unseen")) << m.dump(2);
  EXPECT_TRUE(m["failures_unseen"].is_null()) << m.dump(2);
}

}  // namespace
