#include "agent/daemon/systemd_watch.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-journal.h>
#include <time.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "discovery/job_identity.h"

namespace cronitor::agent {
namespace {

constexpr const char* kDest = "org.freedesktop.systemd1";
constexpr const char* kManagerPath = "/org/freedesktop/systemd1";
constexpr const char* kManager = "org.freedesktop.systemd1.Manager";
constexpr const char* kProps = "org.freedesktop.DBus.Properties";
constexpr const char* kUnitIface = "org.freedesktop.systemd1.Unit";
constexpr const char* kTimerIface = "org.freedesktop.systemd1.Timer";
constexpr const char* kServiceIface = "org.freedesktop.systemd1.Service";
constexpr size_t kMaxTailBytes = 4096;

// RAII for the messages and errors of one call.
struct Reply {
  sd_bus_message* m = nullptr;
  sd_bus_error err = SD_BUS_ERROR_NULL;
  ~Reply() {
    sd_bus_message_unref(m);
    sd_bus_error_free(&err);
  }
  std::string why(int r) const { return err.message ? std::string(err.message) : std::string(std::strerror(-r)); }
};

uint64_t realtime_usec() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

uint64_t monotonic_usec() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

/// The kernel's count of OOM kills (any cgroup): a memory cgroup's counter vanishes with the unit's
/// cgroup, which systemd removes the moment the run ends.
std::optional<uint64_t> vmstat_oom_kills() {
  std::ifstream in("/proc/vmstat");
  std::string name;
  uint64_t value = 0;
  while (in >> name >> value)
    if (name == "oom_kill") return value;
  return std::nullopt;
}

std::string unit_path(const std::string& unit) {
  char* p = nullptr;
  if (sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit.c_str(), &p) < 0) return {};
  std::string out(p);
  free(p);
  return out;
}

/// Reads the value of one a{sv} entry the caller entered, by the property's name, into `s`.
/// Unknown names are skipped. Returns < 0 on a malformed message.
int read_service_property(sd_bus_message* m, const char* name, ServiceSnapshot& s) {
  auto read_u64 = [&](uint64_t& v) { return sd_bus_message_read(m, "v", "t", &v); };
  auto read_str = [&](std::string& v) {
    const char* p = nullptr;
    int r = sd_bus_message_read(m, "v", "s", &p);
    if (r >= 0) v = p ? p : "";
    return r;
  };
  if (!std::strcmp(name, "ExecMainStartTimestamp")) return read_u64(s.start_usec);
  if (!std::strcmp(name, "ExecMainExitTimestamp")) return read_u64(s.exit_usec);
  if (!std::strcmp(name, "ExecMainCode")) return sd_bus_message_read(m, "v", "i", &s.exec_code);
  if (!std::strcmp(name, "ExecMainStatus")) return sd_bus_message_read(m, "v", "i", &s.exec_status);
  if (!std::strcmp(name, "ExecMainPID")) return sd_bus_message_read(m, "v", "u", &s.main_pid);
  if (!std::strcmp(name, "Result")) return read_str(s.result);
  if (!std::strcmp(name, "ActiveState")) return read_str(s.active_state);
  if (!std::strcmp(name, "InvocationID")) {
    int r = sd_bus_message_enter_container(m, 'v', "ay");
    if (r < 0) return r;
    const void* p = nullptr;
    size_t n = 0;
    r = sd_bus_message_read_array(m, 'y', &p, &n);
    if (r < 0) return r;
    static constexpr char kHex[] = "0123456789abcdef";
    s.invocation_id.clear();
    if (n == 16)
      for (size_t i = 0; i < n; ++i) {
        const auto b = static_cast<const uint8_t*>(p)[i];
        s.invocation_id += kHex[b >> 4];
        s.invocation_id += kHex[b & 15];
      }
    return sd_bus_message_exit_container(m);
  }
  return sd_bus_message_skip(m, "v");
}

/// Walks an a{sv} at the read position, handing every entry to `fn(name)`, which reads the value.
template <typename Fn>
int read_dict(sd_bus_message* m, Fn&& fn) {
  int r = sd_bus_message_enter_container(m, 'a', "{sv}");
  if (r < 0) return r;
  while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
    const char* name = nullptr;
    if ((r = sd_bus_message_read(m, "s", &name)) < 0) return r;
    if ((r = fn(name)) < 0) return r;
    if ((r = sd_bus_message_exit_container(m)) < 0) return r;
  }
  if (r < 0) return r;
  return sd_bus_message_exit_container(m);
}

}  // namespace

