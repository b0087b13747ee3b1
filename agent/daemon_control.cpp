// Requests from the command-line tools on the agent socket: status, history, pause, resume.
// A request is one JSON line {"control": "...", ...}; the reply is one JSON line.
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "agent/daemon.h"
#include "agent/state_json.h"
#include "agent/status_view.h"

namespace cronitor::agent {

std::string Daemon::handle_control(const Conn& c, std::string_view line) {
  using nlohmann::json;
  auto req = json::parse(line, nullptr, false);
  auto answer = [](json j) { return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n"; };
  auto error = [&](const std::string& why) { return answer({{"ok", false}, {"error", why}}); };
  if (!req.is_object() || !req["control"].is_string()) return error("bad request");
  const std::string what = req["control"].get<std::string>();
  const std::string key = req.value("key", "");
  auto it = index_.find(key);
  const bool owner = c.uid == 0 || c.uid == ::geteuid() ||
                     (it != index_.end() && monitors_[it->second].uid == static_cast<int64_t>(c.uid));
  if (what == "status") {
    json list = json::array();
    for (uint32_t i = 0; i < monitors_.size(); ++i) {
      const auto& m = monitors_[i];
      list.push_back(status_json(m.key, m.name, m.schedule ? m.schedule->text() : "", m.zone.name(), m.source(),
                                 states_[i], m.paused, m.awaits_first_run));
      list.back()["reported_by"] = m.reported_by.empty() ? json() : json(m.reported_by);
    }
    json disk = nullptr;  // state.db's disk is full: what is not stored waits in the spool
    if (disk_full_since_)
      disk = {{"since", to_us(*disk_full_since_)},
              {"state_dir", config_.state_dir},
              {"failed_transactions", disk_full_failures_}};
    return answer({{"ok", true},
                   {"host", host_},
                   {"daemon", "running"},
                   {"monitors", list},
                   {"cron_incident", cron_incident_json(host_state_)},
                   {"disk_full", disk},
                   {"alerts_held", throttle_.held_total()},
                   {"wrap_refused", wrap_policy_.refused ? json(*wrap_policy_.refused) : json()}});
  }
  if (!owner) return error("permission denied: uid " + std::to_string(c.uid) + " does not own \"" + key + "\"");
  if (what == "history") {
    int limit = std::clamp(req.value("limit", 20), 1, 10000);
    auto runs = store_.history(key, limit);
    if (!runs) return error(runs.error().message);
    json list = json::array();
    for (const auto& r : *runs) list.push_back(run_json(r));
    return answer({{"ok", true}, {"key", key}, {"runs", list}});
  }
  if (what == "pause" || what == "resume") {
    if (it == index_.end()) return error("no monitor with key \"" + key + "\"");
    const uint32_t i = it->second;
    std::optional<Instant> until;
    if (what == "pause") {
      until = Instant::max();
      if (req.contains("until_us") && req["until_us"].is_number_integer())
        until = from_us(req["until_us"].get<int64_t>());
    }
    (void)evaluate(monitors_[i], states_[i], PauseInput{now(), until}, host_state_);
    touch(i);
    if (!store_.begin()) return error("state.db is busy");
    if (auto r = flush_dirty(); !r || !store_.commit()) {
      store_.rollback();
      return error("saving the state failed");
    }
    rearm_deadline_timer();
    spdlog::info("{} {} by uid {}", key, what == "pause" ? "paused" : "resumed", c.uid);
    return answer({{"ok", true}, {"key", key}, {"state", state_word(states_[i], monitors_[i].paused)}});
  }
  return error("unknown request \"" + what + "\"");
}

}  // namespace cronitor::agent
