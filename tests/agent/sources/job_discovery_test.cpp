// JobDiscovery (agent/sources/job_discovery.h), built without the daemon: a root in a temporary
// folder, the part's own watches on a private loop, the daemon's hooks recorded. A burst of
// writes is one rescan (counted), a refused auto_wrap is said once, the zone files' writes and
// cron's zone reach the hooks.
#include "agent/sources/job_discovery.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/log_capture.h"
#include "tests/support/sd_loop.h"
#include "tests/support/test_dir.h"

namespace cronitor::agent {
namespace {

namespace fs = std::filesystem;

struct DiscoveryRootDir {
  fs::path path = cronitor::testing::test_dir("job-discovery");
  DiscoveryRootDir() {
    fs::remove_all(path);
    fs::create_directories(path / "etc/cron.d");
  }
  ~DiscoveryRootDir() { fs::remove_all(path); }
  void write(const std::string& rel, const std::string& text) const { std::ofstream(path / rel) << text; }
  std::string read(const std::string& rel) const {
    std::ifstream in(path / rel);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  Config config() const {
    Config c;
    c.discovery.root = path.string();
    c.discovery.systemd = false;
    c.discovery.auto_wrap = false;
    c.discovery.cron_log = "off";
    c.state_dir = (path / "state").string();
    return c;
  }
};

size_t times_in_log(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

struct DiscoveryHookCalls {
  int changed = 0;
  size_t added = 0;
  int zone_writes = 0;
  int refuse_calls = 0;
  JobDiscovery::Hooks hooks() {
    JobDiscovery::Hooks h;
    h.refuse_claims = [this](std::vector<DiscoveredJob>&) {
      ++refuse_calls;
      return std::vector<RefusedJob>{};
    };
    h.may_wrap = [](const discovery::Job&) { return true; };
    h.changed = [this](const discovery::Changes& ch) {
      ++changed;
      added += ch.added.size();
    };
    h.zone_files_changed = [this] { ++zone_writes; };
    return h;
  }
};

TEST(JobDiscovery, OffWhenNeitherCrontabsNorSystemdAreDiscovered) {
  DiscoveryRootDir root;
  Config c = root.config();
  c.discovery.crontabs = false;
  DiscoveryHookCalls rec;
  JobDiscovery d(rec.hooks());
  d.start(c);
  EXPECT_FALSE(d.on());
  EXPECT_EQ(d.root(), nullptr);
  std::vector<std::string> warnings;
  EXPECT_TRUE(d.rediscover(c, warnings).empty());
  EXPECT_EQ(rec.refuse_calls, 0);
  EXPECT_TRUE(d.follow_zone("Europe/Berlin").empty());
}

TEST(JobDiscovery, StartReadsTheRootAndRediscoverRefusesClaimsAndAppliesThePolicy) {
  DiscoveryRootDir root;
  root.write("etc/cron.d/backup", "0 2 * * * root /usr/local/bin/backup\n");
  DiscoveryHookCalls rec;
  JobDiscovery d(rec.hooks());
  const Config c = root.config();
  d.start(c);
  ASSERT_TRUE(d.on());
  std::vector<std::string> warnings;
  auto& jobs = d.rediscover(c, warnings);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(&jobs, &d.jobs());
  EXPECT_EQ(jobs[0].file, "/etc/cron.d/backup");
  EXPECT_EQ(rec.refuse_calls, 1);
  EXPECT_EQ(d.wrap_policy().refused, "auto_wrap is off");
}

TEST(JobDiscovery, ABurstOfWritesSettlesIntoOneRescanCounted) {
  DiscoveryRootDir root;
  DiscoveryHookCalls rec;
  JobDiscovery d(rec.hooks());
  const Config c = root.config();
  cronitor::testing::SdLoop loop;
  d.start(c);
  d.watch(loop.ev);
  EXPECT_FALSE(d.settling());
  for (const char* name : {"one", "two", "three"})
    root.write(std::string("etc/cron.d/") + name, "*/5 * * * * root /bin/true " + std::string(name) + "\n");
  ASSERT_TRUE(loop.run_until([&] { return rec.changed > 0; }));
  loop.dispatch_ready();
  EXPECT_EQ(rec.changed, 1);
  EXPECT_EQ(rec.added, 3u);
  EXPECT_EQ(d.rescans(), 1u);
  EXPECT_FALSE(d.settling());
  // The inventory holds them: the next rebuild finds them.
  std::vector<std::string> warnings;
  EXPECT_EQ(d.rediscover(c, warnings).size(), 3u);
}

TEST(JobDiscovery, ARefusedAutoWrapIsSaidOnceAndWritesNothing) {
  DiscoveryRootDir root;
  const std::string line = "0 3 * * * root /usr/local/bin/report\n";
  root.write("etc/cron.d/report", line);
  Config c = root.config();
  c.discovery.auto_wrap = true;
  c.discovery.wrapper_path = "/usr/bin/cronitor-exec";  // not under this root: refused
  DiscoveryHookCalls rec;
  JobDiscovery d(rec.hooks());
  d.start(c);
  std::vector<std::string> warnings;
  (void)d.rediscover(c, warnings);
  ASSERT_TRUE(d.wrap_policy().refused);
  std::ostringstream log;
  {
    cronitor::testing::LogCapture capture(log);
    d.auto_wrap(c, {"/etc/cron.d/report"});
    d.auto_wrap(c, {"/etc/cron.d/report"});
    (void)d.rediscover(c, warnings);  // the policy loaded afresh: still the same refusal
    d.auto_wrap(c, {"/etc/cron.d/report"});
  }
  EXPECT_EQ(times_in_log(log.str(), "auto_wrap: not wrapping any crontab line: wrapper_path /usr/bin/cronitor-exec"),
            1u)
      << log.str();
  EXPECT_EQ(root.read("etc/cron.d/report"), line);
}

TEST(JobDiscovery, TheZoneFilesReachTheHookAndCronsZoneRereadsTheJobsOnce) {
  DiscoveryRootDir root;
  root.write("etc/cron.d/noon", "0 12 * * * root /bin/true\n");
  DiscoveryHookCalls rec;
  JobDiscovery d(rec.hooks());
  const Config c = root.config();
  cronitor::testing::SdLoop loop;
  d.start(c);
  d.watch_zone(loop.ev, c);
  root.write("etc/timezone", "Europe/Berlin\n");
  ASSERT_TRUE(loop.run_until([&] { return rec.zone_writes > 0; }));
  loop.dispatch_ready();
  EXPECT_EQ(rec.zone_writes, 1);
  std::ostringstream log;
  discovery::Changes first, again;
  {
    cronitor::testing::LogCapture capture(log);
    first = d.follow_zone("Asia/Tokyo");
    again = d.follow_zone("Asia/Tokyo");
  }
  EXPECT_EQ(first.changed.size(), 1u);  // the same line, in another zone
  EXPECT_TRUE(again.empty());
  EXPECT_EQ(times_in_log(log.str(), "crontab jobs are evaluated in Asia/Tokyo"), 1u) << log.str();
}

}  // namespace
}  // namespace cronitor::agent
