// A key whose owner changes (root defines a key a user reported first) starts fresh: the rules
// are agent/eval/key_owners.h's, who owns what is KeyOwnership's (key_ownership.h); the daemon
// also stops following the old owner's open runs.
#include "agent/daemon/daemon.h"

namespace cronitor::agent {

void Daemon::start_fresh(const std::string& key, int64_t old_owner, int64_t new_owner) {
  owners_.hand_over(key, old_owner, new_owner, store_);
  follower().unfollow_key(key);  // the old owner's open runs
}

}  // namespace cronitor::agent
