#include "agent/sources/systemd_watch.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-bus.h>

#include <algorithm>

#include "discovery/job_identity.h"

namespace cronitor::agent {
namespace {

/// How close LastTriggerUSec must follow the timer's activation for a catch-up, and how long
/// after the trigger its service may start (at boot it waits for its dependencies).
constexpr uint64_t kCatchUpTriggerUsec = 2'000'000;
constexpr uint64_t kCatchUpStartUsec = 600'000'000;
constexpr uint64_t kStartCatchUpTriggerUsec = 250'000;  // not Persistent=: systemd 252 (#31231)

std::string unit_path(const std::string& unit) {
  char* p = nullptr;
  if (sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit.c_str(), &p) < 0) return {};
  std::string out(p);
  free(p);
  return out;
}

template <typename T>
void take(std::optional<T>& into, const std::optional<T>& from) {
  if (from) into = from;
}

/// How a timer that went down is told: masked (the manager read the mask: a daemon-reload fails
/// an active timer, "systemctl mask --now" stops it), else stopped.
std::string down_word(const LiveTimer& t) { return t.load_state == "masked" ? "masked" : "stopped"; }

bool is_up(const std::string& active_state) { return active_state == "active" || active_state == "activating"; }

}  // namespace

std::optional<std::string> timer_change(const LiveTimer& before, const LiveTimer& now) {
  const bool was = is_up(before.active_state), up = is_up(now.active_state);
  if (up && !was) return "";
  if (!up && was && now.active_state != "activating") return down_word(now);
  // Masked while stopped, or unmasked and read but not started: as inactive as it was.
  if (!up && !was && before.load_state != now.load_state) {
    if (now.load_state == "masked") return "masked";
    if (before.load_state == "masked" && now.load_state == "loaded") return "stopped";
  }
  return std::nullopt;
}

bool is_catch_up(const LiveTimer& t, uint64_t start) {
  // Not a monotonic timer: OnActiveSec=1s fires a second after activation by design.
  // Started again, it fires in the same turn of the manager's loop: well within 250 ms, where a
  // slot that merely follows the start closely is rare (at boot, Persistent= waits on more).
  const bool calendar_only = !t.calendar.empty() && t.monotonic.empty();
  const uint64_t within = t.persistent ? kCatchUpTriggerUsec : kStartCatchUpTriggerUsec;
  return (t.persistent || calendar_only) && t.last_trigger_usec > 0 && t.active_enter_usec > 0 &&
         t.last_trigger_usec >= t.active_enter_usec && t.last_trigger_usec - t.active_enter_usec <= within &&
         start + 1'000'000 >= t.last_trigger_usec && start <= t.last_trigger_usec + kCatchUpStartUsec;
}

void merge_props(UnitProps& into, const UnitProps& from) {
  take(into.active_state, from.active_state);
  take(into.load_state, from.load_state);
  take(into.invocation_id, from.invocation_id);
  take(into.active_enter_usec, from.active_enter_usec);
  take(into.unit, from.unit);
  take(into.next_elapse_realtime_usec, from.next_elapse_realtime_usec);
  take(into.next_elapse_monotonic_usec, from.next_elapse_monotonic_usec);
  take(into.last_trigger_usec, from.last_trigger_usec);
  take(into.accuracy_usec, from.accuracy_usec);
  take(into.randomized_delay_usec, from.randomized_delay_usec);
  take(into.persistent, from.persistent);
  take(into.calendar, from.calendar);
  take(into.monotonic, from.monotonic);
  take(into.condition_result, from.condition_result);
  take(into.condition_usec, from.condition_usec);
  take(into.failed_condition, from.failed_condition);
  take(into.assert_result, from.assert_result);
  take(into.assert_usec, from.assert_usec);
  take(into.failed_assert, from.failed_assert);
  take(into.exec_start_usec, from.exec_start_usec);
  take(into.exec_exit_usec, from.exec_exit_usec);
  take(into.exec_code, from.exec_code);
  take(into.exec_status, from.exec_status);
  take(into.main_pid, from.main_pid);
  take(into.result, from.result);
  take(into.control_group, from.control_group);
  into.invalidated = into.invalidated || from.invalidated;
}