SystemdWatch::SystemdWatch(sd_event* ev, std::string host, Handler handler, Options options)
    : ev_(ev), host_(std::move(host)), handler_(std::move(handler)), options_(options) {}

SystemdWatch::~SystemdWatch() {
  sd_event_source_disable_unref(retry_src_);
  sd_event_source_disable_unref(resync_src_);
  if (bus_) {
    sd_bus_detach_event(bus_);
    sd_bus_flush_close_unref(bus_);
  }
}

void SystemdWatch::start() { connect(); }

void SystemdWatch::connect() {
  sd_bus* bus = nullptr;
  int r = sd_bus_open_system(&bus);  // honours DBUS_SYSTEM_BUS_ADDRESS
  if (r < 0) {
    disconnect(std::string("cannot reach the system bus: ") + std::strerror(-r));
    schedule_reconnect();
    return;
  }
  bus_ = bus;
  (void)sd_bus_set_method_call_timeout(bus_, options_.call_timeout_usec);
  (void)sd_bus_attach_event(bus_, ev_, SD_EVENT_PRIORITY_NORMAL);
  // The matches are synchronous AddMatch calls: they also complete the connection.
  const bool ok =
      sd_bus_match_signal(bus_, nullptr, nullptr, "/org/freedesktop/DBus/Local", "org.freedesktop.DBus.Local",
                          "Disconnected", disconnected_cb, this) >= 0 &&
      sd_bus_add_match(bus_, nullptr,
                       "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                       "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='org.freedesktop.systemd1'",
                       owner_cb, this) >= 0 &&
      sd_bus_match_signal(bus_, nullptr, kDest, nullptr, kProps, "PropertiesChanged", properties_cb, this) >= 0 &&
      sd_bus_match_signal(bus_, nullptr, kDest, kManagerPath, kManager, "UnitNew", unit_new_cb, this) >= 0 &&
      sd_bus_match_signal(bus_, nullptr, kDest, kManagerPath, kManager, "UnitRemoved", unit_removed_cb, this) >= 0 &&
      sd_bus_match_signal(bus_, nullptr, kDest, kManagerPath, kManager, "JobRemoved", job_removed_cb, this) >= 0 &&
      sd_bus_match_signal(bus_, nullptr, kDest, kManagerPath, kManager, "Reloading", reloading_cb, this) >= 0;
  if (!ok) {
    disconnect("the system bus did not accept our signal matches");
    schedule_reconnect();
    return;
  }
  if (!resync()) schedule_reconnect();
}

void SystemdWatch::disconnect(const std::string& why) {
  if (bus_) {
    sd_bus_detach_event(bus_);
    sd_bus_flush_close_unref(bus_);
    bus_ = nullptr;
  }
  const bool was_live = live_;
  live_ = false;
  if (why_not_ != why || was_live) spdlog::warn("systemd: {}; timers are not observed until it answers", why);
  why_not_ = why;
  if (handler_.on_manager) handler_.on_manager(false, why, {});
}

