#include "uplink/alert_throttle.h"

#include "common/duration.h"
#include "schedule/iso8601.h"

namespace cronitor::uplink {
namespace {

/// Keys named in a digest; beyond them it says "and N more".
constexpr size_t kKeysNamed = 5;

/// "10 minutes", "1 hour": the window as the digest's sentence reads best.
std::string spelled(std::chrono::seconds d) {
  const int64_t s = d.count();
  auto unit = [](int64_t n, const char* one) { return std::to_string(n) + " " + one + (n == 1 ? "" : "s"); };
  if (s % 3600 == 0) return unit(s / 3600, "hour");
  if (s % 60 == 0) return unit(s / 60, "minute");
  return format_duration(d);
}

}  // namespace

AlertThrottle::AlertThrottle(int limit, std::chrono::seconds window) : limit_(limit), window_(window) {}

void AlertThrottle::configure(int limit, std::chrono::seconds window) {
  limit_ = limit;
  window_ = window;
}

bool AlertThrottle::admit(const std::string& target, const std::string& key, Instant now, int64_t owner) {
  if (limit_ <= 0 || window_.count() <= 0) return true;
  auto [it, fresh] = windows_.try_emplace({target, owner});
  Window& w = it->second;
  if (fresh || now >= w.start + window_ || now < w.start) {  // a new window (or the clock went back)
    if (!fresh && w.held > 0) pending_.push_back({target, owner, digest(owner, w, now)});
    w = Window{now, 0, 0, {}, false};
  }
  if (w.sent < limit_) {
    ++w.sent;
    return true;
  }
  ++w.held;
  ++held_total_;
  if (w.keys.size() < kKeysNamed || w.keys.contains(key))
    w.keys.insert(key);
  else
    w.more_keys = true;
  return false;
}

std::vector<AlertThrottle::Digest> AlertThrottle::take_due(Instant now) {
  std::vector<Digest> out = std::move(pending_);
  pending_.clear();
  for (auto it = windows_.begin(); it != windows_.end();) {
    Window& w = it->second;
    if (now < w.start + window_) {
      ++it;
      continue;
    }
    if (w.held > 0) out.push_back({it->first.first, it->first.second, digest(it->first.second, w, now)});
    it = windows_.erase(it);
  }
  return out;
}

std::optional<Instant> AlertThrottle::next_due() const {
  std::optional<Instant> best;
  if (!pending_.empty()) best = Instant::min();
  for (const auto& [target, w] : windows_)
    if (w.held > 0 && (!best || w.start + window_ < *best)) best = w.start + window_;
  return best;
}

Alert AlertThrottle::digest(int64_t owner, const Window& w, Instant now) const {
  Alert a;
  a.kind = Alert::Kind::kDigest;
  a.key = "host:alerts";
  a.name = "alert digest";
  a.at = now;
  a.incident_opened = w.start;  // tells one window's digest from the next (PagerDuty dedup_key)
  // Root's digest reads as before; a user's says whose jobs (their keys are listed apart from root's).
  const std::string whose = owner == 0 ? "" : " of jobs of uid " + std::to_string(owner);
  a.summary = std::to_string(w.held) + " more alert" + (w.held == 1 ? "" : "s") + whose + " suppressed in the last " +
              spelled(window_) + ": see `cronitor-agent status`";
  std::string keys;
  for (const auto& k : w.keys) keys += (keys.empty() ? "" : ", ") + k;
  if (w.more_keys) keys += ", ...";
  a.detail = "This target's limit of " + std::to_string(limit_) + " messages per " + spelled(window_) +
             (owner == 0 ? std::string(" for root's jobs") : " for the jobs of uid " + std::to_string(owner)) +
             " (alert_rate_limit, alert_rate_window) was reached at " + schedule::format_iso8601_utc(w.start) +
             "; the alerts held back (" + keys +
             ") are recorded in state.db and shown by `cronitor-agent status` and `history`";
  return a;
}

}  // namespace cronitor::uplink