bool apply_service_props(ServiceSnapshot& s, const UnitProps& p) {
  if (p.exec_start_usec) s.start_usec = *p.exec_start_usec;
  if (p.exec_exit_usec) s.exit_usec = *p.exec_exit_usec;
  if (p.exec_code) s.exec_code = *p.exec_code;
  if (p.exec_status) s.exec_status = *p.exec_status;
  if (p.main_pid) s.main_pid = *p.main_pid;
  if (p.result) s.result = *p.result;
  if (p.active_state) s.active_state = *p.active_state;
  if (p.invocation_id) s.invocation_id = *p.invocation_id;
  if (p.condition_result) s.condition_ok = *p.condition_result;
  if (p.condition_usec) s.condition_usec = *p.condition_usec;
  if (p.assert_result) s.assert_ok = *p.assert_result;
  if (p.assert_usec) s.assert_usec = *p.assert_usec;
  return p.active_state || p.invocation_id;
}

SystemdWatch::SystemdWatch(std::unique_ptr<SystemdBus> bus, SystemdHost host, std::string hostname, Handler handler,
                           Options options)
    : bus_(std::move(bus)),
      host_(std::move(host)),
      hostname_(std::move(hostname)),
      handler_(std::move(handler)),
      options_(options) {}

SystemdWatch::~SystemdWatch() { bus_->close(); }

void SystemdWatch::start() { connect(); }

void SystemdWatch::wake() {
  if (!bus_->connected()) {
    connect();
    return;
  }
  if (resync_due_ || !live_) {
    (void)resync();  // on failure it scheduled the retry
    return;
  }
  if (!unloaded_.empty()) {
    std::vector<std::string> paths(unloaded_.begin(), unloaded_.end());
    unloaded_.clear();
    if (!judge_unloaded(paths)) return;
  }
  if (!new_timers_.empty()) {
    std::vector<UnitRef> units;
    for (const auto& [path, name] : new_timers_)
      if (!timers_.contains(path) && timers_.size() + units.size() < options_.max_timers) units.push_back({name, path});
    new_timers_.clear();
    std::vector<cronitor::RunEvent> out;
    if (!add_timers(units, out)) return;
    for (const auto& u : units)
      if (auto t = timers_.find(u.path);
          t != timers_.end() && handler_.on_timer_state && t->second.active_state == "active")
        handler_.on_timer_state(t->second, "");
    deliver(std::move(out));
  }
  std::vector<Service*> svcs;
  for (const auto& path : reread_)
    if (auto s = services_.find(path); s != services_.end()) svcs.push_back(&s->second);
  reread_.clear();
  if (svcs.empty() || !read_services(svcs)) return;
  std::vector<cronitor::RunEvent> out;
  for (Service* svc : svcs) evaluate(*svc, out);
  deliver(std::move(out));
}

void SystemdWatch::connect() {
  auto r = bus_->open(*this);
  if (!r) {
    lost(r.error().message);
    return;
  }
  (void)resync();
}

void SystemdWatch::lost(const std::string& why) {
  bus_->close();
  reading_.clear();
  const bool was_live = live_;
  live_ = false;
  if (why_not_ != why || was_live) spdlog::warn("systemd: {}; timers are not observed until it answers", why);
  why_not_ = why;
  if (handler_.on_manager) handler_.on_manager(false, why, {});
  retry_later();
}

void SystemdWatch::not_answering(const std::string& why) {
  if (live_ || why_not_ != why) spdlog::warn("systemd: {}", why);
  live_ = false;
  why_not_ = why;
  if (handler_.on_manager) handler_.on_manager(false, why, {});
  retry_later();
}

// A call that failed while the bus stays up (the manager left it mid-call, a daemon-reexec):
// the connection is kept, and the manager's return, or the retry, reads everything again.
void SystemdWatch::read_failed(const std::string& why) {
  if (bus_->connected())
    not_answering(why);
  else
    lost(why);
}

void SystemdWatch::retry_later() {
  backoff_usec_ = backoff_usec_ == 0 ? 1'000'000 : std::min(options_.max_backoff_usec, backoff_usec_ * 2);
  bus_->call_later(backoff_usec_, [this] { wake(); });
}