void SystemdWatch::schedule_reconnect() {
  backoff_usec_ = backoff_usec_ == 0 ? 1'000'000 : std::min(options_.max_backoff_usec, backoff_usec_ * 2);
  const uint64_t at = monotonic_usec() + backoff_usec_;
  if (!retry_src_) {
    sd_event_add_time(ev_, &retry_src_, CLOCK_MONOTONIC, at, 100'000, retry_cb, this);
  } else {
    sd_event_source_set_time(retry_src_, at);
  }
  if (retry_src_) sd_event_source_set_enabled(retry_src_, SD_EVENT_ONESHOT);
}

int SystemdWatch::retry_cb(sd_event_source*, uint64_t, void* ud) {
  auto* w = static_cast<SystemdWatch*>(ud);
  if (w->bus_ && !sd_bus_is_open(w->bus_)) w->disconnect("the system bus connection closed");
  if (w->bus_) {
    if (!w->resync()) w->schedule_reconnect();  // connected, but the manager did not answer
  } else {
    w->connect();
  }
  return 0;
}

int SystemdWatch::resync_cb(sd_event_source*, void* ud) {
  auto* w = static_cast<SystemdWatch*>(ud);
  if (w->bus_ && !w->resync()) w->schedule_reconnect();
  return 0;
}

bool SystemdWatch::resync() {
  const uint64_t t0 = monotonic_usec();
  {
    Reply rep;
    int r = sd_bus_call_method(bus_, kDest, kManagerPath, kManager, "Subscribe", &rep.err, &rep.m, "");
    // A resync after a reload: the manager still has us (a reexec keeps its subscribers too).
    if (r < 0 && sd_bus_error_has_name(&rep.err, "org.freedesktop.systemd1.AlreadySubscribed")) r = 0;
    if (r < 0) {
      const bool gone = !sd_bus_is_open(bus_);
      const std::string why = "no systemd manager answers on the system bus (Subscribe: " + rep.why(r) + ")";
      if (gone) {
        disconnect(why);
      } else {
        if (live_ || why_not_ != why) spdlog::warn("systemd: {}", why);
        live_ = false;
        why_not_ = why;
        if (handler_.on_manager) handler_.on_manager(false, why, {});
      }
      return false;
    }
  }
  Reply list;
  int r = sd_bus_call_method(bus_, kDest, kManagerPath, kManager, "ListUnitsByPatterns", &list.err, &list.m, "asas", 0,
                             1, "*.timer");
  if (r < 0) {
    disconnect("ListUnitsByPatterns: " + list.why(r));
    return false;
  }
  std::vector<std::pair<std::string, std::string>> units;  // name, path
  r = sd_bus_message_enter_container(list.m, 'a', "(ssssssouso)");
  while (r >= 0) {
    const char *name, *desc, *load, *active, *sub, *followed, *path, *jtype, *jpath;
    uint32_t job = 0;
    r = sd_bus_message_read(list.m, "(ssssssouso)", &name, &desc, &load, &active, &sub, &followed, &path, &job, &jtype,
                            &jpath);
    if (r <= 0) break;
    if (units.size() >= options_.max_timers) {
      spdlog::warn("systemd: more than {} timers loaded, ignoring the rest", options_.max_timers);
      break;
    }
    units.emplace_back(name, path);
  }
  if (r < 0) {
    disconnect("ListUnitsByPatterns: malformed reply");
    return false;
  }
  std::map<std::string, LiveTimer> before;
  before.swap(timers_);
  std::vector<cronitor::RunEvent> out;
  if (!add_timers(units, out)) {
    disconnect("reading the timers failed: " + batch_error_);
    return false;
  }
  last_listing_usec_ = monotonic_usec() - t0;
  backoff_usec_ = 0;
  const bool was_live = live_;
  live_ = true;
  why_not_.clear();
  spdlog::info("systemd: {} timers listed in {} ms{}", timers_.size(), last_listing_usec_ / 1000,
               was_live ? " (resync)" : "");
  if (handler_.on_manager) handler_.on_manager(true, "", timer_list());
  // Timers that vanished while we were away (a reload, a reexec, a disconnect).
  for (const auto& [path, t] : before)
    if (!timers_.contains(path) && handler_.on_timer_state) handler_.on_timer_state(t, "removed");
  deliver(std::move(out));
  return true;
}

/// One property read of a batch.
struct BusCall {
  std::string path;
  const char* iface;
  const char* prop;
  std::function<int(sd_bus_message*)> apply;  // reads the reply's "v"
  sd_bus_slot* slot = nullptr;
  struct BusBatch* st = nullptr;
};
struct BusBatch {
  size_t inflight = 0;
  std::string error;  // the first transport error (timeout, disconnect)
};

namespace {

int get_cb(sd_bus_message* m, void* ud, sd_bus_error*) {
  auto* c = static_cast<BusCall*>(ud);
  --c->st->inflight;
  if (sd_bus_message_is_method_error(m, nullptr)) {
    const sd_bus_error* e = sd_bus_message_get_error(m);
    // A property this manager does not have is skipped; no answer at all ends the batch.
    const bool transport = sd_bus_error_has_names(e, SD_BUS_ERROR_NO_REPLY, SD_BUS_ERROR_TIMEOUT,
                                                  SD_BUS_ERROR_DISCONNECTED, SD_BUS_ERROR_LIMITS_EXCEEDED);
    if (transport && c->st->error.empty()) c->st->error = e->message ? e->message : e->name;
    return 0;
  }
  if (c->apply(m) < 0 && c->st->error.empty()) c->st->error = std::string("malformed ") + c->prop;
  return 0;
}

}  // namespace

// Property reads go out pipelined, a bounded number in flight (dbus-daemon caps the replies a
// connection awaits); replies are applied in the order the manager sent them, interleaved with
// its signals, so the snapshots never go back in time.
bool SystemdWatch::run_batch(std::vector<BusCall>& calls) {
  constexpr size_t kWindow = 64;
  BusBatch st;
  size_t next = 0;
  const uint64_t deadline = monotonic_usec() + options_.call_timeout_usec * 2;
  bool ok = true;
  while (ok && (next < calls.size() || st.inflight > 0)) {
    while (next < calls.size() && st.inflight < kWindow) {
      BusCall& c = calls[next++];
      c.st = &st;
      // prop "*": the interface's every property (GetAll), for small interfaces only.
      const bool all = !std::strcmp(c.prop, "*");
      const int q = all ? sd_bus_call_method_async(bus_, &c.slot, kDest, c.path.c_str(), kProps, "GetAll", get_cb, &c,
                                                   "s", c.iface)
                        : sd_bus_call_method_async(bus_, &c.slot, kDest, c.path.c_str(), kProps, "Get", get_cb, &c,
                                                   "ss", c.iface, c.prop);
      if (q < 0) {
        st.error = "sd_bus_call_method_async failed";
        ok = false;
        break;
      }
      ++st.inflight;
    }
    if (!ok) break;
    int r = sd_bus_process(bus_, nullptr);
    if (r < 0) {
      st.error = std::string("sd_bus_process: ") + std::strerror(-r);
      break;
    }
    if (!st.error.empty()) break;
    if (r > 0) continue;
    const uint64_t t = monotonic_usec();
    if (t >= deadline) {
      st.error = "timed out";
      break;
    }
    (void)sd_bus_wait(bus_, deadline - t);
  }
  for (BusCall& c : calls) c.slot = sd_bus_slot_unref(c.slot);  // cancels what is still pending
  batch_error_ = st.error;
  return st.error.empty();
}

bool SystemdWatch::add_timers(const std::vector<std::pair<std::string, std::string>>& units,
                              std::vector<cronitor::RunEvent>& out) {
  auto str = [](std::string& into) {
    return [&into](sd_bus_message* m) {
      const char* v = nullptr;
      int r = sd_bus_message_read(m, "v", "s", &v);
      if (r >= 0) into = v ? v : "";
      return r;
    };
  };
  auto u64 = [](uint64_t& into) {
    return [&into](sd_bus_message* m) { return sd_bus_message_read(m, "v", "t", &into); };
  };
  std::map<std::string, LiveTimer> found;  // path -> timer
  std::vector<BusCall> calls;
  for (const auto& [unit, path] : units) {
    LiveTimer& t = found[path];
    t.unit = unit;
    t.key = discovery::derive_key("timer", "", "", unit);
    calls.push_back({path, kTimerIface, "*", [&t, str, u64](sd_bus_message* m) {
                       return read_dict(m, [&](const char* name) -> int {
                         if (!std::strcmp(name, "Unit")) return str(t.service)(m);
                         if (!std::strcmp(name, "NextElapseUSecRealtime")) return u64(t.next_elapse_realtime_usec)(m);
                         if (!std::strcmp(name, "NextElapseUSecMonotonic")) return u64(t.next_elapse_monotonic_usec)(m);
                         return sd_bus_message_skip(m, "v");
                       });
                     }});
    calls.push_back({path, kUnitIface, "ActiveState", str(t.active_state)});
  }
  if (!run_batch(calls)) return false;
  std::vector<std::string> fill;  // service paths to read
  for (auto& [path, t] : found) {
    if (t.service.empty()) continue;
    const std::string spath = unit_path(t.service);
    if (spath.empty()) continue;
    auto [it, fresh] = services_.try_emplace(spath);
    if (fresh || it->second.timer_path.empty() || !timers_.contains(it->second.timer_path)) {
      it->second.unit = t.service;
      it->second.timer_path = path;
      by_unit_[t.service] = spath;
    }
    fill.push_back(spath);
  }
  for (auto& [path, t] : found) timers_[path] = t;
  std::vector<Service*> svcs;
  for (const auto& spath : fill) svcs.push_back(&services_[spath]);
  if (!read_services(svcs)) return false;
  for (Service* svc : svcs) evaluate(*svc, out);
  return true;
}

bool SystemdWatch::read_services(const std::vector<Service*>& svcs) {
  std::vector<BusCall> calls;
  for (Service* svc : svcs) {
    svc->filling = true;
    const std::string& spath = by_unit_[svc->unit];
    // systemd's own order: the Service interface, then the Unit's (ActiveState, InvocationID).
    for (const char* prop :
         {"ExecMainStartTimestamp", "ExecMainExitTimestamp", "ExecMainCode", "ExecMainStatus", "ExecMainPID", "Result"})
      calls.push_back({spath, kServiceIface, prop,
                       [svc, prop](sd_bus_message* m) { return read_service_property(m, prop, svc->snap); }});
    for (const char* prop : {"ActiveState", "InvocationID"})
      calls.push_back({spath, kUnitIface, prop,
                       [svc, prop](sd_bus_message* m) { return read_service_property(m, prop, svc->snap); }});
  }
  const bool ok = run_batch(calls);
  for (Service* svc : svcs) {
    svc->filling = false;
    if (!svc->baseline_read) {  // first read: the OOM baseline (a run that already ended: unknown)
      auto k = vmstat_oom_kills();
      svc->oom_known = k.has_value() && !run_ended(svc->snap);
      svc->oom_kills_at_start = k.value_or(0);
      svc->baseline_read = true;
    }
  }
  return ok;
}

void SystemdWatch::evaluate(Service& svc, std::vector<cronitor::RunEvent>& out) {
  auto t = timers_.find(svc.timer_path);
  if (t == timers_.end()) return;
  const ServiceSnapshot& s = svc.snap;
  TrackContext ctx;
  ctx.host = host_;
  ctx.now_usec = realtime_usec();
  const bool fresh = tracker_.fresh(svc.unit, s);
  if (fresh && run_going(s)) {  // the baseline for this run
    auto k = vmstat_oom_kills();
    svc.oom_known = k.has_value();
    svc.oom_kills_at_start = k.value_or(0);
  }
  const bool ends = tracker_.end_pending(svc.unit, s);
  if (ends) {
    // First seen ended: the baseline is the count at the previous run's end (or at listing).
    auto k = vmstat_oom_kills();
    ctx.oom_counter_rose = svc.oom_known && k && *k > svc.oom_kills_at_start;
    svc.oom_known = k.has_value();
    svc.oom_kills_at_start = k.value_or(0);
    ctx.output_tail = journal_tail(s.invocation_id);
  }
  if (!fresh && !ends) return;
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

// The invocation's output as `journalctl -u` shows it: the last lines, oldest first.
std::string SystemdWatch::journal_tail(const std::string& invocation_id) const {
  if (invocation_id.empty() || options_.journal_lines == 0) return {};
  sd_journal* j = nullptr;
  if (sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY) < 0) return {};
  std::unique_ptr<sd_journal, decltype(&sd_journal_close)> guard(j, sd_journal_close);
  const std::string sys = "_SYSTEMD_INVOCATION_ID=" + invocation_id;
  const std::string user = "USER_INVOCATION_ID=" + invocation_id;
  if (sd_journal_add_match(j, sys.data(), sys.size()) < 0 || sd_journal_add_disjunction(j) < 0 ||
      sd_journal_add_match(j, user.data(), user.size()) < 0 || sd_journal_seek_tail(j) < 0)
    return {};
  std::vector<std::string> lines;
  size_t bytes = 0;
  while (lines.size() < options_.journal_lines && bytes < kMaxTailBytes && sd_journal_previous(j) > 0) {
    const void* data = nullptr;
    size_t n = 0;
    if (sd_journal_get_data(j, "MESSAGE", &data, &n) < 0 || n < 8) continue;
    std::string line(static_cast<const char*>(data) + 8, n - 8);  // after "MESSAGE="
    bytes += line.size() + 1;
    lines.push_back(std::move(line));
  }
  std::string out;
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) out += *it + "\n";
  return out;
}

