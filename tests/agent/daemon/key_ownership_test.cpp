// Who owns a key, as the daemon keeps it (agent/daemon/key_ownership.h): a monitor's uid before a
// key learnt from runs; the holders a user's crontab is judged against leave removed monitors
// out; a user's line that takes root's key, or is past the limit per user, is refused and listed
// (one entry per file past a limit); a key handed to a new owner loses the old owner's runs.
#include "agent/daemon/key_ownership.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/agent/eval_helpers.h"
#include "tests/support/test_dir.h"

namespace cronitor::agent {
namespace {

namespace fs = std::filesystem;
using testing::at;

MonitorConfig owned(const std::string& key, int64_t uid) {
  MonitorConfig m = testing::monitor(key, "@hourly");
  m.uid = uid;
  return m;
}

DiscoveredJob owned_job(const std::string& key, const std::string& user, int64_t uid, int n) {
  DiscoveredJob j;
  j.key = key;
  j.name = key;
  j.schedule = "@hourly";
  j.user = user;
  j.uid = uid;
  j.users_file = uid != 0;
  j.file = uid != 0 ? "/var/spool/cron/crontabs/" + user : "/etc/cron.d/jobs";
  j.line = n;
  return j;
}

TEST(KeyOwnership, AMonitorsUidComesBeforeAKeyLearntFromRuns) {
  MonitorTable monitors;
  KeyOwnership owners(monitors);
  owners.learn("adhoc", 1000);
  owners.learn("adhoc2", 1000);
  owners.learn("backup", 1000);  // reported first by alice; root's file defines it now
  monitors.add(owned("backup", 0), MonitorState{});
  EXPECT_EQ(owners.owner_of("backup"), 0);
  EXPECT_EQ(owners.owner_of("adhoc"), 1000);
  EXPECT_FALSE(owners.owner_of("nobody"));
  EXPECT_EQ(owners.learnt_by(1000), 3u);
  EXPECT_EQ(owners.learnt_by(1001), 0u);

  MonitorState removed;
  removed.removed = true;
  monitors.add(owned("gone", 0), removed);
  const auto h = owners.holders();
  EXPECT_EQ(h.at("backup"), 0);
  EXPECT_EQ(h.at("adhoc"), 1000);
  EXPECT_FALSE(h.contains("gone")) << "a removed job's key is free";
}

TEST(KeyOwnership, AUsersLineThatTakesRootsKeyOrIsPastTheLimitIsRefused) {
  MonitorTable monitors;
  KeyOwnership owners(monitors);
  Config config;
  config.discovery.max_monitors_per_user = 2;
  std::vector<DiscoveredJob> jobs = {owned_job("backup", "root", 0, 1), owned_job("backup", "alice", 1000, 1),
                                     owned_job("a1", "alice", 1000, 2), owned_job("a2", "alice", 1000, 3),
                                     owned_job("a3", "alice", 1000, 4), owned_job("a4", "alice", 1000, 5)};
  const auto refused = owners.refuse_claims(jobs, config);
  EXPECT_EQ(refused.size(), 3u);  // backup of alice's, and a3, a4 past her 2
  EXPECT_EQ(jobs.size(), 3u);
  ASSERT_EQ(owners.refused().size(), 2u) << "one entry for the key, one for the file past its limit";
  EXPECT_EQ(owners.refused()[0].key, "backup");
  EXPECT_EQ(owners.refused()[0].where, "/var/spool/cron/crontabs/alice:1");
  EXPECT_FALSE(owners.refused()[0].over_limit);
  EXPECT_TRUE(owners.refused()[1].over_limit);
  EXPECT_NE(owners.refused()[1].reason.find("/var/spool/cron/crontabs/alice"), std::string::npos);

  // The file back under its limit, the key given up: nothing refused any more.
  std::vector<DiscoveredJob> fewer = {owned_job("a1", "alice", 1000, 2)};
  EXPECT_TRUE(owners.refuse_claims(fewer, config).empty());
  EXPECT_TRUE(owners.refused().empty());
}

TEST(KeyOwnership, AKeyHandedOverLosesTheOldOwnersRuns) {
  const fs::path dir = cronitor::testing::test_dir("agent-key-ownership");
  fs::remove_all(dir);
  fs::create_directories(dir);
  {
    auto store = StateStore::open((dir / "state.db").string(), nullptr);
    ASSERT_TRUE(store) << store.error().message;
    const Instant t = at("2025-12-01T00:00:00Z");
    ASSERT_TRUE(store->record_event(testing::event("sync", "r1", RunEvent::State::kComplete, t), t));
    MonitorTable monitors;
    KeyOwnership owners(monitors);
    owners.learn("sync", 1000);
    owners.begin_rebuild();
    owners.hand_over("sync", 1000, 0, *store);
    EXPECT_EQ(owners.owner_of("sync"), 0);
    EXPECT_TRUE(owners.owner_changed("sync"));
    EXPECT_EQ(owners.new_owner_keys().size(), 1u);
    auto h = store->history("sync", 10, 0);
    ASSERT_TRUE(h);
    EXPECT_TRUE(h->empty()) << "alice's runs are not root's";
    owners.begin_rebuild();
    EXPECT_FALSE(owners.owner_changed("sync"));
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cronitor::agent