bool SystemdWatch::resync() {
  resync_due_ = false;
  reread_.clear();
  new_timers_.clear();
  unloaded_.clear();   // the listing tells again which timers are not loaded
  not_found_.clear();  // and which exist: one read as not-found before is read once more at most
  const uint64_t t0 = host_.monotonic_usec();
  auto units = bus_->list_timers(options_.max_timers);
  if (!units) {
    if (bus_->connected())
      not_answering(units.error().message);
    else
      lost(units.error().message);
    return false;
  }
  if (units->size() >= options_.max_timers)
    spdlog::warn("systemd: {} timers or more loaded, ignoring the rest", options_.max_timers);
  std::map<std::string, LiveTimer> before;
  before.swap(timers_);
  std::vector<cronitor::RunEvent> out;
  if (!add_timers(*units, out)) {  // add_timers handled it; the next listing tells which ones vanished
    timers_.merge(before);
    return false;
  }
  last_listing_usec_ = host_.monotonic_usec() - t0;
  backoff_usec_ = 0;
  live_ = true;
  why_not_.clear();
  spdlog::info("systemd: {} timers listed in {} ms{}", timers_.size(), last_listing_usec_ / 1000,
               listed_ ? " (resync)" : "");
  listed_ = true;
  // Timers not listed: unloaded while stopped (told before, or while we were away: a reload, a
  // reexec, a disconnect), or gone with their unit file. They are judged by their unit files.
  // Timers listed again that were started or stopped meanwhile are told so, once.
  std::vector<std::string> vanished;
  std::vector<std::pair<std::string, std::string>> moved;  // path, what
  for (auto& [path, t] : before) {
    if (auto now = timers_.find(path); now != timers_.end()) {
      if (auto what = timer_change(t, now->second)) moved.emplace_back(path, *what);
      continue;
    }
    t.loaded = false;
    vanished.push_back(path);
    timers_.emplace(path, std::move(t));
  }
  // The changes first: the listing makes a timer not running "stopped" silently (the daemon's
  // apply_live_timers), which must not pass for the mask or stop told here.
  for (const auto& [path, what] : moved)
    if (handler_.on_timer_state) handler_.on_timer_state(timers_.at(path), what);
  if (handler_.on_manager) handler_.on_manager(true, "", timer_list());
  deliver(std::move(out));
  return judge_unloaded(vanished);
}

bool SystemdWatch::judge_unloaded(const std::vector<std::string>& paths) {
  std::vector<std::string> names;
  for (const auto& path : paths)
    if (auto t = timers_.find(path); t != timers_.end() && !t->second.loaded) names.push_back(t->second.unit);
  if (names.empty()) return true;
  auto files = bus_->unit_files(names);
  if (!files) {
    read_failed("listing the timers' unit files failed: " + files.error().message);
    return false;
  }
  for (const auto& path : paths) {
    auto it = timers_.find(path);
    if (it == timers_.end() || it->second.loaded) continue;  // loaded again meanwhile: its signals tell
    LiveTimer& t = it->second;
    const bool was_up = t.active_state == "active" || t.active_state == "activating";
    t.next_elapse_realtime_usec = t.next_elapse_monotonic_usec = t.next_elapse_usec = 0;
    if (files->contains(t.unit)) {  // stopped, and no unit wants it: it stays a stopped timer
      t.active_state = "inactive";
      spdlog::debug("systemd: {} unloaded by the manager; its unit file remains ({})", t.unit, files->at(t.unit));
      if (was_up && handler_.on_timer_state)
        handler_.on_timer_state(t, files->at(t.unit) == "masked" ? "masked" : "stopped");
      continue;
    }
    LiveTimer gone = std::move(t);
    timers_.erase(it);
    if (handler_.on_timer_state) handler_.on_timer_state(gone, "removed");
  }
  return true;
}

Result<void> SystemdWatch::read(std::vector<UnitRead>& reads) {
  for (UnitRead& r : reads) reading_[r.path] = &r.props;
  auto ok = bus_->read(reads);
  for (UnitRead& r : reads) reading_.erase(r.path);
  return ok;
}

