#include "agent/sources/sd_systemd_bus.h"

#include <time.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "agent/eval/systemd_timespan.h"
#include "common/event_source.h"

namespace cronitor::agent {
namespace {

constexpr const char* kDest = "org.freedesktop.systemd1";
constexpr const char* kManagerPath = "/org/freedesktop/systemd1";
constexpr const char* kManager = "org.freedesktop.systemd1.Manager";
constexpr const char* kProps = "org.freedesktop.DBus.Properties";
constexpr const char* kUnitIface = "org.freedesktop.systemd1.Unit";
constexpr const char* kTimerIface = "org.freedesktop.systemd1.Timer";
constexpr const char* kServiceIface = "org.freedesktop.systemd1.Service";
/// Replies awaited at once: dbus-daemon caps the replies one connection may await.
constexpr size_t kWindow = 64;

// The message and the error of one call, each freed with it.
struct Reply {
  BusMessage m;
  sd_bus_error err = SD_BUS_ERROR_NULL;
  ~Reply() { sd_bus_error_free(&err); }
  std::string why(int r) const { return err.message ? std::string(err.message) : std::string(std::strerror(-r)); }
};

/// TimersCalendar a(sst) or TimersMonotonic a(stt) as settings: the spec ("*-*-* 02:00:00"), or
/// "OnUnitActiveSec=5s" (the bus says "OnUnitActiveUSec" and microseconds).
int read_timer_list(sd_bus_message* m, bool calendar, std::optional<std::vector<std::string>>& into) {
  int r = sd_bus_message_enter_container(m, 'v', calendar ? "a(sst)" : "a(stt)");
  if (r < 0) return r;
  if ((r = sd_bus_message_enter_container(m, 'a', calendar ? "(sst)" : "(stt)")) < 0) return r;
  std::vector<std::string> out;
  for (;;) {
    const char *base = nullptr, *spec = nullptr;
    uint64_t value = 0, next = 0;
    r = calendar ? sd_bus_message_read(m, "(sst)", &base, &spec, &next)
                 : sd_bus_message_read(m, "(stt)", &base, &value, &next);
    if (r <= 0) break;
    if (calendar) {
      out.emplace_back(spec ? spec : "");
    } else {
      std::string name = base ? base : "";
      if (name.ends_with("USec")) name = name.substr(0, name.size() - 4) + "Sec";
      out.push_back(name + "=" + systemd_timespan_text(value));
    }
  }
  if (r < 0) return r;
  into = std::move(out);
  if ((r = sd_bus_message_exit_container(m)) < 0) return r;
  return sd_bus_message_exit_container(m);
}

/// Conditions a(sbbsi): the first condition whose last check failed (state < 0), as a unit
/// file writes it ("ConditionPathExists=!/x"); "" when none did.
int read_failed_condition(sd_bus_message* m, std::optional<std::string>& into) {
  int r = sd_bus_message_enter_container(m, 'v', "a(sbbsi)");
  if (r < 0) return r;
  if ((r = sd_bus_message_enter_container(m, 'a', "(sbbsi)")) < 0) return r;
  std::string failed;
  for (;;) {
    const char *type = nullptr, *param = nullptr;
    int trigger = 0, negate = 0, state = 0;
    r = sd_bus_message_read(m, "(sbbsi)", &type, &trigger, &negate, &param, &state);
    if (r <= 0) break;
    if (state < 0 && failed.empty())
      failed = std::string(type ? type : "") + "=" + (trigger ? "|" : "") + (negate ? "!" : "") + (param ? param : "");
  }
  if (r < 0) return r;
  into = std::move(failed);
  if ((r = sd_bus_message_exit_container(m)) < 0) return r;
  return sd_bus_message_exit_container(m);
}

/// Reads the "v" at the read position into the matching field of `p`, by the property's name;
/// names we do not follow are skipped. < 0: a malformed message.
int read_prop(sd_bus_message* m, const char* name, UnitProps& p) {
  auto u64 = [&](std::optional<uint64_t>& into) {
    uint64_t v = 0;
    int r = sd_bus_message_read(m, "v", "t", &v);
    if (r >= 0) into = v;
    return r;
  };
  auto i32 = [&](std::optional<int32_t>& into) {
    int32_t v = 0;
    int r = sd_bus_message_read(m, "v", "i", &v);
    if (r >= 0) into = v;
    return r;
  };
  auto str = [&](std::optional<std::string>& into) {
    const char* v = nullptr;
    int r = sd_bus_message_read(m, "v", "s", &v);
    if (r >= 0) into = v ? v : "";
    return r;
  };
  if (!std::strcmp(name, "ActiveState")) return str(p.active_state);
  if (!std::strcmp(name, "LoadState")) return str(p.load_state);
  if (!std::strcmp(name, "ActiveEnterTimestamp")) return u64(p.active_enter_usec);
  if (!std::strcmp(name, "Unit")) return str(p.unit);
  if (!std::strcmp(name, "NextElapseUSecRealtime")) return u64(p.next_elapse_realtime_usec);
  if (!std::strcmp(name, "NextElapseUSecMonotonic")) return u64(p.next_elapse_monotonic_usec);
  if (!std::strcmp(name, "LastTriggerUSec")) return u64(p.last_trigger_usec);
  if (!std::strcmp(name, "AccuracyUSec")) return u64(p.accuracy_usec);
  if (!std::strcmp(name, "RandomizedDelayUSec")) return u64(p.randomized_delay_usec);
  if (!std::strcmp(name, "ExecMainStartTimestamp")) return u64(p.exec_start_usec);
  if (!std::strcmp(name, "ExecMainExitTimestamp")) return u64(p.exec_exit_usec);
  if (!std::strcmp(name, "ExecMainCode")) return i32(p.exec_code);
  if (!std::strcmp(name, "ExecMainStatus")) return i32(p.exec_status);
  if (!std::strcmp(name, "Result")) return str(p.result);
  if (!std::strcmp(name, "ControlGroup")) return str(p.control_group);
  if (!std::strcmp(name, "ConditionTimestamp")) return u64(p.condition_usec);
  if (!std::strcmp(name, "TimersCalendar")) return read_timer_list(m, true, p.calendar);
  if (!std::strcmp(name, "TimersMonotonic")) return read_timer_list(m, false, p.monotonic);
  if (!std::strcmp(name, "Conditions")) return read_failed_condition(m, p.failed_condition);
  if (!std::strcmp(name, "Asserts")) return read_failed_condition(m, p.failed_assert);  // the same a(sbbsi)
  if (!std::strcmp(name, "AssertTimestamp")) return u64(p.assert_usec);
  if (!std::strcmp(name, "AssertResult")) {
    int v = 0;
    int r = sd_bus_message_read(m, "v", "b", &v);
    if (r >= 0) p.assert_result = v != 0;
    return r;
  }
  if (!std::strcmp(name, "ConditionResult")) {
    int v = 0;
    int r = sd_bus_message_read(m, "v", "b", &v);
    if (r >= 0) p.condition_result = v != 0;
    return r;
  }
  if (!std::strcmp(name, "Persistent")) {
    int v = 0;
    int r = sd_bus_message_read(m, "v", "b", &v);
    if (r >= 0) p.persistent = v != 0;
    return r;
  }
  if (!std::strcmp(name, "ExecMainPID")) {
    uint32_t v = 0;
    int r = sd_bus_message_read(m, "v", "u", &v);
    if (r >= 0) p.main_pid = v;
    return r;
  }
  if (!std::strcmp(name, "InvocationID")) {
    int r = sd_bus_message_enter_container(m, 'v', "ay");
    if (r < 0) return r;
    const void* data = nullptr;
    size_t n = 0;
    if ((r = sd_bus_message_read_array(m, 'y', &data, &n)) < 0) return r;
    static constexpr char kHex[] = "0123456789abcdef";
    std::string id;
    if (n == 16)
      for (size_t i = 0; i < n; ++i) {
        const auto b = static_cast<const uint8_t*>(data)[i];
        id += kHex[b >> 4];
        id += kHex[b & 15];
      }
    p.invocation_id = std::move(id);
    return sd_bus_message_exit_container(m);
  }
  return sd_bus_message_skip(m, "v");
}

/// Walks an a{sv} at the read position into `p`.
int read_dict(sd_bus_message* m, UnitProps& p) {
  int r = sd_bus_message_enter_container(m, 'a', "{sv}");
  if (r < 0) return r;
  while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
    const char* name = nullptr;
    if ((r = sd_bus_message_read(m, "s", &name)) < 0) return r;
    if ((r = read_prop(m, name, p)) < 0) return r;
    if ((r = sd_bus_message_exit_container(m)) < 0) return r;
  }
  if (r < 0) return r;
  return sd_bus_message_exit_container(m);
}

/// One Get or GetAll of a batch.
struct Call {
  std::string path;
  const char* iface;
  const char* prop;  // nullptr: GetAll (small interfaces only)
  UnitProps* into;
  BusSlot slot;
  size_t* inflight = nullptr;
  std::string* error = nullptr;
};

int get_cb(sd_bus_message* m, void* ud, sd_bus_error*) {
  auto* c = static_cast<Call*>(ud);
  --*c->inflight;
  if (sd_bus_message_is_method_error(m, nullptr)) {
    const sd_bus_error* e = sd_bus_message_get_error(m);
    // A property this manager does not have is skipped; no answer at all ends the batch.
    const bool transport = sd_bus_error_has_names(e, SD_BUS_ERROR_NO_REPLY, SD_BUS_ERROR_TIMEOUT,
                                                  SD_BUS_ERROR_DISCONNECTED, SD_BUS_ERROR_LIMITS_EXCEEDED);
    if (transport && c->error->empty()) *c->error = e->message ? e->message : e->name;
    return 0;
  }
  const int r = c->prop ? read_prop(m, c->prop, *c->into) : read_dict(m, *c->into);
  if (r < 0 && c->error->empty()) *c->error = std::string("malformed ") + (c->prop ? c->prop : c->iface);
  return 0;
}

}  // namespace

