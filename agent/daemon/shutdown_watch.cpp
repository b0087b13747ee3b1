#include "agent/daemon/shutdown_watch.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <cstring>

namespace cronitor::agent {
namespace {

constexpr uint64_t kCallTimeoutUsec = 1000000;

}  // namespace

ShutdownWatch::ShutdownWatch(sd_event* ev, OnShutdown on_shutdown) : ev_(ev), on_shutdown_(std::move(on_shutdown)) {}

ShutdownWatch::~ShutdownWatch() {
  sd_bus_slot_unref(slot_);
  if (bus_) {
    sd_bus_detach_event(bus_);
    sd_bus_flush_close_unref(bus_);
  }
}

void ShutdownWatch::start() {
  if (bus_) return;
  sd_bus* bus = nullptr;
  if (int r = sd_bus_open_system(&bus); r < 0) {
    spdlog::debug("shutdown watch: no system bus ({}); shutdowns are seen from SIGTERM alone", std::strerror(-r));
    return;
  }
  bus_ = bus;
  (void)sd_bus_set_method_call_timeout(bus_, kCallTimeoutUsec);
  (void)sd_bus_attach_event(bus_, ev_, SD_EVENT_PRIORITY_NORMAL);
  // The sender is logind's well-known name: the bus lets no one else own it, so no local user
  // can silence the host's alerts by sending this signal.
  int r = sd_bus_match_signal_async(bus_, &slot_, "org.freedesktop.login1", "/org/freedesktop/login1",
                                    "org.freedesktop.login1.Manager", "PrepareForShutdown", on_prepare_cb,
                                    on_installed_cb, this);
  if (r < 0) spdlog::debug("shutdown watch: subscribing to PrepareForShutdown: {}", std::strerror(-r));
}

int ShutdownWatch::on_installed_cb(sd_bus_message* m, void*, sd_bus_error*) {
  if (const sd_bus_error* e = sd_bus_message_get_error(m))
    spdlog::debug("shutdown watch: the bus refused the match: {}", e->message ? e->message : e->name);
  return 0;
}

int ShutdownWatch::on_prepare_cb(sd_bus_message* m, void* ud, sd_bus_error*) {
  int active = 0;
  if (sd_bus_message_read(m, "b", &active) < 0) return 0;
  auto* self = static_cast<ShutdownWatch*>(ud);
  if (self->on_shutdown_) self->on_shutdown_(active != 0);
  return 0;
}

bool ShutdownWatch::system_stopping() {
  if (!bus_) return false;
  char* state = nullptr;
  sd_bus_error err = SD_BUS_ERROR_NULL;
  int r = sd_bus_get_property_string(bus_, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                     "org.freedesktop.systemd1.Manager", "SystemState", &err, &state);
  sd_bus_error_free(&err);
  const bool stopping = r >= 0 && state && std::strcmp(state, "stopping") == 0;
  std::free(state);
  return stopping;
}

}  // namespace cronitor::agent
