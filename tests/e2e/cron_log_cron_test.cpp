// Jobs in a file a package owns are not wrapped but observed from the real Debian cron's log:
// the agent (on a --root copy holding the same lines and a dpkg list that owns the file) follows
// a syslog file fed by a /dev/log sink, and the runs cron starts on this host reach its status
// with their outcome (-L 15: END and "grandchild failed"). A line in an admin's file stays
// unwrapped and unreported, because no root-owned wrapper is installed in the copy.
// Needs root and /usr/sbin/cron; about one minute (cron starts jobs at second :01).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/agent_process.h"
#include "tests/support/daemon_test.h"
#include "tests/support/subprocess.h"
#include "tests/support/syslog_sink.h"

namespace {

using namespace cronitor::testing;

constexpr const char* kHostFile = "/etc/cron.d/cronitor-cronlog-e2e";
// Unique commands: only this test's lines match them.
const std::string kOk = "/bin/true cronitor-cronlog-e2e-ok";
const std::string kFail = "/bin/sh -c 'exit 3' # cronitor-cronlog-e2e-fail";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

bool pid_alive(const std::string& pidfile) {
  std::ifstream in(pidfile);
  long pid = 0;
  return (in >> pid) && pid > 0 && ::kill(static_cast<pid_t>(pid), 0) == 0;
}

class CronLogE2E : public ::testing::Test {
 protected:
  void TearDown() override {
    agent_.stop(SIGTERM);
    if (cron_ > 0) {
      ::kill(cron_, SIGTERM);
      ::waitpid(cron_, nullptr, 0);
    }
    std::error_code ec;
    fs::remove(kHostFile, ec);
    fs::remove("/run/crond.pid", ec);
    fs::remove("/run/crond.reboot", ec);
    sink_.reset();
    fs::remove_all(dir_, ec);
  }
  json status() {
    auto r = run_command({kAgent, "status", "--json", "--config", (dir_ / "agent.yaml").string()});
    return json::parse(r.out, nullptr, false);
  }
  json monitor(const json& st, const std::string& file_line) {
    if (!st.is_object()) return {};
    for (const auto& m : st["monitors"])
      if (m["source"] == file_line) return m;
    return {};
  }