SdSystemdBus::SdSystemdBus(sd_event* ev, uint64_t call_timeout_usec) : ev_(ev), call_timeout_usec_(call_timeout_usec) {}

SdSystemdBus::~SdSystemdBus() { close(); }

Result<void> SdSystemdBus::open(Listener& listener) {
  close();
  listener_ = &listener;
  int r = sd_bus_open_system(out_ptr(bus_));  // honours DBUS_SYSTEM_BUS_ADDRESS
  if (r < 0) return fail(std::string("cannot reach the system bus: ") + std::strerror(-r));
  sd_bus* const b = bus_.get();
  (void)sd_bus_set_method_call_timeout(b, call_timeout_usec_);
  (void)sd_bus_attach_event(b, ev_, SD_EVENT_PRIORITY_NORMAL);
  // The matches are synchronous AddMatch calls: they also complete the connection.
  const bool ok =
      sd_bus_match_signal(b, nullptr, nullptr, "/org/freedesktop/DBus/Local", "org.freedesktop.DBus.Local",
                          "Disconnected", disconnected_cb, this) >= 0 &&
      sd_bus_add_match(b, nullptr,
                       "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                       "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='org.freedesktop.systemd1'",
                       owner_cb, this) >= 0 &&
      sd_bus_match_signal(b, nullptr, kDest, nullptr, kProps, "PropertiesChanged", properties_cb, this) >= 0 &&
      sd_bus_match_signal(b, nullptr, kDest, kManagerPath, kManager, "UnitNew", unit_new_cb, this) >= 0 &&
      sd_bus_match_signal(b, nullptr, kDest, kManagerPath, kManager, "UnitRemoved", unit_removed_cb, this) >= 0 &&
      sd_bus_match_signal(b, nullptr, kDest, kManagerPath, kManager, "JobRemoved", job_removed_cb, this) >= 0 &&
      sd_bus_match_signal(b, nullptr, kDest, kManagerPath, kManager, "Reloading", reloading_cb, this) >= 0;
  if (!ok) {
    close();
    return fail("the system bus did not accept our signal matches");
  }
  return {};
}

