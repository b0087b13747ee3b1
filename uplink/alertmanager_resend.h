// When the alert of an open incident is posted again to each Alertmanager target. Alertmanager
// ends an alert at its endsAt (or after resolve_timeout without one), so the agent posts it again
// every `interval` until the incident resolves (uplink/alertmanager.h). Pure: time is an argument;
// the daemon asks which posts are due and queues them in state.db's alert outbox.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "uplink/alertmanager.h"

namespace cronitor::uplink {

class AlertmanagerResend {
 public:
  struct Due {
    std::string target;  // "alertmanager:URL"
    std::string key;     // the incident's key
    friend bool operator==(const Due&, const Due&) = default;
  };

  /// A new interval applies from each incident's next post on.
  void configure(std::chrono::seconds interval);
  std::chrono::seconds interval() const { return interval_; }

  /// An alert of `key` was queued for `target` at `now`: one that keeps firing is posted again an
  /// interval later; any other (a recovery, a notice) ends the re-posts to that target.
  void posted(const std::string& target, const std::string& key, bool keeps_firing, Instant now);
  /// An incident found open at start, already told to `target`: posted again at once (the agent
  /// may have been down for longer than the alert's endsAt).
  void resume(const std::string& target, const std::string& key, Instant now);
  /// The incident of `key` is over (resolved, or its job gone): no more re-posts to any target.
  void forget(const std::string& key);

  /// The posts due by `now`, oldest first; each is due again an interval after `now`.
  std::vector<Due> take_due(Instant now);
  /// When the next post falls due, if any incident is open.
  std::optional<Instant> next_due() const;
  size_t open() const { return next_.size(); }

 private:
  std::chrono::seconds interval_ = kAlertmanagerResendDefault;
  std::map<std::pair<std::string, std::string>, Instant> next_;  // (key, target) -> next post
};

}  // namespace cronitor::uplink