// --- signals -------------------------------------------------------------------------------

void SystemdWatch::on_properties_changed(sd_bus_message* m) {
  const char* path = sd_bus_message_get_path(m);
  const char* iface = nullptr;
  if (!path || sd_bus_message_read(m, "s", &iface) < 0) return;
  if (auto t = timers_.find(path); t != timers_.end()) {
    std::string state;
    int r = read_dict(m, [&](const char* name) -> int {
      if (!std::strcmp(name, "ActiveState")) {
        const char* s = nullptr;
        int q = sd_bus_message_read(m, "v", "s", &s);
        if (q >= 0 && s) state = s;
        return q;
      }
      if (!std::strcmp(name, "NextElapseUSecRealtime"))
        return sd_bus_message_read(m, "v", "t", &t->second.next_elapse_realtime_usec);
      if (!std::strcmp(name, "NextElapseUSecMonotonic"))
        return sd_bus_message_read(m, "v", "t", &t->second.next_elapse_monotonic_usec);
      return sd_bus_message_skip(m, "v");
    });
    if (r < 0 || state.empty() || state == t->second.active_state) return;
    const std::string old = t->second.active_state;
    t->second.active_state = state;
    if (reloading_ || !handler_.on_timer_state) return;
    const bool up = state == "active";
    if (!up && (old == "active" || old == "activating") && state != "activating")
      handler_.on_timer_state(t->second, "stopped");
    else if (up && old != "active")
      handler_.on_timer_state(t->second, "");
    return;
  }
  auto s = services_.find(path);
  if (s == services_.end()) return;
  Service& svc = s->second;
  bool state_changed = false;
  int r = read_dict(m, [&](const char* name) -> int {
    if (!std::strcmp(name, "ActiveState") || !std::strcmp(name, "InvocationID")) state_changed = true;
    return read_service_property(m, name, svc.snap);
  });
  if (r < 0) return;
  // A property only named as invalidated has no value here: read the service afresh.
  bool invalidated = false;
  if (sd_bus_message_enter_container(m, 'a', "s") > 0) {
    const char* name = nullptr;
    while (sd_bus_message_read(m, "s", &name) > 0) invalidated = true;
  }
  if (svc.filling) return;  // the batch that reads it evaluates it
  if (invalidated && !read_services({&svc})) return;
  // systemd sends the Service interface's changes before the Unit interface's (ActiveState,
  // InvocationID): the snapshot is whole once the latter arrived.
  if (!state_changed && !invalidated) return;
  std::vector<cronitor::RunEvent> out;
  evaluate(svc, out);
  deliver(std::move(out));
}

