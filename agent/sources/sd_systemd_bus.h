// SystemdBus over sd-bus, on the agent's sd-event loop: sd_bus_open_system (so that
// DBUS_SYSTEM_BUS_ADDRESS points tests and containers elsewhere), every call with a timeout,
// property reads pipelined with a bounded window, signals decoded into UnitProps.
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include <functional>

#include "agent/sources/bus_handles.h"
#include "agent/sources/systemd_bus.h"
#include "common/event_source.h"

namespace cronitor::agent {

class SdSystemdBus final : public SystemdBus {
 public:
  SdSystemdBus(sd_event* ev, uint64_t call_timeout_usec);
  ~SdSystemdBus() override;
  SdSystemdBus(const SdSystemdBus&) = delete;
  SdSystemdBus& operator=(const SdSystemdBus&) = delete;

  [[nodiscard]] Result<void> open(Listener& listener) override;
  void close() override;
  bool connected() const override;
  [[nodiscard]] Result<std::vector<UnitRef>> list_timers(size_t max) override;
  [[nodiscard]] Result<std::map<std::string, std::string>> unit_files(const std::vector<std::string>& names) override;
  [[nodiscard]] Result<void> read(std::vector<UnitRead>& reads) override;
  void call_later(uint64_t delay_usec, std::function<void()> fn) override;

 private:
  static int properties_cb(sd_bus_message*, void*, sd_bus_error*);
  static int unit_new_cb(sd_bus_message*, void*, sd_bus_error*);
  static int unit_removed_cb(sd_bus_message*, void*, sd_bus_error*);
  static int job_removed_cb(sd_bus_message*, void*, sd_bus_error*);
  static int reloading_cb(sd_bus_message*, void*, sd_bus_error*);
  static int owner_cb(sd_bus_message*, void*, sd_bus_error*);
  static int disconnected_cb(sd_bus_message*, void*, sd_bus_error*);
  static int later_cb(sd_event_source*, uint64_t, void*);

  sd_event* ev_;
  uint64_t call_timeout_usec_;
  Bus bus_;
  Listener* listener_ = nullptr;
  EventSource later_src_;
  uint64_t later_at_ = 0;  // CLOCK_MONOTONIC µs of the waiting call_later; 0: none
  std::function<void()> later_fn_;
};

}  // namespace cronitor::agent
