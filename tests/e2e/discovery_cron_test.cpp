// The real Debian cron daemon runs lines that `wrap` rewrote: a line in /etc/cron.d and one in a
// user crontab (nobody's) go through cronitor-exec and give the same output as the same command
// unwrapped, run at the same start. The lines are @reboot lines, which cron starts as it starts
// (the schedule field is not what `wrap` rewrites, and a minutely line would wait up to a minute
// for cron's tick): a few seconds. Needs root and /usr/sbin/cron.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "discovery/auto_wrapper.h"
#include "discovery/scanner.h"

namespace cronitor::discovery {
namespace {

constexpr const char* kOrigFile = "/etc/cron.d/cronitor-disc-e2e-orig";
constexpr const char* kWrapFile = "/etc/cron.d/cronitor-disc-e2e-wrap";
constexpr const char* kUserSpool = "/var/spool/cron/crontabs/nobody";

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool pid_alive(const std::string& pidfile) {
  std::ifstream in(pidfile);
  long pid = 0;
  return (in >> pid) && pid > 0 && ::kill(static_cast<pid_t>(pid), 0) == 0;
}

// The job: output, stdin from cron's '%' part, "\%" and a quote; it exits 3.
std::string job(const std::string& out) {
  return "{ echo \"shell=$SHELL user=$(id -un) home=$HOME\"; cat; echo \"pct=\\% quote=it's\"; } > " + out +
         " 2>&1; exit 3%first stdin line%second \\% line";
}

// Everything the test starts or writes, undone in reverse whatever happens.
struct CronHarness {
  std::string dir;
  int log_fd = -1;
  bool own_dev_log = false;
  pid_t cron = -1;
  std::string syslog;

  ~CronHarness() {
    if (cron > 0) {
      ::kill(cron, SIGTERM);
      int st = 0;
      ::waitpid(cron, &st, 0);
    }
    std::error_code ec;
    std::filesystem::remove(kOrigFile, ec);
    std::filesystem::remove(kWrapFile, ec);
    if (std::filesystem::exists(kUserSpool)) {
      [[maybe_unused]] int rc = std::system("crontab -u nobody -r >/dev/null 2>&1");
    }
    std::filesystem::remove("/run/crond.pid", ec);
    std::filesystem::remove("/run/crond.reboot", ec);
    if (log_fd >= 0) ::close(log_fd);
    if (own_dev_log) std::filesystem::remove("/dev/log", ec);
    if (!dir.empty()) std::filesystem::remove_all(dir, ec);
  }

