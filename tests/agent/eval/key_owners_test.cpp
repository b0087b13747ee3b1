// Who may define a key (agent/eval/key_owners.h): root's files and agent.yaml before users'
// crontabs, the first user before the next, the holder of a key before anyone new.
#include "agent/eval/key_owners.h"

#include <gtest/gtest.h>

namespace cronitor::agent {
namespace {

KeyClaim root_line(const std::string& key, const std::string& where = "/etc/cron.d/backup:3") {
  return KeyClaim{key, where, "root", 0, false};
}
KeyClaim user_line(const std::string& key, const std::string& user, int64_t uid) {
  return KeyClaim{key, "/var/spool/cron/crontabs/" + user + ":1", user, uid, true};
}

TEST(KeyOwners, AUsersCrontabNeverTakesAKeyOfRootsFiles) {
  // The user's line comes first in discovery's order (their crontab sorts after /etc): no matter.
  const std::vector<KeyClaim> claims = {user_line("nightly", "mallory", 1001), root_line("nightly")};
  auto refused = refused_claims(claims, {}, {});
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused.begin()->first, 0u);
  EXPECT_EQ(refused.begin()->second,
            "key \"nightly\" of /var/spool/cron/crontabs/mallory:1 (mallory's crontab) is defined by root's "
            "/etc/cron.d/backup:3: this line reports nothing");
}

TEST(KeyOwners, AgentYamlKeysAreRootsUnlessTheyNameTheUser) {
  const std::vector<KeyClaim> claims = {user_line("db", "mallory", 1001), user_line("sync", "alice", 1002),
                                        user_line("report", "mallory", 1001)};
  const std::vector<ConfigClaim> config = {{"db", std::nullopt, -1},   // root's
                                           {"sync", "alice", 1002},    // alice may define and report it
                                           {"report", "1002", 1002}};  // alice's (by uid), not mallory's
  auto refused = refused_claims(claims, config, {});
  ASSERT_EQ(refused.size(), 2u);
  EXPECT_NE(refused.at(0).find("is defined in agent.yaml (root's)"), std::string::npos) << refused.at(0);
  EXPECT_FALSE(refused.contains(1));
  EXPECT_NE(refused.at(2).find("is defined in agent.yaml for user 1002"), std::string::npos) << refused.at(2);
}

TEST(KeyOwners, TheFirstUserKeepsAKeyAndTheHolderBeforeAnyNewcomer) {
  // Found together: the first in discovery's order holds it; the same user's second line is fine.
  const std::vector<KeyClaim> claims = {user_line("k", "alice", 1002), user_line("k", "mallory", 1001),
                                        user_line("k", "alice", 1002)};
  auto refused = refused_claims(claims, {}, {});
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_NE(refused.at(1).find("is defined first by /var/spool/cron/crontabs/alice:1"), std::string::npos);
  // Mallory reported "k" first (a key nothing defined, or her earlier line): alice's new line is refused.
  auto held = refused_claims(claims, {}, {{"k", 1001}});
  EXPECT_EQ(held.size(), 2u);
  EXPECT_NE(held.at(0).find("belongs to uid 1001, who defined or reported it first"), std::string::npos);
  EXPECT_FALSE(held.contains(1));
  // A key root reported first is root's.
  auto roots = refused_claims({user_line("r", "mallory", 1001)}, {}, {{"r", 0}});
  EXPECT_NE(roots.at(0).find("belongs to root"), std::string::npos);
  // Root's files always win, whoever held the key: root's line is never refused.
  EXPECT_TRUE(refused_claims({root_line("k")}, {}, {{"k", 1001}}).empty());
}

TEST(KeyOwners, StateCarriesOverOnlyToTheSameOwner) {
  EXPECT_FALSE(owner_changed(std::nullopt, 0));
  EXPECT_FALSE(owner_changed(1001, 1001));
  EXPECT_TRUE(owner_changed(1001, 0));  // root now defines a key a user reported first
  EXPECT_TRUE(owner_changed(0, 1001));
}

}  // namespace
}  // namespace cronitor::agent