void SdSystemdBus::close() { bus_.reset(); }

bool SdSystemdBus::connected() const { return bus_ && sd_bus_is_open(bus_.get()) > 0; }

Result<std::vector<UnitRef>> SdSystemdBus::list_timers(size_t max) {
  if (!bus_) return fail("not connected");
  {
    Reply rep;
    int r = sd_bus_call_method(bus_.get(), kDest, kManagerPath, kManager, "Subscribe", &rep.err, out_ptr(rep.m), "");
    // After a reload the manager still has us (a reexec keeps its subscribers too).
    if (r < 0 && !sd_bus_error_has_name(&rep.err, "org.freedesktop.systemd1.AlreadySubscribed"))
      return fail("no systemd manager answers on the system bus (Subscribe: " + rep.why(r) + ")");
  }
  Reply list;
  int r = sd_bus_call_method(bus_.get(), kDest, kManagerPath, kManager, "ListUnitsByPatterns", &list.err,
                             out_ptr(list.m), "asas", 0, 1, "*.timer");
  if (r < 0) return fail("ListUnitsByPatterns: " + list.why(r));
  std::vector<UnitRef> units;
  r = sd_bus_message_enter_container(list.m.get(), 'a', "(ssssssouso)");
  while (r >= 0 && units.size() < max) {
    const char *name, *desc, *load, *active, *sub, *followed, *path, *jtype, *jpath;
    uint32_t job = 0;
    r = sd_bus_message_read(list.m.get(), "(ssssssouso)", &name, &desc, &load, &active, &sub, &followed, &path, &job,
                            &jtype, &jpath);
    if (r <= 0) break;
    units.push_back({name, path});
  }
  if (r < 0) return fail("ListUnitsByPatterns: malformed reply");
  return units;
}