void SystemdWatch::apply_timer(LiveTimer& t, const UnitProps& p) {
  if (p.unit) t.service = *p.unit;
  if (p.active_state) t.active_state = *p.active_state;
  if (p.load_state) t.load_state = *p.load_state;
  if (p.next_elapse_realtime_usec) t.next_elapse_realtime_usec = *p.next_elapse_realtime_usec;
  if (p.next_elapse_monotonic_usec) t.next_elapse_monotonic_usec = *p.next_elapse_monotonic_usec;
  if (p.last_trigger_usec) t.last_trigger_usec = *p.last_trigger_usec;
  if (p.active_enter_usec) t.active_enter_usec = *p.active_enter_usec;
  if (p.accuracy_usec) t.accuracy_usec = *p.accuracy_usec;
  if (p.randomized_delay_usec) t.randomized_delay_usec = *p.randomized_delay_usec;
  if (p.persistent) t.persistent = *p.persistent;
  if (p.calendar) t.calendar = *p.calendar;
  if (p.monotonic) t.monotonic = *p.monotonic;
  // The manager elapses at the sooner of its two clocks; monotonic time becomes wall time by
  // the offset between the clocks now (it moves when the wall clock is set). While its service
  // runs the manager says "never" (USEC_INFINITY) on both: no elapse, not the boot time that
  // infinity plus the offset wraps around to.
  constexpr uint64_t kInfinity = UINT64_MAX;
  uint64_t next = t.next_elapse_realtime_usec == kInfinity ? 0 : t.next_elapse_realtime_usec;
  if (t.next_elapse_monotonic_usec > 0 && t.next_elapse_monotonic_usec != kInfinity) {
    const uint64_t rt = host_.realtime_usec(), mono = host_.monotonic_usec();
    const uint64_t wall = t.next_elapse_monotonic_usec + rt - std::min(mono, rt);
    if (next == 0 || wall < next) next = wall;
  }
  t.next_elapse_usec = next;
}

bool SystemdWatch::add_timers(const std::vector<UnitRef>& units, std::vector<cronitor::RunEvent>& out) {
  std::vector<UnitRead> reads;
  reads.reserve(units.size());
  for (const auto& u : units) reads.push_back({u.path, UnitRead::Kind::kTimer, {}});
  if (auto r = read(reads); !r) {
    read_failed("reading the timers failed: " + r.error().message);
    return false;
  }
  // When a Persistent= timer became active tells its catch-up runs (is_catch_up).
  std::vector<UnitRead> activations;
  for (const auto& r : reads)
    if (r.props.persistent.value_or(false)) activations.push_back({r.path, UnitRead::Kind::kTimerActivation, {}});
  if (!activations.empty()) {
    if (auto r = read(activations); !r) {
      read_failed("reading the timers failed: " + r.error().message);
      return false;
    }
    for (size_t i = 0, a = 0; i < reads.size() && a < activations.size(); ++i)
      if (reads[i].path == activations[a].path) merge_props(reads[i].props, activations[a++].props);
  }
  std::vector<std::string> fill;  // service paths to read
  for (size_t i = 0; i < units.size(); ++i) {
    // Read after its unit file went (a UnitNew for a deleted timer, loaded by someone's look at
    // it): no such timer, and its removal was told already. The read itself loaded it once more
    // (the manager loads any unit asked about by its path) and its garbage collection unloads it
    // again: the UnitNew of that load, come during the read or after it, is not read again.
    if (reads[i].props.load_state == "not-found") {
      if (not_found_.size() >= options_.max_timers) not_found_.clear();  // bounded: a read more each at most
      not_found_[units[i].path] = units[i].name;
      new_timers_.erase(units[i].path);
      continue;
    }
    not_found_.erase(units[i].path);
    LiveTimer t;
    t.unit = units[i].name;
    t.key = discovery::derive_key("timer", "", "", t.unit);
    apply_timer(t, reads[i].props);
    const std::string& path = units[i].path;
    if (!t.service.empty()) {
      const std::string spath = unit_path(t.service);
      if (!spath.empty()) {
        auto [it, fresh] = services_.try_emplace(spath);
        if (fresh || it->second.timer_path.empty() || !timers_.contains(it->second.timer_path)) {
          it->second.unit = t.service;
          it->second.timer_path = path;
          by_unit_[t.service] = spath;
        }
        fill.push_back(spath);
      }
    }
    timers_[path] = std::move(t);
  }
  std::vector<Service*> svcs;
  for (const auto& spath : fill) svcs.push_back(&services_[spath]);
  if (!read_services(svcs)) return false;
  for (Service* svc : svcs) evaluate(*svc, out);
  return true;
}

