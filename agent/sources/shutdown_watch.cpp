#include "agent/sources/shutdown_watch.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace cronitor::agent {
namespace {

constexpr uint64_t kCallTimeoutUsec = 1000000;

}  // namespace

ShutdownWatch::ShutdownWatch(sd_event* ev, OnShutdown on_shutdown) : ev_(ev), on_shutdown_(std::move(on_shutdown)) {}

ShutdownWatch::~ShutdownWatch() { close_bus(); }

void ShutdownWatch::close_bus() {
  slot_.reset();
  disconnect_slot_.reset();
  bus_.reset();
}

void ShutdownWatch::start() {
  if (bus_ || retry_) return;
  if (connect()) return;
  spdlog::debug("shutdown watch: shutdowns are seen from SIGTERM alone until a system bus answers");
  retry_later();  // a bus that comes up later (dbus started after the agent) is joined then
}

bool ShutdownWatch::connect() {
  if (int r = sd_bus_open_system(out_ptr(bus_)); r < 0) {
    spdlog::debug("shutdown watch: no system bus ({})", std::strerror(-r));
    return false;
  }
  (void)sd_bus_set_method_call_timeout(bus_.get(), kCallTimeoutUsec);
  (void)sd_bus_attach_event(bus_.get(), ev_, SD_EVENT_PRIORITY_NORMAL);
  // The sender is logind's well-known name: the bus lets no one else own it, so no local user
  // can silence the host's alerts by sending this signal.
  int r = sd_bus_match_signal_async(bus_.get(), out_ptr(slot_), "org.freedesktop.login1", "/org/freedesktop/login1",
                                    "org.freedesktop.login1.Manager", "PrepareForShutdown", on_prepare_cb,
                                    on_installed_cb, this);
  if (r < 0) spdlog::debug("shutdown watch: subscribing to PrepareForShutdown: {}", std::strerror(-r));
  // The bus itself going away (dbus restarted): sd-bus tells it as a local signal.
  (void)sd_bus_match_signal(bus_.get(), out_ptr(disconnect_slot_), "org.freedesktop.DBus.Local",
                            "/org/freedesktop/DBus/Local", "org.freedesktop.DBus.Local", "Disconnected",
                            on_disconnected_cb, this);
  return true;
}

void ShutdownWatch::retry_later() {
  retry_usec_ = retry_usec_ == 0 ? 1000000 : std::min<uint64_t>(retry_usec_ * 2, 60000000);
  sd_event_source* s = nullptr;
  if (sd_event_add_time_relative(ev_, &s, CLOCK_MONOTONIC, retry_usec_, 100000, on_retry_cb, this) >= 0)
    retry_.reset(s);
}

int ShutdownWatch::on_disconnected_cb(sd_bus_message*, void* ud, sd_bus_error*) {
  auto* self = static_cast<ShutdownWatch*>(ud);
  spdlog::info("shutdown watch: the system bus went away; reconnecting");
  // Not closed from inside the bus's own dispatch: the retry timer does it.
  if (!self->retry_) self->retry_later();
  return 0;
}

int ShutdownWatch::on_retry_cb(sd_event_source*, uint64_t, void* ud) {
  auto* self = static_cast<ShutdownWatch*>(ud);
  self->retry_.reset();
  self->close_bus();
  if (self->connect()) {
    spdlog::info("shutdown watch: back on the system bus");
  } else {
    self->retry_later();
  }
  return 0;
}

int ShutdownWatch::on_installed_cb(sd_bus_message* m, void* ud, sd_bus_error*) {
  if (const sd_bus_error* e = sd_bus_message_get_error(m))
    spdlog::debug("shutdown watch: the bus refused the match: {}", e->message ? e->message : e->name);
  else
    static_cast<ShutdownWatch*>(ud)->retry_usec_ = 0;  // subscribed: a later loss retries after 1 s again
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
  int r = sd_bus_get_property_string(bus_.get(), "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                     "org.freedesktop.systemd1.Manager", "SystemState", &err, &state);
  sd_bus_error_free(&err);
  const bool stopping = r >= 0 && state && std::strcmp(state, "stopping") == 0;
  std::free(state);
  return stopping;
}

}  // namespace cronitor::agent