Result<std::map<std::string, std::string>> SdSystemdBus::unit_files(const std::vector<std::string>& names) {
  if (!bus_) return fail("not connected");
  std::map<std::string, std::string> out;
  if (names.empty()) return out;
  // The patterns are fnmatch() globs: a unit name's own '\' (its escapes, "\x2d"), '*', '?'
  // and '[' are matched literally.
  std::vector<std::string> patterns;
  for (const auto& n : names) {
    std::string p;
    for (char c : n) {
      if (c == '\\' || c == '*' || c == '?' || c == '[') p += '\\';
      p += c;
    }
    patterns.push_back(std::move(p));
  }
  std::vector<char*> strv;
  for (auto& p : patterns) strv.push_back(p.data());
  strv.push_back(nullptr);
  Reply call, rep;
  int r = sd_bus_message_new_method_call(bus_.get(), out_ptr(call.m), kDest, kManagerPath, kManager,
                                         "ListUnitFilesByPatterns");
  if (r >= 0) r = sd_bus_message_append_strv(call.m.get(), nullptr);  // every state
  if (r >= 0) r = sd_bus_message_append_strv(call.m.get(), strv.data());
  if (r >= 0) r = sd_bus_call(bus_.get(), call.m.get(), call_timeout_usec_, &rep.err, out_ptr(rep.m));
  if (r < 0) return fail("ListUnitFilesByPatterns: " + rep.why(r));
  r = sd_bus_message_enter_container(rep.m.get(), 'a', "(ss)");
  while (r > 0) {
    const char *path = nullptr, *state = nullptr;
    r = sd_bus_message_read(rep.m.get(), "(ss)", &path, &state);
    if (r <= 0) break;
    const char* slash = std::strrchr(path, '/');
    out[slash ? slash + 1 : path] = state;
  }
  if (r < 0) return fail("ListUnitFilesByPatterns: malformed reply");
  return out;
}

// Reads go out pipelined, a bounded number in flight; replies are applied in the order the
// manager sent them, interleaved with its signals, so what the listener sees never goes back
// in time.
Result<void> SdSystemdBus::read(std::vector<UnitRead>& reads) {
  if (!bus_) return fail("not connected");
  std::vector<Call> calls;
  for (UnitRead& u : reads) {
    switch (u.kind) {
      case UnitRead::Kind::kTimer:
        calls.push_back({u.path, kTimerIface, nullptr, &u.props});
        calls.push_back({u.path, kUnitIface, "ActiveState", &u.props});
        calls.push_back({u.path, kUnitIface, "LoadState", &u.props});
        break;
      case UnitRead::Kind::kTimerActivation:
        calls.push_back({u.path, kUnitIface, "ActiveEnterTimestamp", &u.props});
        break;
      case UnitRead::Kind::kServiceCgroup:
        calls.push_back({u.path, kServiceIface, "ControlGroup", &u.props});
        break;
      case UnitRead::Kind::kServiceConditions:
        calls.push_back({u.path, kUnitIface, "Conditions", &u.props});
        calls.push_back({u.path, kUnitIface, "Asserts", &u.props});
        break;
      case UnitRead::Kind::kService:
        // systemd's own order: the Service interface, then the Unit's (ActiveState, InvocationID).
        for (const char* p : {"ExecMainStartTimestamp", "ExecMainExitTimestamp", "ExecMainCode", "ExecMainStatus",
                              "ExecMainPID", "Result"})
          calls.push_back({u.path, kServiceIface, p, &u.props});
        for (const char* p : {"ConditionResult", "ConditionTimestamp", "AssertResult", "AssertTimestamp", "ActiveState",
                              "InvocationID"})
          calls.push_back({u.path, kUnitIface, p, &u.props});
        break;
    }
  }
  size_t inflight = 0, next = 0;
  std::string error;
  const uint64_t deadline = monotonic_usec() + call_timeout_usec_ * 2;
  while (error.empty() && (next < calls.size() || inflight > 0)) {
    while (next < calls.size() && inflight < kWindow) {
      Call& c = calls[next++];
      c.inflight = &inflight;
      c.error = &error;
      const int q = c.prop ? sd_bus_call_method_async(bus_.get(), out_ptr(c.slot), kDest, c.path.c_str(), kProps, "Get",
                                                      get_cb, &c, "ss", c.iface, c.prop)
                           : sd_bus_call_method_async(bus_.get(), out_ptr(c.slot), kDest, c.path.c_str(), kProps,
                                                      "GetAll", get_cb, &c, "s", c.iface);
      if (q < 0) {
        error = std::string("sd_bus_call_method_async: ") + std::strerror(-q);
        break;
      }
      ++inflight;
    }
    if (!error.empty()) break;
    int r = sd_bus_process(bus_.get(), nullptr);
    if (r < 0) {
      error = std::string("sd_bus_process: ") + std::strerror(-r);
      break;
    }
    if (r > 0 || !error.empty()) continue;
    const uint64_t t = monotonic_usec();
    if (t >= deadline) {
      error = "timed out";
      break;
    }
    (void)sd_bus_wait(bus_.get(), deadline - t);
  }
  for (Call& c : calls) c.slot.reset();  // cancels what is still pending
  if (!error.empty()) return fail(error);
  return {};
}

