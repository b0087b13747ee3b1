// Requests from the command-line tools on the agent socket: status, history, pause, resume,
// already type-checked and authorised by RequestHandler. The reply is one JSON line.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "agent/control/status_view.h"
#include "agent/daemon/daemon.h"
#include "agent/daemon/history_reply.h"
#include "agent/sources/cron_daemon_watch.h"
#include "agent/sources/cron_logging.h"
#include "agent/sources/host_facts.h"
#include "agent/sources/systemd_watch.h"
#include "agent/state/state_json.h"
#include "schedule/iso8601.h"

namespace cronitor::agent {

nlohmann::json Daemon::monitors_status(const Peer& c, bool sees_all, const std::string* only) {
  using nlohmann::json;
  json list = json::array();
  std::optional<uint32_t> one;
  if (only && !(one = monitors_.find(*only))) return list;
  const uint32_t from = one ? *one : 0, to = one ? *one + 1 : static_cast<uint32_t>(monitors_.size());
  std::set<std::string> live_timers;  // keys of the timers the systemd manager reports
  if (const SystemdWatch* sd = live_systemd())
    for (const auto& t : sd->timer_list())
      if (!only || t.key == *only) live_timers.insert(t.key);
  // Jobs seen only in cron's log: at its default -L 1 their failures cannot be seen (issue 17).
  std::optional<std::string> unseen;
  bool cron_log_jobs = false;
  for (uint32_t i = from; i < to && !cron_log_jobs; ++i)
    cron_log_jobs = monitors_.config(i).reported_by == kReportedByCronLog;
  if (cron_log_jobs)
    unseen = unseen_failures(detect_cron_logging(
        config_.discovery.root == "/" || !discovery_.on() ? std::string() : discovery_.root()->root()));
  for (uint32_t i = from; i < to; ++i) {
    const auto& m = monitors_.config(i);
    if (!sees_all && m.uid != static_cast<int64_t>(c.uid)) continue;  // others' jobs are theirs
    list.push_back(status_json(m.key, m.name, m.schedule_text(), m.zone.name(), m.source(), monitors_.state(i),
                               m.paused, m.awaits_first_run));
    const std::string by = m.reported_by.empty() && live_timers.contains(m.key) ? "systemd" : m.reported_by;
    list.back()["reported_by"] = by.empty() ? json() : json(by);
    list.back()["failures_unseen"] = unseen && m.reported_by == kReportedByCronLog ? json(*unseen) : json();
  }
  return list;
}

nlohmann::json Daemon::status_reply(const Peer& c, bool sees_all) {
  using nlohmann::json;
  json list = monitors_status(c, sees_all);
  json refused = json::array();  // users' crontab lines that may not define their key (key_owners.h)
  for (const auto& r : owners_.refused())
    if (sees_all || r.uid == static_cast<int64_t>(c.uid))
      refused.push_back({{"key", r.key}, {"where", r.where}, {"user", r.user}, {"reason", r.reason}});
  json disk = nullptr;  // state.db's disk is full: what is not stored waits in the spool
  if (disk_full_.since())
    disk = {{"since", to_us(*disk_full_.since())},
            {"state_dir", config_.state_dir},
            {"failed_transactions", disk_full_.failures()}};
  // The cron daemon followed (its pid and start) and each upstream's backlog: the host facts
  // the dashboard's overview shows.
  json cron = nullptr;
  if (const pid_t cron_pid = cron_watch().pid(); cron_pid > 0)
    if (auto st = read_proc_stat(cron_pid); st && st->alive()) {
      auto since = process_started_at(*st);
      cron = {{"pid", cron_pid},
              {"since", since ? json(schedule::format_iso8601(std::chrono::floor<std::chrono::seconds>(*since),
                                                              schedule::Zone::utc()))
                              : json()}};
    }
  json uplink = uplink_json(upstreams_.stats(), [&](const std::string& job) {
    return sees_all || owners_.owner_of(job) == static_cast<int64_t>(c.uid);
  });
  for (auto& u : uplink) {
    auto depth = upstreams_.depth(u.value("upstream", std::string()));
    u["backlog"] = depth ? json(*depth) : json();
  }
  const std::optional<std::string>& wrap_refused = discovery_.wrap_policy().refused;
  json reply = {{"ok", true},
                {"host", host_},
                {"cron", cron},
                {"daemon", "running"},
                {"monitors", nullptr},
                {"refused_lines", refused},
                {"cron_incident", cron_incident_json(host_record_.state())},
                {"snooze", snooze_json(host_record_.state(), now())},
                {"shutting_down", quiet_.shutting_down()},
                {"disk_full", disk},
                {"alerts_held", alerts_.held_total()},
                {"uplink", uplink},
                {"wrap_refused", wrap_refused ? json(*wrap_refused) : json()}};
  reply["monitors"] = std::move(list);  // not copied (10,000 monitors: 4 MB of JSON)
  sources_.status(reply);               // "systemd" (timers observed live, or why not), "process_events"
  return reply;
}

std::string Daemon::run_control(const Peer& c, const Request& req) {
  using nlohmann::json;
  auto answer = [](json j) { return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n"; };
  auto error = [](const std::string& why) { return RequestHandler::control_error(why); };
  const std::string& key = req.key;
  if (req.kind == Request::Kind::kSnooze) return run_snooze(c, req);
  if (req.kind == Request::Kind::kAdvance) return run_advance(c, req);
  if (req.kind == Request::Kind::kStatus) return answer(status_reply(c, req.sees_all));
  if (req.kind == Request::Kind::kHistory) {
    // A user's listings share their events' rate budget, one token per 10 runs listed: a flood of
    // large histories would otherwise keep the loop from everyone's events. Root is not limited.
    const uint64_t mono = mono_usec();
    if (!intake_.rate().take(c.uid, mono))
      return error("busy: rate limit for uid " + std::to_string(c.uid) + ", try again");
    auto h = history_reply(store_, key, req.limit);
    if (!h) return error(h.error().message);
    intake_.rate().charge(c.uid, mono, static_cast<double>(h->runs.size()) / 10.0);
    return answer({{"ok", true}, {"key", key}, {"runs", std::move(h->runs)}, {"more", h->more}});
  }
  auto it = monitors_.find(key);
  if (!it) return error("no monitor with key \"" + key + "\"");
  const uint32_t i = *it;
  std::optional<Instant> until;
  const bool pause = req.kind == Request::Kind::kPause;
  if (pause) until = req.until_us ? from_us(*req.until_us) : Instant::max();
  (void)evaluate(monitors_.config(i), monitors_.state(i), PauseInput{now(), until}, host_record_.state());
  monitors_.touch(i);
  if (!store_.begin()) return error("state.db is busy");
  if (auto r = flush_dirty(); !r || !store_.commit()) {
    store_.rollback();
    return error("saving the state failed");
  }
  rearm_deadline_timer();
  spdlog::info("{} {} by uid {}", key, pause ? "paused" : "resumed", c.uid);
  return answer({{"ok", true}, {"key", key}, {"state", state_word(monitors_.state(i), monitors_.config(i).paused)}});
}

}  // namespace cronitor::agent
