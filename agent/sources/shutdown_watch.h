// Is the host shutting down? logind says so ahead of time with PrepareForShutdown(true) on the
// system bus; when the agent's own SIGTERM comes, systemd's SystemState says "stopping". Either
// way the agent records "host shutting down at T", so that after the boot the slots from the
// shutdown to the boot are downtime (agent/eval/downtime.h), not missed runs.
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include <functional>
#include <string>

#include "agent/sources/bus_handles.h"
#include "common/event_source.h"

namespace cronitor::agent {

class ShutdownWatch {
 public:
  /// Called with true when a shutdown begins, false when logind says it was cancelled.
  using OnShutdown = std::function<void(bool active)>;

  ShutdownWatch(sd_event* ev, OnShutdown on_shutdown);
  ~ShutdownWatch();
  ShutdownWatch(const ShutdownWatch&) = delete;
  ShutdownWatch& operator=(const ShutdownWatch&) = delete;

  /// Connects to the system bus (DBUS_SYSTEM_BUS_ADDRESS) and subscribes to logind's signal.
  /// Without a bus, or when the bus goes away later (dbus restarted), it tries again after 1 s,
  /// doubling to 60 s while no bus answers; until then shutdowns are seen from SIGTERM alone.
  void start();

  /// True when the system manager reports SystemState "stopping" (asked with a 1 s timeout).
  bool system_stopping();

 private:
  static int on_prepare_cb(sd_bus_message* m, void* ud, sd_bus_error*);
  static int on_installed_cb(sd_bus_message* m, void* ud, sd_bus_error*);
  static int on_disconnected_cb(sd_bus_message* m, void* ud, sd_bus_error*);
  static int on_retry_cb(sd_event_source*, uint64_t, void* ud);
  bool connect();
  void close_bus();
  void retry_later();

  sd_event* ev_;
  OnShutdown on_shutdown_;
  Bus bus_;
  BusSlot slot_;
  BusSlot disconnect_slot_;
  EventSource retry_;
  uint64_t retry_usec_ = 0;
};

}  // namespace cronitor::agent