bool SystemdWatch::read_services(const std::vector<Service*>& svcs) {
  if (svcs.empty()) return true;
  std::vector<UnitRead> reads;
  reads.reserve(svcs.size());
  for (Service* svc : svcs) reads.push_back({by_unit_[svc->unit], UnitRead::Kind::kService, {}});
  if (auto r = read(reads); !r) {
    read_failed("reading the services failed: " + r.error().message);
    return false;
  }
  // A run going: its cgroup, where its OOM kills are counted.
  std::vector<UnitRead> cgroups;
  std::vector<Service*> going;
  // A start skipped by a failed condition: which condition (one more call, for skips only).
  std::vector<UnitRead> conditions;
  std::vector<Service*> skipped;
  for (size_t i = 0; i < svcs.size(); ++i) {
    apply_service_props(svcs[i]->snap, reads[i].props);
    if (run_going(svcs[i]->snap)) {
      cgroups.push_back({reads[i].path, UnitRead::Kind::kServiceCgroup, {}});
      going.push_back(svcs[i]);
    } else if ((skip_pending(*svcs[i]) && svcs[i]->conditions_usec != svcs[i]->snap.condition_usec) ||
               (assert_pending(*svcs[i]) && svcs[i]->asserts_usec != svcs[i]->snap.assert_usec)) {
      conditions.push_back({reads[i].path, UnitRead::Kind::kServiceConditions, {}});
      skipped.push_back(svcs[i]);
    }
  }
  if (!conditions.empty()) {
    if (auto r = read(conditions); !r) {
      read_failed("reading the services failed: " + r.error().message);
      return false;
    }
    for (size_t i = 0; i < skipped.size(); ++i) {
      if (skip_pending(*skipped[i])) {
        skipped[i]->conditions_usec = skipped[i]->snap.condition_usec;  // read, or unreadable: asked once
        skipped[i]->failed_condition = conditions[i].props.failed_condition.value_or("");
      }
      if (assert_pending(*skipped[i])) {
        skipped[i]->asserts_usec = skipped[i]->snap.assert_usec;
        skipped[i]->failed_assert = conditions[i].props.failed_assert.value_or("");
      }
    }
  }
  if (cgroups.empty()) return true;
  if (auto r = read(cgroups); !r) {
    read_failed("reading the services failed: " + r.error().message);
    return false;
  }
  for (size_t i = 0; i < going.size(); ++i) {
    apply_service_props(going[i]->snap, cgroups[i].props);  // signals merged while it was read
    if (cgroups[i].props.control_group && !cgroups[i].props.control_group->empty())
      going[i]->control_group = *cgroups[i].props.control_group;
  }
  return true;
}

// Whether the run that just ended was killed by the OOM killer, from the unit's own memory
// cgroup: its oom_kill count if it still exists, else what was seen while it ran (the count, or
// its OOM notifications: one read while the cgroup existed, or two read after it was gone, the
// OOM's and the removal's). Where that cannot tell, a SIGKILL is judged by the kernel's
// system-wide count, and the log says so.
bool SystemdWatch::oom_killed(Service& svc) {
  const ServiceSnapshot& s = svc.snap;
  std::string why_not = "no ControlGroup known for the run";
  if (!svc.control_group.empty()) {
    auto k = host_.cgroup_oom_kills(svc.control_group);
    if (k) return *k > 0;  // systemd makes the cgroup afresh for each run
    why_not = k.error().message;
  }
  if (svc.cgroup_kills_last && *svc.cgroup_kills_last > 0) return true;
  const OomNotifications notes = svc.oom_events ? svc.oom_events() : OomNotifications{};
  if (notes.ooms() > 0) return true;
  const bool sigkill = s.exec_code == 2 && s.exec_status == 9 && s.result != "oom-kill";
  if (!sigkill) return false;
  auto k = host_.system_oom_kills();
  const bool rose = svc.system_kills_start && k && *k > *svc.system_kills_start;
  spdlog::info(
      "systemd: {} was killed by SIGKILL and its memory cgroup cannot tell whether the OOM killer did it ({}; {} "
      "OOM notification(s) read while it existed, {} after); judging by the system-wide count in /proc/vmstat "
      "instead, which any OOM kill on the host raises: {}",
      svc.unit, why_not, notes.while_there, notes.once_gone, rose ? "it rose" : "it did not rise");
  return rose;
}

bool SystemdWatch::skip_pending(const Service& svc) {
  const ServiceSnapshot& s = svc.snap;
  return !s.condition_ok && s.condition_usec > 0 && s.condition_usec != svc.skip_told_usec && !run_going(s) &&
         s.active_state != "activating";
}

bool SystemdWatch::assert_pending(const Service& svc) {
  const ServiceSnapshot& s = svc.snap;
  return !s.assert_ok && s.assert_usec > 0 && s.assert_usec != svc.assert_told_usec && !run_going(s) &&
         s.active_state != "activating";
}

