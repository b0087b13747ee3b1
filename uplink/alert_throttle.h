// A per-target rate limit for alert messages: at most `limit` messages to one notify target per
// window and per owner of the jobs (root's and each user's counted apart, so one user's flood of
// failures never holds back another owner's alert); alerts past it are not sent to that target
// (they stay recorded in state.db), and when the window ends one digest message per owner says
// how many were held back. Pure: time is an argument.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "uplink/alert.h"

namespace cronitor::uplink {

class AlertThrottle {
 public:
  /// `limit` 0 (or a zero window): no limit.
  AlertThrottle(int limit = 0, std::chrono::seconds window = std::chrono::seconds(0));
  /// New settings (a reload); counts of the current windows are kept.
  void configure(int limit, std::chrono::seconds window);

  /// True when a message about `key` of `owner`'s job (a uid; root 0, the host's alerts too) may
  /// go to `target` at `now` (it is counted); false when that owner's limit at the target is
  /// reached (it is counted for the owner's digest).
  [[nodiscard]] bool admit(const std::string& target, const std::string& key, Instant now, int64_t owner = 0);

  struct Digest {
    std::string target;
    int64_t owner = 0;
    Alert alert;  // kind kDigest, key "host:alerts"
  };
  /// One digest per target whose window ended by `now` with alerts held back.
  std::vector<Digest> take_due(Instant now);
  /// When the next digest falls due, if any alert is held back.
  std::optional<Instant> next_due() const;
  /// Alerts held back so far (since start), for status.
  uint64_t held_total() const { return held_total_; }

 private:
  struct Window {
    Instant start{};
    int sent = 0;
    int held = 0;
    std::set<std::string> keys;  // of the held alerts; at most kKeysNamed
    bool more_keys = false;
  };
  Alert digest(int64_t owner, const Window& w, Instant now) const;

  int limit_;
  std::chrono::seconds window_;
  // By target and owner: the targets the config names, times the owners with alerts this window.
  std::map<std::pair<std::string, int64_t>, Window> windows_;
  std::vector<Digest> pending_;  // windows that ended while a new alert came
  uint64_t held_total_ = 0;
};

}  // namespace cronitor::uplink