void SdSystemdBus::call_later(uint64_t delay_usec, std::function<void()> fn) {
  const uint64_t at = monotonic_usec() + delay_usec;
  if (later_at_ != 0 && later_at_ <= at) return;  // the waiting call comes sooner
  later_at_ = at;
  later_fn_ = std::move(fn);
  if (!later_src_) {
    sd_event_source* s = nullptr;
    if (sd_event_add_time(ev_, &s, CLOCK_MONOTONIC, at, 100'000, later_cb, this) < 0) return;
    later_src_.reset(s);
  } else {
    sd_event_source_set_time(later_src_.get(), at);
  }
  sd_event_source_set_enabled(later_src_.get(), SD_EVENT_ONESHOT);
}

int SdSystemdBus::later_cb(sd_event_source*, uint64_t, void* ud) {
  auto* b = static_cast<SdSystemdBus*>(ud);
  b->later_at_ = 0;
  auto fn = std::move(b->later_fn_);
  b->later_fn_ = nullptr;
  if (fn) fn();
  return 0;
}

// --- signals -------------------------------------------------------------------------------

int SdSystemdBus::properties_cb(sd_bus_message* m, void* ud, sd_bus_error*) {
  auto* b = static_cast<SdSystemdBus*>(ud);
  const char* path = sd_bus_message_get_path(m);
  const char* iface = nullptr;
  if (!path || sd_bus_message_read(m, "s", &iface) < 0) return 0;
  UnitProps p;
  if (read_dict(m, p) < 0) return 0;
  if (sd_bus_message_enter_container(m, 'a', "s") > 0) {
    const char* name = nullptr;
    while (sd_bus_message_read(m, "s", &name) > 0) p.invalidated = true;
  }
  b->listener_->properties_changed(path, p);
  return 0;
}

int SdSystemdBus::unit_new_cb(sd_bus_message* m, void* ud, sd_bus_error*) {
  const char *id = nullptr, *path = nullptr;
  if (sd_bus_message_read(m, "so", &id, &path) >= 0) static_cast<SdSystemdBus*>(ud)->listener_->unit_new(id, path);
  return 0;
}

int SdSystemdBus::unit_removed_cb(sd_bus_message* m, void* ud, sd_bus_error*) {
  const char *id = nullptr, *path = nullptr;
  if (sd_bus_message_read(m, "so", &id, &path) >= 0) static_cast<SdSystemdBus*>(ud)->listener_->unit_removed(id, path);
  return 0;
}

int SdSystemdBus::job_removed_cb(sd_bus_message* m, void* ud, sd_bus_error*) {
  uint32_t id = 0;
  const char *job = nullptr, *unit = nullptr, *result = nullptr;
  if (sd_bus_message_read(m, "uoss", &id, &job, &unit, &result) >= 0)
    static_cast<SdSystemdBus*>(ud)->listener_->job_removed(unit);
  return 0;
}

int SdSystemdBus::reloading_cb(sd_bus_message* m, void* ud, sd_bus_error*) {
  int active = 0;
  if (sd_bus_message_read(m, "b", &active) >= 0) static_cast<SdSystemdBus*>(ud)->listener_->reloading(active != 0);
  return 0;
}

int SdSystemdBus::owner_cb(sd_bus_message* m, void* ud, sd_bus_error*) {
  const char *name = nullptr, *old_owner = nullptr, *new_owner = nullptr;
  if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) >= 0)
    static_cast<SdSystemdBus*>(ud)->listener_->manager_owner(new_owner && *new_owner);
  return 0;
}

int SdSystemdBus::disconnected_cb(sd_bus_message*, void* ud, sd_bus_error*) {
  // Not closed from inside the bus's own dispatch: the listener schedules the reconnect.
  static_cast<SdSystemdBus*>(ud)->listener_->disconnected();
  return 0;
}

}  // namespace cronitor::agent