void SystemdWatch::evaluate(Service& svc, std::vector<cronitor::RunEvent>& out) {
  auto t = timers_.find(svc.timer_path);
  if (t == timers_.end()) return;
  const ServiceSnapshot& s = svc.snap;
  if (assert_pending(svc)) {
    if (svc.asserts_usec != s.assert_usec) {  // which assertion failed: read once the loop is free
      reread_.insert(by_unit_[svc.unit]);
      bus_->call_later(0, [this] { wake(); });
    } else {
      svc.assert_told_usec = s.assert_usec;
      spdlog::debug("systemd: {} failed to start at {} ({} failed)", svc.unit, s.assert_usec,
                    svc.failed_assert.empty() ? "an assertion" : svc.failed_assert);
      for (auto& e : failed_assert_events(t->second.key, svc.unit, s.assert_usec, svc.failed_assert, hostname_))
        out.push_back(std::move(e));
    }
  }
  if (skip_pending(svc)) {
    if (svc.conditions_usec != s.condition_usec) {  // which condition failed: read once the loop is free
      reread_.insert(by_unit_[svc.unit]);
      bus_->call_later(0, [this] { wake(); });
    } else {
      svc.skip_told_usec = s.condition_usec;
      spdlog::debug("systemd: {} skipped at {} ({} failed)", svc.unit, s.condition_usec,
                    svc.failed_condition.empty() ? "a condition" : svc.failed_condition);
      if (handler_.on_skip) handler_.on_skip(t->second, s.condition_usec, svc.failed_condition);
    }
  }
  TrackContext ctx;
  ctx.host = hostname_;
  ctx.now_usec = host_.realtime_usec();
  const bool fresh = tracker_.fresh(svc.unit, s);
  const bool ends = tracker_.end_pending(svc.unit, s);
  // While the run goes: its memory cgroup's count, and (cgroup v1) an OOM notification watch,
  // both while the cgroup exists; systemd removes it as the run ends, before it says so.
  auto follow_cgroup = [&] {
    if (svc.control_group.empty()) return;
    if (auto k = host_.cgroup_oom_kills(svc.control_group)) svc.cgroup_kills_last = *k;
    if (!svc.oom_events && !svc.oom_watch_tried && host_.watch_oom) {
      svc.oom_watch_tried = true;
      if (auto w = host_.watch_oom(svc.control_group)) svc.oom_events = std::move(*w);
    }
  };
  if (!fresh && !ends) {
    if (run_going(s)) follow_cgroup();
    return;
  }
  if (fresh) {
    // A new run: new baselines. A run first seen already ended has none (its OOM stays unknown
    // unless the manager says oom-kill).
    svc.cgroup_kills_last.reset();
    svc.system_kills_start.reset();
    svc.oom_events = nullptr;
    svc.oom_watch_tried = false;
    if (run_going(s)) {
      svc.system_kills_start = host_.system_oom_kills();
      follow_cgroup();
    }
    if (is_catch_up(t->second, s.start_usec) && handler_.on_catch_up) handler_.on_catch_up(t->second, s.start_usec);
  }
  if (ends) {
    ctx.oom_counter_rose = oom_killed(svc);
    svc.cgroup_kills_last.reset();
    svc.oom_events = nullptr;
    ctx.output_tail = host_.journal_tail(s.invocation_id, options_.journal_lines);
  }
  auto events = tracker_.observe(t->second.key, svc.unit, s, ctx);
  for (auto& e : events) out.push_back(std::move(e));
}

void SystemdWatch::deliver(std::vector<cronitor::RunEvent> events) {
  if (events.empty() || !handler_.on_runs) return;
  std::stable_sort(events.begin(), events.end(),
                   [](const cronitor::RunEvent& a, const cronitor::RunEvent& b) { return a.ts < b.ts; });
  handler_.on_runs(std::move(events));
}

std::vector<LiveTimer> SystemdWatch::timer_list() const {
  std::vector<LiveTimer> out;
  out.reserve(timers_.size());
  for (const auto& [path, t] : timers_) out.push_back(t);
  return out;
}

// --- signals -------------------------------------------------------------------------------

