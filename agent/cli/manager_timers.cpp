#include "agent/cli/manager_timers.h"

#include <systemd/sd-event.h>

#include <cstring>
#include <memory>

#include "agent/sources/sd_systemd_bus.h"
#include "common/owned.h"
#include "discovery/job_identity.h"

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

Result<std::vector<LiveTimer>> manager_timers(uint64_t timeout_usec) {
  Owned<sd_event, sd_event_unref> ev;  // declared first: the bus below leaves it before it goes
  if (int r = sd_event_new(out_ptr(ev)); r < 0) return std::unexpected(Error::from_errno("sd_event_new", "", -r));
  Deaf deaf;
  SdSystemdBus bus(ev.get(), timeout_usec);
  if (auto r = bus.open(deaf); !r) return std::unexpected(r.error());
  auto units = bus.list_timers(100'000);
  if (!units) return std::unexpected(units.error());
  std::vector<UnitRead> reads;
  for (const auto& u : *units) reads.push_back({u.path, UnitRead::Kind::kTimer, {}});
  if (auto r = bus.read(reads); !r) return std::unexpected(r.error());
  bus.close();
  std::vector<LiveTimer> out;
  for (size_t i = 0; i < units->size(); ++i) {
    const UnitProps& p = reads[i].props;
    if (p.load_state == "not-found") continue;
    LiveTimer t;
    t.unit = (*units)[i].name;
    t.key = discovery::derive_key("timer", "", "", t.unit);
    t.service = p.unit.value_or("");
    t.active_state = p.active_state.value_or("");
    t.calendar = p.calendar.value_or(std::vector<std::string>{});
    t.monotonic = p.monotonic.value_or(std::vector<std::string>{});
    t.accuracy_usec = p.accuracy_usec.value_or(0);
    t.randomized_delay_usec = p.randomized_delay_usec.value_or(0);
    t.persistent = p.persistent.value_or(false);
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace cronitor::agent
