#include "agent/daemon/monitor_table.h"

#include <algorithm>

namespace cronitor::agent {

std::optional<uint32_t> MonitorTable::find(const std::string& key) const {
  if (auto it = index_.find(key); it != index_.end()) return it->second;
  return std::nullopt;
}

uint32_t MonitorTable::add(MonitorConfig c, MonitorState s, bool adhoc) {
  const auto i = static_cast<uint32_t>(configs_.size());
  index_[c.key] = i;
  configs_.push_back(std::move(c));
  states_.push_back(std::move(s));
  deadline_of_.emplace_back();
  dirty_flag_.push_back(0);
  row_saved_.push_back(0);
  adhoc_count_ += adhoc;
  touch(i);
  return i;
}

void MonitorTable::reserve(size_t n) {
  configs_.reserve(n);
  states_.reserve(n);
  deadline_of_.reserve(n);
  dirty_flag_.reserve(n);
  row_saved_.reserve(n);
  index_.reserve(n);
}

void MonitorTable::clear() {
  configs_.clear();
  states_.clear();
  index_.clear();
  deadline_of_.clear();
  deadlines_.clear();
  dirty_flag_.clear();
  row_saved_.clear();
  dirty_.clear();
  adhoc_count_ = 0;
}

bool MonitorTable::rekey(uint32_t i, const std::string& key) {
  if (index_.contains(key)) return false;
  index_.erase(configs_[i].key);
  index_[key] = i;
  configs_[i].key = key;
  row_saved_[i] = 0;
  return true;
}

void MonitorTable::touch(uint32_t i) {
  auto d = next_deadline(configs_[i], states_[i]);
  if (deadline_of_[i] != d) {
    if (deadline_of_[i]) deadlines_.erase({*deadline_of_[i], i});
    if (d) deadlines_.insert({*d, i});
    deadline_of_[i] = d;
  }
  if (!dirty_flag_[i]) {
    dirty_flag_[i] = 1;
    dirty_.push_back(i);
  }
}

std::optional<Instant> MonitorTable::next_due() const {
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.begin()->first;
}

std::vector<uint32_t> MonitorTable::due(Instant t) const {
  std::vector<uint32_t> out;
  for (auto it = deadlines_.begin(); it != deadlines_.end() && it->first <= t; ++it) out.push_back(it->second);
  return out;
}

Result<void> MonitorTable::flush(StateStore& store) {
  for (uint32_t i : dirty_) {
    dirty_flag_[i] = 0;
    if (row_saved_[i]) {  // only the state changed: the cheap update
      auto r = store.save_job_state(configs_[i].key, states_[i]);
      if (!r) return std::unexpected(r.error());
      if (*r) continue;
    }
    if (auto r = store.save_job(configs_[i], states_[i]); !r) return r;
    row_saved_[i] = 1;
  }
  dirty_.clear();
  return {};
}

void MonitorTable::reread(std::vector<JobRow> rows) {
  std::vector<uint8_t> stored(configs_.size(), 0);
  for (auto& r : rows)
    if (auto it = index_.find(r.key); it != index_.end()) {
      states_[it->second] = std::move(r.state);
      stored[it->second] = 1;
    }
  for (uint32_t i : dirty_) dirty_flag_[i] = 0;
  dirty_.clear();
  for (uint32_t i = 0; i < configs_.size(); ++i) {
    row_saved_[i] &= stored[i];
    const bool was = row_saved_[i];
    touch(i);   // its deadline from the state read back
    if (was) {  // nothing to write for it: leave it clean
      dirty_flag_[i] = 0;
      std::erase(dirty_, i);
    }
  }
}

}  // namespace cronitor::agent
