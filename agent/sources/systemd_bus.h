// The systemd manager as the timer logic (agent/sources/systemd_watch.h) sees it: the few calls it makes
// on the bus and the signals that come back, already decoded. One real implementation over sd-bus
// on the agent's sd-event loop (agent/sources/sd_systemd_bus.h), one fake for unit tests
// (tests/support/fake_systemd_bus.h), so that run tracking and reconnects are tested without a bus.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"

namespace cronitor::agent {

/// Properties of one unit (timer or service) as read or as a PropertiesChanged signal carried
/// them: only those named are set. Names are the bus's.
struct UnitProps {
  // org.freedesktop.systemd1.Unit
  std::optional<std::string> active_state;
  std::optional<std::string> load_state;      ///< LoadState ("not-found": no unit file; timers only)
  std::optional<std::string> invocation_id;   ///< InvocationID as 32 lowercase hex digits ("" if none)
  std::optional<uint64_t> active_enter_usec;  ///< ActiveEnterTimestamp (timers: a Persistent= catch-up)
  // org.freedesktop.systemd1.Timer
  std::optional<std::string> unit;  ///< Unit: the service the timer starts
  std::optional<uint64_t> next_elapse_realtime_usec;
  std::optional<uint64_t> next_elapse_monotonic_usec;
  std::optional<uint64_t> last_trigger_usec;  ///< LastTriggerUSec, CLOCK_REALTIME
  std::optional<uint64_t> accuracy_usec;
  std::optional<uint64_t> randomized_delay_usec;
  std::optional<bool> persistent;
  /// TimersCalendar: each OnCalendar= as the manager normalised it ("*-*-* *:*:00/5")
  std::optional<std::vector<std::string>> calendar;
  /// TimersMonotonic: each monotonic setting as a unit file writes it ("OnUnitActiveSec=5s")
  std::optional<std::vector<std::string>> monotonic;
  // org.freedesktop.systemd1.Unit, of a service: its last start's Condition*= checks
  std::optional<bool> condition_result;         ///< ConditionResult (false: a condition failed)
  std::optional<uint64_t> condition_usec;       ///< ConditionTimestamp: when they were checked
  std::optional<std::string> failed_condition;  ///< from Conditions: "ConditionPathExists=/x" ("" if none failed)
  // ... and its Assert*= checks: a failed one fails the start (the job's result is "assert")
  std::optional<bool> assert_result;         ///< AssertResult (false: an assertion failed)
  std::optional<uint64_t> assert_usec;       ///< AssertTimestamp
  std::optional<std::string> failed_assert;  ///< from Asserts: "AssertPathExists=/x" ("" if none failed)
  // org.freedesktop.systemd1.Service
  std::optional<uint64_t> exec_start_usec;   ///< ExecMainStartTimestamp
  std::optional<uint64_t> exec_exit_usec;    ///< ExecMainExitTimestamp
  std::optional<int32_t> exec_code;          ///< ExecMainCode
  std::optional<int32_t> exec_status;        ///< ExecMainStatus
  std::optional<uint32_t> main_pid;          ///< ExecMainPID
  std::optional<std::string> result;         ///< Result
  std::optional<std::string> control_group;  ///< ControlGroup
  /// A signal named a property without its value: read the unit again.
  bool invalidated = false;
};

/// A unit the manager listed: its name and object path.
struct UnitRef {
  std::string name;
  std::string path;
};

/// What SystemdWatch::read asks for.
struct UnitRead {
  enum class Kind {
    kTimer,              ///< the Timer interface's properties, and ActiveState
    kTimerActivation,    ///< ActiveEnterTimestamp (for Persistent= timers only: one more call each)
    kService,            ///< ExecMain*, Result, Condition/AssertResult and -Timestamp, ActiveState, InvocationID
    kServiceCgroup,      ///< ControlGroup (for a run going only: it is empty otherwise)
    kServiceConditions,  ///< Conditions and Asserts (for a start skipped or failed by one only)
  };
  std::string path;
  Kind kind = Kind::kTimer;
  UnitProps props;  ///< filled by read()
};

class SystemdBus {
 public:
  /// The signals, decoded. A bus may deliver them while one of its calls waits for replies, in
  /// the order the manager sent them relative to those replies.
  class Listener {
   public:
    virtual ~Listener() = default;
    virtual void properties_changed(const std::string& path, const UnitProps& props) = 0;
    virtual void unit_new(const std::string& name, const std::string& path) = 0;
    virtual void unit_removed(const std::string& name, const std::string& path) = 0;
    virtual void job_removed(const std::string& unit) = 0;
    virtual void reloading(bool active) = 0;
    /// The manager's bus name got an owner (true: a manager came back) or lost it (false).
    virtual void manager_owner(bool present) = 0;
    /// The connection to the bus closed.
    virtual void disconnected() = 0;
  };

  virtual ~SystemdBus() = default;
  /// Connects to the system bus and adds the signal matches; an error says why not.
  [[nodiscard]] virtual Result<void> open(Listener& listener) = 0;
  /// Drops the connection (if any); no signal arrives afterwards.
  virtual void close() = 0;
  /// True while the connection stands (a manager may still not answer on it).
  virtual bool connected() const = 0;
  /// Subscribe, then every loaded `*.timer` (at most `max`).
  [[nodiscard]] virtual Result<std::vector<UnitRef>> list_timers(size_t max) = 0;
  /// The unit files on disk of `names`, loaded or not, by name: each one's state ("enabled",
  /// "disabled", "static", "masked", ...); a name without a file is absent. Unlike a read, it
  /// loads no unit (a read of an unloaded unit loads it, and the manager unloads it again).
  [[nodiscard]] virtual Result<std::map<std::string, std::string>> unit_files(
      const std::vector<std::string>& names) = 0;
  /// Reads the properties of each unit in `reads` into its `props`.
  [[nodiscard]] virtual Result<void> read(std::vector<UnitRead>& reads) = 0;
  /// Calls `fn` once from the event loop after `delay_usec` (0: once the loop is free). One
  /// call waits at a time: a new one replaces it unless the waiting one comes sooner.
  virtual void call_later(uint64_t delay_usec, std::function<void()> fn) = 0;
};

}  // namespace cronitor::agent