void SystemdWatch::on_unit_new(sd_bus_message* m) {
  const char *id = nullptr, *path = nullptr;
  if (sd_bus_message_read(m, "so", &id, &path) < 0 || !std::string_view(id).ends_with(".timer")) return;
  if (timers_.contains(path) || timers_.size() >= options_.max_timers || reloading_) return;
  std::vector<cronitor::RunEvent> out;
  if (!add_timers({{id, path}}, out)) return;
  if (auto t = timers_.find(path); t != timers_.end() && handler_.on_timer_state && t->second.active_state == "active")
    handler_.on_timer_state(t->second, "");
  deliver(std::move(out));
}

void SystemdWatch::on_unit_removed(sd_bus_message* m) {
  const char *id = nullptr, *path = nullptr;
  if (sd_bus_message_read(m, "so", &id, &path) < 0 || reloading_) return;
  auto t = timers_.find(path);
  if (t == timers_.end()) return;
  LiveTimer gone = t->second;
  timers_.erase(t);
  if (handler_.on_timer_state) handler_.on_timer_state(gone, "removed");
}

void SystemdWatch::on_job_removed(sd_bus_message* m) {
  uint32_t id = 0;
  const char *job = nullptr, *unit = nullptr, *result = nullptr;
  if (sd_bus_message_read(m, "uoss", &id, &job, &unit, &result) < 0) return;
  auto p = by_unit_.find(unit);
  if (p == by_unit_.end()) return;
  auto s = services_.find(p->second);
  if (s == services_.end()) return;
  std::vector<cronitor::RunEvent> out;
  evaluate(s->second, out);
  deliver(std::move(out));
}

