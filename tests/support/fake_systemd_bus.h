// A SystemdBus without a bus, for unit tests of the timer logic: the test holds the manager's
// units and their properties, changes them (which sends PropertiesChanged to the listener as the
// manager would), makes the bus or the manager go away, and runs the deferred call by hand.
#pragma once

#include <systemd/sd-bus.h>

#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "agent/daemon/systemd_bus.h"
#include "agent/daemon/systemd_watch.h"

namespace cronitor::testing {

using agent::SystemdBus;
using agent::UnitProps;
using agent::UnitRead;
using agent::UnitRef;

/// The object path the manager gives a unit.
inline std::string unit_object_path(const std::string& unit) {
  char* p = nullptr;
  if (sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit.c_str(), &p) < 0) return {};
  std::string out(p);
  std::free(p);
  return out;
}

class FakeSystemdBus final : public SystemdBus {
 public:
  struct Unit {
    std::string name;
    UnitProps props;  // every property the manager holds
  };

  // The manager's state, and how the bus behaves.
  std::map<std::string, Unit> units;  // object path -> unit
  bool bus_up = true;                 // open() succeeds
  bool manager_answers = true;        // list_timers() succeeds
  bool reads_fail = false;            // read() times out
  /// Called inside read() after the replies are filled: signals sent now are newer than them.
  std::function<void(std::vector<UnitRead>&)> during_read;

  // What the logic did.
  int opens = 0, lists = 0, reads = 0;
  std::vector<uint64_t> delays;  // every call_later delay asked for

  Result<void> open(Listener& l) override {
    ++opens;
    if (!bus_up) return fail("cannot reach the system bus: Connection refused");
    listener_ = &l;
    open_ = true;
    return {};
  }
  void close() override { open_ = false; }
  bool connected() const override { return open_; }
  Result<std::vector<UnitRef>> list_timers(size_t max) override {
    ++lists;
    if (!open_) return fail("not connected");
    if (!manager_answers) return fail("no systemd manager answers on the system bus (Subscribe: Timeout)");
    std::vector<UnitRef> out;
    for (const auto& [path, u] : units)
      if (u.name.ends_with(".timer") && out.size() < max) out.push_back({u.name, path});
    return out;
  }
  Result<void> read(std::vector<UnitRead>& reads) override {
    ++this->reads;
    if (!open_) return fail("not connected");
    if (reads_fail) return fail("timed out");
    for (UnitRead& r : reads) {
      auto it = units.find(r.path);
      if (it == units.end()) continue;  // the manager answers "no such unit": nothing read
      const UnitProps& p = it->second.props;
      UnitProps& o = r.props;
      if (r.kind == UnitRead::Kind::kTimerActivation) {
        o.active_enter_usec = p.active_enter_usec;
      } else if (r.kind == UnitRead::Kind::kServiceCgroup) {
        o.control_group = p.control_group;
      } else if (r.kind == UnitRead::Kind::kTimer) {
        o.active_state = p.active_state;
        o.unit = p.unit;
        o.next_elapse_realtime_usec = p.next_elapse_realtime_usec;
        o.next_elapse_monotonic_usec = p.next_elapse_monotonic_usec;
        o.last_trigger_usec = p.last_trigger_usec;
        o.accuracy_usec = p.accuracy_usec;
        o.randomized_delay_usec = p.randomized_delay_usec;
        o.persistent = p.persistent;
      } else {
        o.active_state = p.active_state;
        o.invocation_id = p.invocation_id;
        o.exec_start_usec = p.exec_start_usec;
        o.exec_exit_usec = p.exec_exit_usec;
        o.exec_code = p.exec_code;
        o.exec_status = p.exec_status;
        o.main_pid = p.main_pid;
        o.result = p.result;
      }
    }
    if (during_read) during_read(reads);
    return {};
  }
  void call_later(uint64_t delay_usec, std::function<void()> fn) override {
    delays.push_back(delay_usec);
    if (later_ && later_delay_ <= delay_usec) return;
    later_ = std::move(fn);
    later_delay_ = delay_usec;
  }

  /// Runs the deferred call, as the loop would once its time came; false if none waited.
  bool run_later() {
    if (!later_) return false;
    auto fn = std::move(later_);
    later_ = nullptr;
    fn();
    return true;
  }
  bool later_waiting() const { return static_cast<bool>(later_); }
  uint64_t later_delay() const { return later_delay_; }

  // The manager's side.
  std::string add_timer(const std::string& name, const std::string& service, UnitProps p = {}) {
    p.unit = service;
    if (!p.active_state) p.active_state = "active";
    const std::string path = unit_object_path(name);
    units[path] = {name, p};
    return path;
  }
  std::string add_service(const std::string& name, UnitProps p = {}) {
    if (!p.active_state) p.active_state = "inactive";
    const std::string path = unit_object_path(name);
    units[path] = {name, p};
    return path;
  }
  /// The manager changes a unit and says so (if anyone listens).
  void change(const std::string& path, const UnitProps& p) {
    agent::merge_props(units[path].props, p);
    units[path].props.invalidated = false;
    if (open_ && listener_) listener_->properties_changed(path, p);
  }
  /// The manager changes a unit while nobody listens.
  void change_quietly(const std::string& path, const UnitProps& p) { agent::merge_props(units[path].props, p); }
  Listener* listener() { return open_ ? listener_ : nullptr; }
  /// The connection drops (dbus-daemon went away).
  void drop() {
    if (!open_) return;
    open_ = false;
    listener_->disconnected();
  }

 private:
  Listener* listener_ = nullptr;
  bool open_ = false;
  std::function<void()> later_;
  uint64_t later_delay_ = 0;
};

}  // namespace cronitor::testing