  void drain_syslog() {
    char buf[4096];
    for (ssize_t n; log_fd >= 0 && (n = ::recv(log_fd, buf, sizeof buf, MSG_DONTWAIT)) > 0;) {
      syslog.append(buf, static_cast<std::size_t>(n));
      syslog += '\n';
    }
  }
};

TEST(DiscoveryRealCron, WrappedLinesRunThroughTheWrapperWithTheSameOutput) {
  ASSERT_EQ(::geteuid(), 0u) << "needs root (writes /etc/cron.d, starts cron)";
  ASSERT_TRUE(std::filesystem::exists("/usr/sbin/cron")) << "install Debian's cron (REAL-COMPONENTS.md)";
  ASSERT_FALSE(pid_alive("/run/crond.pid")) << "a cron daemon already runs here";
  ASSERT_FALSE(std::filesystem::exists(kUserSpool)) << "nobody already has a crontab; not touching it";

  CronHarness h;
  char tmpl[] = "/tmp/cronitor-disc-e2e-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  h.dir = tmpl;
  ::chmod(h.dir.c_str(), 01777);  // nobody's job writes here
  // The wrapper where nobody can run it, at a plain path.
  const std::string exec = h.dir + "/cronitor-exec";
  std::filesystem::copy_file(CRONITOR_EXEC_PATH, exec);
  ::chmod(exec.c_str(), 0755);

  // A syslog sink: cron logs only through syslog(3).
  if (!std::filesystem::exists("/dev/log")) {
    h.log_fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, "/dev/log");
    ASSERT_EQ(::bind(h.log_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    h.own_dev_log = true;
    ::chmod("/dev/log", 0666);
  }

  // The wrappers report into this test's own folders, never to the host's agent or spool (cron
  // gives jobs only the crontab's environment, so the paths go in as environment lines).
  const std::string spool = h.dir + "/spool";
  ::mkdir(spool.c_str(), 01733);
  ::chmod(spool.c_str(), 01733);
  const std::string report_env = "CRONITOR_SOCKET=" + h.dir + "/agent.sock\nCRONITOR_SPOOL=" + spool + "\n";
  const std::string env = "SHELL=/bin/sh\nMAILTO=\"\"\n" + report_env;
  {
    std::ofstream(kOrigFile) << env << "@reboot root " << job(h.dir + "/sys-orig.out") << "\n"
                             << "@reboot nobody " << job(h.dir + "/user-orig.out") << "\n";
    std::ofstream(kWrapFile) << env << "@reboot root " << job(h.dir + "/sys-wrap.out") << "\n";
    ::chmod(kOrigFile, 0644);
    ::chmod(kWrapFile, 0644);
    FILE* p = ::popen("crontab -u nobody -", "w");
    ASSERT_NE(p, nullptr);
    const std::string user = "MAILTO=\"\"\n" + report_env + "@reboot " + job(h.dir + "/user-wrap.out") + "\n";
    std::fwrite(user.data(), 1, user.size(), p);
    ASSERT_EQ(::pclose(p), 0);
  }
  // Wrap through the product's own path, on the real host.
  const DiskRoot root("");
  WrapOptions o;
  o.exec_path = exec;
  o.backup_dir = h.dir + "/backups";
  o.files = {kWrapFile, kUserSpool};
  const WrapReport r = run_wrap(root, o);
  for (const auto& w : r.warnings) ADD_FAILURE() << w.to_string();
  ASSERT_EQ(r.lines, 2);
  ASSERT_NE(slurp(kWrapFile).find(exec + " "), std::string::npos);
  ASSERT_NE(slurp(kUserSpool).find(exec + " "), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat(kUserSpool, &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  {
    Scanner s(root);
    s.scan();
    int wrapped = 0;
    for (const Job* j : s.jobs()) wrapped += j->wrapped && (j->file == kWrapFile || j->file == kUserSpool);
    EXPECT_EQ(wrapped, 2);
  }

  std::error_code ec;
  std::filesystem::remove("/run/crond.reboot", ec);  // @reboot runs at this start
  h.cron = ::fork();
  if (h.cron == 0) {
    const int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    ::execl("/usr/sbin/cron", "cron", "-f", "-L", "15", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ASSERT_GT(h.cron, 0);

  // cron starts every @reboot job as it starts.
  const char* outs[] = {"sys-orig.out", "sys-wrap.out", "user-orig.out", "user-wrap.out"};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  auto all_done = [&] {
    for (const char* o : outs) {
      const std::string s = slurp(h.dir + "/" + o);
      if (s.find("pct=") == std::string::npos) return false;
    }
    return true;
  };
  while (!all_done() && std::chrono::steady_clock::now() < deadline) {
    h.drain_syslog();
    int st = 0;
    ASSERT_EQ(::waitpid(h.cron, &st, WNOHANG), 0) << "cron exited";
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // polling with a deadline
  }
  ASSERT_TRUE(all_done()) << "cron did not run every job within 30 s; syslog:\n" << h.syslog;
  // Let the exit statuses reach the log.
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
       std::chrono::steady_clock::now() < until;) {
    h.drain_syslog();
    std::size_t failed = 0;
    for (std::size_t p = 0; (p = h.syslog.find("failed with exit status 3", p)) != std::string::npos; ++p) ++failed;
    if (failed >= 4 || h.log_fd < 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }

  const std::string sys_orig = slurp(h.dir + "/sys-orig.out");
  EXPECT_EQ(sys_orig.rfind("shell=/bin/sh user=root home=/root\nfirst stdin line\nsecond % line", 0), 0u) << sys_orig;
  EXPECT_NE(sys_orig.find("pct=% quote=it's\n"), std::string::npos) << sys_orig;
  EXPECT_EQ(slurp(h.dir + "/sys-wrap.out"), sys_orig);
  const std::string user_orig = slurp(h.dir + "/user-orig.out");
  EXPECT_NE(user_orig.find("user=nobody"), std::string::npos);
  EXPECT_EQ(slurp(h.dir + "/user-wrap.out"), user_orig);
  // Both wrapped runs reported, into this test's spool (no agent listens on its socket): one file per run.
  size_t spooled = 0;
  for (const auto& e : std::filesystem::directory_iterator(spool)) spooled += e.path().extension() == ".jsonl";
  EXPECT_GE(spooled, 2u) << "each wrapped run spools its events into the test's own folder";
  if (h.log_fd >= 0) {
    EXPECT_NE(h.syslog.find("] " + exec + " "), std::string::npos) << h.syslog;  // "CMD ([pid] EXEC KEY -- ...)"
    std::size_t failed = 0;
    for (std::size_t p = 0; (p = h.syslog.find("failed with exit status 3", p)) != std::string::npos; ++p) ++failed;
    EXPECT_EQ(failed, 4u) << "every job, wrapped or not, exits 3:\n" << h.syslog;
  }
}

}  // namespace
}  // namespace cronitor::discovery