void SystemdWatch::on_reloading(sd_bus_message* m) {
  int active = 0;
  if (sd_bus_message_read(m, "b", &active) < 0) return;
  reloading_ = active != 0;
  if (!reloading_) {  // units may have come and gone: read everything once the loop is free
    if (!resync_src_) sd_event_add_defer(ev_, &resync_src_, resync_cb, this);
    if (resync_src_) sd_event_source_set_enabled(resync_src_, SD_EVENT_ONESHOT);
  }
}

void SystemdWatch::on_owner_changed(sd_bus_message* m) {
  const char *name = nullptr, *old_owner = nullptr, *new_owner = nullptr;
  if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0) return;
  if (!new_owner || !*new_owner) {  // daemon-reexec, or the manager died
    live_ = false;
    why_not_ = "the systemd manager left the bus";
    spdlog::info("systemd: the manager left the bus; waiting for it");
    return;
  }
  reloading_ = false;
  if (!resync_src_) sd_event_add_defer(ev_, &resync_src_, resync_cb, this);
  if (resync_src_) sd_event_source_set_enabled(resync_src_, SD_EVENT_ONESHOT);
}

int SystemdWatch::properties_cb(sd_bus_message* m, void* ud, sd_bus_error*) {
  static_cast<SystemdWatch*>(ud)->on_properties_changed(m);
  return 0;
}
int SystemdWatch::unit_new_cb(sd_bus_message* m, void* ud, sd_bus_error*) {
  static_cast<SystemdWatch*>(ud)->on_unit_new(m);
  return 0;
}
int SystemdWatch::unit_removed_cb(sd_bus_message* m, void* ud, sd_bus_error*) {
  static_cast<SystemdWatch*>(ud)->on_unit_removed(m);
  return 0;
}
int SystemdWatch::job_removed_cb(sd_bus_message* m, void* ud, sd_bus_error*) {
  static_cast<SystemdWatch*>(ud)->on_job_removed(m);
  return 0;
}
int SystemdWatch::reloading_cb(sd_bus_message* m, void* ud, sd_bus_error*) {
  static_cast<SystemdWatch*>(ud)->on_reloading(m);
  return 0;
}
int SystemdWatch::owner_cb(sd_bus_message* m, void* ud, sd_bus_error*) {
  static_cast<SystemdWatch*>(ud)->on_owner_changed(m);
  return 0;
}
int SystemdWatch::disconnected_cb(sd_bus_message*, void* ud, sd_bus_error*) {
  auto* w = static_cast<SystemdWatch*>(ud);
  // Not from inside the bus's own dispatch: retry_cb closes it once the loop is free.
  w->live_ = false;
  w->backoff_usec_ = 0;
  w->schedule_reconnect();
  return 0;
}

}  // namespace cronitor::agent
