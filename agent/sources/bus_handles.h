// The sd-bus handles the sources hold (the systemd watch's connection and calls, the shutdown
// watch's), each released by its owner (common/owned.h): a connection leaves the loop, sends what
// it still queued and closes; a slot's release cancels its pending call or removes its match.
#pragma once

#include <systemd/sd-bus.h>

#include <memory>

#include "common/owned.h"

namespace cronitor::agent {

struct BusRelease {
  void operator()(sd_bus* bus) const {
    sd_bus_detach_event(bus);
    sd_bus_flush_close_unref(bus);
  }
};

using Bus = std::unique_ptr<sd_bus, BusRelease>;
using BusSlot = Owned<sd_bus_slot, sd_bus_slot_unref>;
using BusMessage = Owned<sd_bus_message, sd_bus_message_unref>;

}  // namespace cronitor::agent
