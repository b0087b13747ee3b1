#include "agent/cli/manager_timers.h"

#include <systemd/sd-event.h>

#include <cstring>
#include <memory>

#include "agent/daemon/sd_systemd_bus.h"

namespace cronitor::agent {
namespace {

// One question, no signals wanted.
struct Deaf final : SystemdBus::Listener {
  void properties_changed(const std::string&, const UnitProps&) override {}
  void unit_new(const std::string&, const std::string&) override {}
  void unit_removed(const std::string&, const std::string&) override {}
  void job_removed(const std::string&) override {}
  void reloading(bool) override {}
  void manager_owner(bool) override {}
  void disconnected() override {}
};

}  // namespace

Result<std::set<std::string>> loaded_timers(uint64_t timeout_usec) {
  sd_event* ev = nullptr;
  if (int r = sd_event_new(&ev); r < 0) return std::unexpected(Error::from_errno("sd_event_new", "", -r));
  std::unique_ptr<sd_event, decltype(&sd_event_unref)> guard(ev, sd_event_unref);
  Deaf deaf;
  SdSystemdBus bus(ev, timeout_usec);
  if (auto r = bus.open(deaf); !r) return std::unexpected(r.error());
  auto units = bus.list_timers(100'000);
  bus.close();
  if (!units) return std::unexpected(units.error());
  std::set<std::string> names;
  for (const auto& u : *units) names.insert(u.name);
  return names;
}

}  // namespace cronitor::agent
