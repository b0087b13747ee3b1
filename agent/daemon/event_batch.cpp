#include "agent/daemon/event_batch.h"

#include <utility>

namespace cronitor::agent {

void EventBatch::attach(sd_event* ev) {
  sd_event_source* s = nullptr;
  sd_event_add_defer(ev, &s, on_commit_cb, this);
  commit_src_.reset(s);
  sd_event_source_set_priority(commit_src_.get(), SD_EVENT_PRIORITY_IDLE);
  sd_event_source_set_enabled(commit_src_.get(), SD_EVENT_OFF);
}

void EventBatch::schedule() { sd_event_source_set_enabled(commit_src_.get(), SD_EVENT_ONESHOT); }

std::vector<EventBatch::Event> EventBatch::take() {
  std::vector<Event> batch;
  batch.swap(events_);
  return batch;
}

int EventBatch::on_commit_cb(sd_event_source*, void* ud) {
  static_cast<EventBatch*>(ud)->commit_();
  return 0;
}

}  // namespace cronitor::agent
