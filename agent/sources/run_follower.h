// Runs whose wrapper died without its end event (kill -9, OOM killer): left alone they would stay
// `running` for ever and the next run would be an "overlap". cronitor-exec says it is a wrapper
// (`wrapper_pid` in its run event; over the socket the agent takes the pid from SO_PEERCRED), and
// the run event's pid is the job's process group. The follower watches the wrapper with a pidfd;
// once it is gone, it gives the wrapper's last event a moment to arrive (the settle), then follows
// each live member of the job's group in turn (a pidfd again, no polling); when the group is
// empty, it tells its handler the run is lost. It owns its pidfds and event sources.
#pragma once

#include <sys/types.h>
#include <systemd/sd-event.h>

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "agent/sources/run_source.h"
#include "common/event_source.h"

namespace cronitor::agent {

class RunFollower final : public RunSource {
 public:
  /// What the follower asks and tells the daemon's core.
  class Handler {
   public:
    virtual ~Handler() = default;
    /// The wrapper is gone: the events that wait (its end event may be one) are taken first.
    virtual void take_waiting_events() = 0;
    /// Whether the run is still open (an end event may have closed it meanwhile).
    virtual bool run_open(const std::string& key, const std::string& run_id) = 0;
    /// The wrapper and the job's process group `pgid` are gone without an end event; the follow
    /// has ended already.
    virtual void run_lost(const std::string& key, const std::string& run_id, int64_t pgid) = 0;
  };

  /// A run to follow: its key and owner (their share of the pidfds), its wrapper and group.
  struct Run {
    std::string key, run_id;
    int64_t uid = 0;  // the monitor's owner; <= 0: root's (-1: a user that does not resolve)
    int64_t pgid = 0;
    int64_t wrapper_pid = 0;
    uint64_t wrapper_start = 0;  // its start ticks as first seen (0: not known yet)
  };

  // After the wrapper exits, its last event may still be on its way (socket batch, spool file):
  // it gets this long before the run counts as lost.
  static constexpr uint64_t kSettleUsec = 250000;
  static constexpr size_t kMaxFollows = 4096;  // one pidfd each
  // One user's share: the runs of all the jobs one uid other than root owns (4,200 `run` events
  // of one user once took every pidfd, and root's killed wrapper was never noticed). Users
  // together leave kRootFollows for root's jobs.
  static constexpr size_t kMaxFollowsPerUser = 512;
  static constexpr size_t kRootFollows = 1024;

  explicit RunFollower(Handler& handler) : handler_(handler) {}
  RunFollower(const RunFollower&) = delete;
  RunFollower& operator=(const RunFollower&) = delete;

  /// Runs are followed on `ev` from now on (none before: the loop is made after the first reads).
  void attach(sd_event* ev) { ev_ = ev; }
  void attach(const SourceEnv& env) override { attach(env.ev); }  // as a run source (run_source.h)

  /// Follows `run` (nothing when it is followed already, or past its owner's share). Returns the
  /// start ticks of the wrapper the pidfd pinned when `run.wrapper_start` was 0 (for the caller
  /// to keep with the run), else 0.
  uint64_t follow(const Run& run);
  void unfollow(const std::string& run_id);
  void unfollow_key(const std::string& key);  // every run of `key` (its owner changed)
  /// Runs of `key` the evaluator let go stop being followed: a key's follows stay within its
  /// open runs. `open(run_id)` says whether a run is still open; looked at only once `key` has
  /// `open_runs` follows or more.
  template <class Open>
  void retain(const std::string& key, size_t open_runs, Open&& open);

  size_t followed() const { return follows_.size(); }
  size_t followed_of_key(const std::string& key) const;
  bool follows(const std::string& run_id) const { return follows_.contains(run_id); }
  /// The process a run's pidfd watches now (its wrapper, then a member of its group); 0: none
  /// (settling, or not followed).
  pid_t watched(const std::string& run_id) const;

 private:
  struct Follow {
    enum class Phase { kWrapper, kSettle, kGroup };
    std::string key, run_id;
    int64_t uid = 0;
    int64_t pgid = 0;
    Phase phase = Phase::kWrapper;
    pid_t watched = 0;  // the process the pidfd belongs to
    EventSource src;    // the pidfd (owned by the source) or the settle timer
    RunFollower* owner = nullptr;
  };

  void settle(Follow& f);
  void follow_group(Follow& f);
  void lost(const std::string& run_id);
  static int on_exit_cb(sd_event_source*, int, uint32_t, void*);
  static int on_settle_cb(sd_event_source*, uint64_t, void*);

  Handler& handler_;
  sd_event* ev_ = nullptr;
  std::map<std::string, std::unique_ptr<Follow>> follows_;  // by run_id
  std::unordered_map<int64_t, size_t> of_uid_;              // followed runs per monitor owner
  std::unordered_map<std::string, size_t> of_key_;          // followed runs per key
  std::set<std::string> said_;                              // keys whose runs hit a follow limit (logged)
};

template <class Open>
void RunFollower::retain(const std::string& key, size_t open_runs, Open&& open) {
  auto it = of_key_.find(key);
  if (it == of_key_.end() || it->second < open_runs) return;
  std::vector<std::string> gone;
  for (const auto& [run_id, f] : follows_)
    if (f->key == key && !open(std::string_view(run_id))) gone.push_back(run_id);
  for (const auto& run_id : gone) unfollow(run_id);
}

}  // namespace cronitor::agent