  fs::path dir_ = fs::temp_directory_path() / ("cronitor-cronlog-" + std::to_string(::getpid()));
  std::unique_ptr<SyslogSink> sink_;
  AgentProcess agent_{kAgent, (dir_ / "daemon.log").string()};
  pid_t cron_ = -1;
};

TEST_F(CronLogE2E, PackageFileJobsAreObservedFromCronsLogAndNeverWrapped) {
  ASSERT_EQ(::geteuid(), 0u) << "needs root (writes /etc/cron.d, binds /dev/log, starts cron)";
  ASSERT_TRUE(fs::exists("/usr/sbin/cron")) << "install Debian's cron (REAL-COMPONENTS.md)";
  ASSERT_FALSE(pid_alive("/run/crond.pid")) << "a cron daemon already runs here";
  // A host with its own syslog daemon: cron's lines go there, not to this test's sink.
  if (fs::exists("/dev/log")) GTEST_SKIP() << "a syslog daemon owns /dev/log here";
  fs::remove_all(dir_);
  const fs::path root = dir_ / "root";
  fs::create_directories(root / "etc/cron.d");
  fs::create_directories(root / "var/lib/dpkg/info");
  fs::create_directories(root / "run");
  const std::string lines = "SHELL=/bin/sh\nMAILTO=\"\"\n* * * * * root " + kOk + "\n* * * * * root " + kFail + "\n";
  std::ofstream(root / "etc/cron.d/pkgjob") << lines;
  std::ofstream(root / "var/lib/dpkg/info/fakepkg.list") << "/etc/cron.d\n/etc/cron.d/pkgjob\n";
  std::ofstream(root / "etc/cron.d/adminjob") << "*/5 * * * * root /usr/local/bin/admin-job\n";
  const std::string admin_before = slurp(root / "etc/cron.d/adminjob");
  // The same lines on the host, for the real cron to run.
  std::ofstream(kHostFile) << lines;
  fs::permissions(kHostFile,
                  fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);

  sink_ = std::make_unique<SyslogSink>();
  ASSERT_TRUE(sink_->start((dir_ / "syslog").string()));
  cron_ = ::fork();
  if (cron_ == 0) {
    const int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    ::execl("/usr/sbin/cron", "cron", "-f", "-L", "15", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ASSERT_TRUE(wait_until([] { return pid_alive("/run/crond.pid"); }, 15s));
  fs::copy_file("/run/crond.pid", root / "run/crond.pid");  // the --root host's cron is this one

  std::ofstream(dir_ / "agent.yaml") << "state_dir: " << (dir_ / "state").string()
                                     << "\nsocket: " << (dir_ / "agent.sock").string()
                                     << "\nspool_dir: " << (dir_ / "spool").string() << "\nhostname: cronlog-host\n"
                                     << "observe: off\n"  // cron's log is the source under test
                                     << "discovery: {root: " << root.string()
                                     << ", systemd: false, cron_log: " << (dir_ / "syslog").string() << "}\n";
  ASSERT_TRUE(agent_.start((dir_ / "agent.yaml").string(), (dir_ / "agent.sock").string())) << agent_.log();

  // Before any run: the package's jobs are observed from cron's log, the admin's is unreported
  // and unwrapped because /usr/bin/cronitor-exec is not installed in the copy.
  json st = status();
  ASSERT_TRUE(st.is_object()) << agent_.log();
  EXPECT_EQ(monitor(st, "/etc/cron.d/pkgjob:3")["reported_by"], "cron log") << st.dump(2);
  EXPECT_EQ(monitor(st, "/etc/cron.d/adminjob:1")["state"], "unreported") << st.dump(2);
  EXPECT_TRUE(monitor(st, "/etc/cron.d/adminjob:1")["reported_by"].is_null());
  ASSERT_TRUE(st["wrap_refused"].is_string());
  EXPECT_NE(st["wrap_refused"].get<std::string>().find("/usr/bin/cronitor-exec"), std::string::npos);
  auto text = run_command({kAgent, "status", "--config", (dir_ / "agent.yaml").string()});
  EXPECT_NE(text.out.find("observed from cron's log"), std::string::npos) << text.out;

  // cron runs both at second :01 of the next minute: one ok, one failing with exit 3.
  const bool ran = wait_until(
      [&] {
        st = status();
        const json ok = monitor(st, "/etc/cron.d/pkgjob:3");
        const json bad = monitor(st, "/etc/cron.d/pkgjob:4");
        return ok.is_object() && bad.is_object() && ok["state"] == "ok" && bad["state"] == "failing";
      },
      100s);
  ASSERT_TRUE(ran) << st.dump(2) << "\nsyslog:\n" << slurp(dir_ / "syslog") << "\nagent:\n" << agent_.log();
  const json bad = monitor(st, "/etc/cron.d/pkgjob:4");
  EXPECT_EQ(bad["last_run"]["exit_code"], 3);
  EXPECT_EQ(bad["incident"]["kind"], "failed");
  EXPECT_EQ(monitor(st, "/etc/cron.d/pkgjob:3")["last_run"]["exit_code"], 0);
  // Nothing was rewritten: the package's file and the admin's (no safe wrapper) are as they were.
  EXPECT_EQ(slurp(root / "etc/cron.d/pkgjob"), lines);
  EXPECT_EQ(slurp(root / "etc/cron.d/adminjob"), admin_before);
  EXPECT_EQ(slurp(kHostFile), lines);
  EXPECT_EQ(monitor(st, "/etc/cron.d/adminjob:1")["state"], "unreported");
}

}  // namespace
