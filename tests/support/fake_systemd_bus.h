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

#include "agent/sources/systemd_bus.h"
#include "agent/sources/systemd_watch.h"

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
  /// Unit files on disk: name -> state ("enabled": a unit wants it, so the manager keeps it
  /// loaded; "disabled", "masked"). add_timer() writes "enabled".
  std::map<std::string, std::string> unit_files_on_disk;
  /// Units the manager unloaded (collect()) whose files remain: a read loads them again.
  std::map<std::string, Unit> unloaded;
  /// Timers unloaded (collect()) whose files are gone: path -> name. A read of one loads a
  /// "not-found" unit of that name, as the manager loads any unit asked about by its path.
  std::map<std::string, std::string> deleted;
  bool bus_up = true;           // open() succeeds
  bool manager_answers = true;  // list_timers() succeeds
  bool reads_fail = false;      // read() times out
  /// Called inside read() after the replies are filled: signals sent now are newer than them.
  std::function<void(std::vector<UnitRead>&)> during_read;

  // What the logic did.
  int opens = 0, lists = 0, reads = 0, file_queries = 0;
  int loads = 0;                 // units loaded again by a read
  int condition_reads = 0;       // reads of a service's Conditions
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
  Result<std::map<std::string, std::string>> unit_files(const std::vector<std::string>& names) override {
    ++file_queries;
    if (!open_) return fail("not connected");
    if (!manager_answers || reads_fail) return fail("timed out");
    std::map<std::string, std::string> out;
    for (const auto& n : names)
      if (auto f = unit_files_on_disk.find(n); f != unit_files_on_disk.end()) out[n] = f->second;
    return out;
  }
  Result<void> read(std::vector<UnitRead>& reads) override {
    ++this->reads;
    if (!open_) return fail("not connected");
    if (reads_fail) return fail("timed out");
    for (UnitRead& r : reads) {
      if (unloaded.contains(r.path)) {  // as the manager does: asked about, the unit is loaded again
        ++loads;
        load(r.path);
      } else if (auto d = deleted.find(r.path); d != deleted.end() && !units.contains(r.path)) {
        ++loads;
        const std::string name = d->second;
        load_missing(name);
      }
      auto it = units.find(r.path);
      if (it == units.end()) continue;  // the manager answers "no such unit": nothing read
      const UnitProps& p = it->second.props;
      UnitProps& o = r.props;
      if (r.kind == UnitRead::Kind::kTimerActivation) {
        o.active_enter_usec = p.active_enter_usec;
      } else if (r.kind == UnitRead::Kind::kServiceCgroup) {
        o.control_group = p.control_group;
      } else if (r.kind == UnitRead::Kind::kServiceConditions) {
        ++condition_reads;
        o.failed_condition = p.failed_condition;
        o.failed_assert = p.failed_assert;
      } else if (r.kind == UnitRead::Kind::kTimer) {
        o.active_state = p.active_state;
        o.load_state = p.load_state;
        o.unit = p.unit;
        o.next_elapse_realtime_usec = p.next_elapse_realtime_usec;
        o.next_elapse_monotonic_usec = p.next_elapse_monotonic_usec;
        o.last_trigger_usec = p.last_trigger_usec;
        o.accuracy_usec = p.accuracy_usec;
        o.randomized_delay_usec = p.randomized_delay_usec;
        o.persistent = p.persistent;
        o.calendar = p.calendar;
        o.monotonic = p.monotonic;
      } else {
        o.active_state = p.active_state;
        o.invocation_id = p.invocation_id;
        o.exec_start_usec = p.exec_start_usec;
        o.exec_exit_usec = p.exec_exit_usec;
        o.exec_code = p.exec_code;
        o.exec_status = p.exec_status;
        o.main_pid = p.main_pid;
        o.result = p.result;
        o.condition_result = p.condition_result;
        o.condition_usec = p.condition_usec;
        o.assert_result = p.assert_result;
        o.assert_usec = p.assert_usec;
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
    unit_files_on_disk[name] = "enabled";
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
  /// The manager loads an unloaded unit again (`systemctl start` or `status` asked about it).
  void load(const std::string& path) {
    auto it = unloaded.find(path);
    if (it == unloaded.end()) return;
    const std::string name = it->second.name;
    units[path] = std::move(it->second);
    unloaded.erase(it);
    if (open_ && listener_) listener_->unit_new(name, path);
  }
  /// Someone asks the manager about a timer whose unit file is gone: it loads a "not-found" unit
  /// of that name (inactive) and says UnitNew; its garbage collection unloads it again.
  void load_missing(const std::string& name) {
    const std::string path = unit_object_path(name);
    UnitProps p;
    p.active_state = "inactive";
    p.load_state = "not-found";
    units[path] = {name, p};
    deleted.erase(path);
    if (open_ && listener_) listener_->unit_new(name, path);
  }
  /// The manager's garbage collection: every timer that is not active and that no unit wants
  /// (its file is not "enabled") is unloaded, and UnitRemoved sent. Returns how many.
  int collect() {
    std::vector<std::string> gone;
    for (const auto& [path, u] : units) {
      const std::string state = u.props.active_state.value_or("");
      auto file = unit_files_on_disk.find(u.name);
      if (u.name.ends_with(".timer") && (state == "inactive" || state == "failed") &&
          (file == unit_files_on_disk.end() || file->second != "enabled"))
        gone.push_back(path);
    }
    for (const auto& path : gone) {
      Unit u = std::move(units[path]);
      units.erase(path);
      const std::string name = u.name;
      if (unit_files_on_disk.contains(name))
        unloaded[path] = std::move(u);
      else
        deleted[path] = name;
      if (open_ && listener_) listener_->unit_removed(name, path);
    }
    return static_cast<int>(gone.size());
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
