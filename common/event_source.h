// An owned sd-event source: disabled and released once, when its owner ends or resets it, so that
// a part of the daemon that owns its sources needs no hand-kept teardown list. Add a source with
// the raw out-parameter sd-event wants, then hand it over:
//   sd_event_source* s = nullptr;
//   if (sd_event_add_time(ev, &s, ...) >= 0) src_.reset(s);
#pragma once

#include <systemd/sd-event.h>

#include <memory>

namespace cronitor {

struct EventSourceRelease {
  void operator()(sd_event_source* s) const { sd_event_source_disable_unref(s); }
};

using EventSource = std::unique_ptr<sd_event_source, EventSourceRelease>;

}  // namespace cronitor