void SystemdWatch::properties_changed(const std::string& path, const UnitProps& p) {
  if (auto r = reading_.find(path); r != reading_.end()) {
    merge_props(*r->second, p);  // the read in flight takes it, in stream order
    return;
  }
  if (auto t = timers_.find(path); t != timers_.end()) {
    const LiveTimer old = t->second;
    apply_timer(t->second, p);
    if (t->second.next_elapse_usec != old.next_elapse_usec && handler_.on_elapse && !reloading_)
      handler_.on_elapse(t->second);
    if (reloading_ || !handler_.on_timer_state) return;
    if (auto what = timer_change(old, t->second)) handler_.on_timer_state(t->second, *what);
    return;
  }
  auto s = services_.find(path);
  if (s == services_.end()) {
    // A timer read as not-found that now changes state: its unit file is back and it was
    // started (a mere look loads it inactive and says no more). Read it once the loop is free.
    if (auto nf = not_found_.find(path);
        nf != not_found_.end() && p.active_state && *p.active_state != "inactive" && !reloading_) {
      new_timers_[path] = nf->second;
      not_found_.erase(nf);
      bus_->call_later(0, [this] { wake(); });
    }
    return;
  }
  Service& svc = s->second;
  const bool whole = apply_service_props(svc.snap, p);
  if (p.control_group && !p.control_group->empty()) svc.control_group = *p.control_group;
  // A property only named as invalidated has no value here, and a run first seen going has no
  // ControlGroup yet: read the service afresh, once the loop is free (a signal handler runs
  // inside the bus's dispatch, which cannot wait for replies).
  if (p.invalidated || (whole && tracker_.fresh(svc.unit, svc.snap) && run_going(svc.snap))) {
    reread_.insert(path);
    bus_->call_later(0, [this] { wake(); });
    if (p.invalidated) return;
  }
  // systemd sends the Service interface's changes before the Unit interface's (ActiveState,
  // InvocationID): the snapshot is whole once the latter arrived.
  if (!whole) return;
  std::vector<cronitor::RunEvent> out;
  evaluate(svc, out);
  deliver(std::move(out));
}

void SystemdWatch::unit_new(const std::string& name, const std::string& path) {
  if (!name.ends_with(".timer") || reloading_) return;
  if (auto t = timers_.find(path); t != timers_.end()) {
    // A known timer loaded again (started, or only looked at): its PropertiesChanged tell what
    // changes. It is not read: a read that comes after the manager unloaded it again would load
    // it once more, and each load, unload and read again would follow without end.
    t->second.loaded = true;
    unloaded_.erase(path);
    return;
  }
  // A timer read as not-found, loaded again: by that very read (the manager loads what it is
  // asked about, and unloads it again at once), or by someone else's look. Reading it would load it
  // once more, without end; its start, once its file is back, says more (properties_changed).
  if (not_found_.contains(path)) return;
  new_timers_[path] = name;  // read once the loop is free (not from inside the bus's dispatch)
  bus_->call_later(0, [this] { wake(); });
}

// A stopped timer that no unit wants is unloaded a moment after it stopped; a deleted or
// transient one too. Which of them went is told by its unit file, asked once the loop is free.
void SystemdWatch::unit_removed(const std::string&, const std::string& path) {
  if (reloading_) return;
  auto t = timers_.find(path);
  if (t == timers_.end()) return;
  t->second.loaded = false;
  unloaded_.insert(path);
  bus_->call_later(0, [this] { wake(); });
}

void SystemdWatch::job_removed(const std::string& unit) {
  auto p = by_unit_.find(unit);
  if (p == by_unit_.end() || reading_.contains(p->second)) return;
  auto s = services_.find(p->second);
  if (s == services_.end()) return;
  std::vector<cronitor::RunEvent> out;
  evaluate(s->second, out);
  deliver(std::move(out));
}

void SystemdWatch::reloading(bool active) {
  reloading_ = active;
  if (!active) {  // units may have come and gone: read everything once the loop is free
    resync_due_ = true;
    bus_->call_later(0, [this] { wake(); });
  }
}

void SystemdWatch::manager_owner(bool present) {
  if (!present) {  // daemon-reexec, or the manager died
    live_ = false;
    why_not_ = "the systemd manager left the bus";
    spdlog::info("systemd: the manager left the bus; waiting for it");
    return;
  }
  reloading_ = false;
  resync_due_ = true;
  bus_->call_later(0, [this] { wake(); });
}

void SystemdWatch::disconnected() {
  // Not closed from inside the bus's own dispatch: wake() reconnects once the loop is free.
  live_ = false;
  backoff_usec_ = 0;
  retry_later();
}

}  // namespace cronitor::agent
