#include "uplink/alertmanager_resend.h"

#include <algorithm>

namespace cronitor::uplink {

void AlertmanagerResend::configure(std::chrono::seconds interval) {
  interval_ = std::max(interval, std::chrono::seconds(1));
}

void AlertmanagerResend::posted(const std::string& target, const std::string& key, bool keeps_firing, Instant now) {
  if (keeps_firing)
    next_[{key, target}] = now + interval_;
  else
    next_.erase({key, target});
}

void AlertmanagerResend::resume(const std::string& target, const std::string& key, Instant now) {
  next_[{key, target}] = now;
}

void AlertmanagerResend::forget(const std::string& key) {
  for (auto it = next_.lower_bound({key, std::string()}); it != next_.end() && it->first.first == key;)
    it = next_.erase(it);
}

std::vector<AlertmanagerResend::Due> AlertmanagerResend::take_due(Instant now) {
  std::vector<std::pair<Instant, Due>> due;
  for (auto& [k, at] : next_)
    if (at <= now) {
      due.push_back({at, Due{k.second, k.first}});
      at = now + interval_;
    }
  std::stable_sort(due.begin(), due.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<Due> out;
  out.reserve(due.size());
  for (auto& d : due) out.push_back(std::move(d.second));
  return out;
}

std::optional<Instant> AlertmanagerResend::next_due() const {
  std::optional<Instant> best;
  for (const auto& [k, at] : next_)
    if (!best || at < *best) best = at;
  return best;
}

}  // namespace cronitor::uplink
