// What one user's jobs may cost and show (agent/eval/user_limits.h): monitors per user crontab and
// for all users, root's lines never counted; users' own jobs told apart in alerts and metrics.
#include "agent/eval/user_limits.h"

#include <gtest/gtest.h>

namespace cronitor::agent {
namespace {

KeyClaim line_of(const std::string& user, int n, bool users_file = true) {
  const std::string file = users_file ? "/var/spool/cron/crontabs/" + user : "/etc/cron.d/" + user;
  return KeyClaim{user + "-" + std::to_string(n), file + ":" + std::to_string(n), user, users_file ? 1001 : 0,
                  users_file};
}

TEST(UserLimits, LinesPastTheLimitPerUserAreRefusedAndSaidOncePerFile) {
  std::vector<KeyClaim> claims;
  for (int i = 1; i <= 20000; ++i) claims.push_back(line_of("mallory", i));
  for (int i = 1; i <= 3; ++i) claims.push_back(line_of("alice", i));
  for (int i = 1; i <= 1000; ++i) claims.push_back(line_of("root", i, false));  // root's files: never counted
  const auto over = over_limit_claims(claims, {}, UserLimits{500, 5000});
  EXPECT_EQ(over.lines.size(), 19500u);
  EXPECT_FALSE(over.lines.contains(499));
  ASSERT_TRUE(over.lines.contains(500));
  EXPECT_EQ(over.lines.at(500),
            "key \"mallory-501\" of /var/spool/cron/crontabs/mallory:501 (mallory's crontab) is past the limit of 500 "
            "monitors per user crontab (discovery.max_monitors_per_user): this line is not monitored");
  for (size_t i = 20000; i < claims.size(); ++i) EXPECT_FALSE(over.lines.contains(i)) << i;
  ASSERT_EQ(over.files.size(), 1u);
  EXPECT_EQ(over.files.at("/var/spool/cron/crontabs/mallory"),
            "/var/spool/cron/crontabs/mallory (mallory's crontab): 19500 jobs are past the limit of 500 monitors per "
            "user crontab (discovery.max_monitors_per_user), from /var/spool/cron/crontabs/mallory:501 on: not "
            "monitored");
}

TEST(UserLimits, TheHostTotalBoundsAllUsersAndRefusedKeysDoNotCount) {
  std::vector<KeyClaim> claims;
  for (const char* u : {"a", "b", "c"})
    for (int i = 1; i <= 4; ++i) claims.push_back(line_of(u, i));
  // a's first line was refused for its key: it takes no place.
  const auto over = over_limit_claims(claims, {{0, "refused"}}, UserLimits{3, 7});
  // a: lines 2-4 kept (3), 0 past; b: 1-3 kept (6 in all), 4 past its own limit; c: 1 kept (7), 2-4 past the total.
  EXPECT_FALSE(over.lines.contains(0));
  EXPECT_TRUE(over.lines.contains(7));
  EXPECT_FALSE(over.lines.contains(8));
  for (size_t i = 9; i < 12; ++i) {
    ASSERT_TRUE(over.lines.contains(i)) << i;
    EXPECT_NE(over.lines.at(i).find("discovery.max_user_monitors"), std::string::npos);
  }
  EXPECT_EQ(over.files.size(), 2u);
  EXPECT_TRUE(over_limit_claims(claims, {}, UserLimits{0, 0}).lines.empty()) << "0: no limit";
}

TEST(UserLimits, LinesAddedAboveTheMonitoredOnesNeverPushThemOut) {
  // 3 lines monitored; she adds 3 more above them: the old ones keep their places.
  std::vector<KeyClaim> claims;
  for (int i = 1; i <= 6; ++i) claims.push_back(line_of("mallory", i));
  const std::unordered_map<std::string, int64_t> holders = {
      {"mallory-4", 1001}, {"mallory-5", 1001}, {"mallory-6", 1001}, {"mallory-1", 0}};  // mallory-1: root holds it
  const auto over = over_limit_claims(claims, {}, UserLimits{3, 0}, holders);
  EXPECT_EQ(over.lines.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(over.lines.contains(i)) << i;
  EXPECT_NE(over.files.begin()->second.find("from /var/spool/cron/crontabs/mallory:1 on"), std::string::npos)
      << over.files.begin()->second;
}

MonitorConfig job(const std::string& source, const std::string& user, int64_t uid) {
  MonitorConfig m;
  m.key = "backup";
  m.name = "nightly backup";
  m.source_file = source;
  m.source_line = source.empty() ? 0 : 3;
  m.user = user;
  m.uid = uid;
  return m;
}

TEST(UserLimits, AUsersOwnJobIsToldApartInAlertsAndMetrics) {
  const MonitorConfig roots = job("/etc/cron.d/backup", "root", 0);
  const MonitorConfig runs_as_alice = job("/etc/cron.d/backup", "alice", 1002);  // root's line, alice's uid
  const MonitorConfig alices = job("/var/spool/cron/crontabs/alice", "alice", 1002);
  const MonitorConfig adhoc = job("", "", 1002);  // a key she reported first
  EXPECT_EQ(owned_summary(roots, "backup failed: exit code 5"), "backup failed: exit code 5");
  EXPECT_EQ(owned_summary(runs_as_alice, "backup failed: exit code 5"), "backup failed: exit code 5");
  EXPECT_EQ(owned_summary(alices, "backup failed: exit code 5"), "user alice: backup failed: exit code 5");
  EXPECT_EQ(owned_summary(adhoc, "backup failed"), "user uid 1002: backup failed");
  EXPECT_FALSE(users_own_key(alices));
  EXPECT_TRUE(users_own_key(adhoc));
  EXPECT_FALSE(users_own_key(job("", "", 0)));

  std::string name = alices.name, source = alices.source();
  EXPECT_TRUE(metrics_view(alices, "key", name, source));
  EXPECT_EQ(name, "backup");
  EXPECT_EQ(source, "");
  name = roots.name, source = roots.source();
  EXPECT_TRUE(metrics_view(roots, "none", name, source));
  EXPECT_EQ(name, "nightly backup");
  EXPECT_FALSE(metrics_view(alices, "none", name, source));
  name = alices.name;
  EXPECT_TRUE(metrics_view(alices, "all", name, source));
  EXPECT_EQ(name, "nightly backup");
}

// Discovery reads a user's crontab as far as 4 times what may be monitored of it, at least 2,000
// lines; a limit of 0 (none) reads it whole.
TEST(UserLimits, DiscoveryReadsFourTimesTheMonitorLimitOfAUsersCrontab) {
  EXPECT_EQ(crontab_read_limit({500, 5000}), 2000u);
  EXPECT_EQ(crontab_read_limit({10, 5000}), 2000u);
  EXPECT_EQ(crontab_read_limit({1000, 5000}), 4000u);
  EXPECT_EQ(crontab_read_limit({0, 5000}), SIZE_MAX);
}

}  // namespace
}  // namespace cronitor::agent
