#include "agent/sources/proc_log_join.h"

#include <algorithm>
#include <utility>

namespace cronitor::agent {

void ProcLogJoin::named(pid_t pid, const std::string& key, int64_t now_ms) {
  named_[pid] = now_ms;
  named_keys_[key] = now_ms;
  lines_.erase(pid);  // its CMD line came first: covered
}

void ProcLogJoin::name(ProcRun& r, const CmdLine& line) const {
  r.key = line.key;
  r.uid = line.uid;
}

void ProcLogJoin::nameless(ProcRun r, int64_t now_ms) {
  auto [it, fresh] = nameless_.try_emplace(r.pid);
  Nameless& n = it->second;
  if (fresh) n.due_ms = now_ms + options_.wait_ms;
  const bool end = r.phase == ProcRun::Phase::ended;
  if (n.line) {  // named already: its end follows its start
    name(r, *n.line);
    out_.named.push_back(std::move(r));
    if (end) nameless_.erase(it);
    return;
  }
  (end ? n.end : n.start) = std::move(r);
  auto line = lines_.find(it->first);
  if (line == lines_.end()) return;
  n.line = std::move(line->second.first);
  lines_.erase(line);
  name_parts(it);
}

void ProcLogJoin::name_parts(std::map<pid_t, Nameless>::iterator it) {
  Nameless& n = it->second;
  for (auto* part : {&n.start, &n.end})
    if (*part) {
      name(**part, *n.line);
      out_.named.push_back(std::move(**part));
    }
  if (n.end) nameless_.erase(it);
}

void ProcLogJoin::cmd(CmdLine line, int64_t now_ms) {
  auto it = nameless_.find(line.pid);
  if (it != nameless_.end() && !it->second.line) {  // the run it names
    it->second.line = std::move(line);
    name_parts(it);
    return;
  }
  if (auto seen = named_.find(line.pid); seen != named_.end() && now_ms - seen->second <= options_.remember_ms) return;
  if (auto seen = named_keys_.find(line.key); seen != named_keys_.end() && now_ms - seen->second <= options_.wait_ms)
    return;
  const pid_t pid = line.pid;
  lines_.insert_or_assign(pid, std::pair{std::move(line), now_ms + options_.wait_ms});
}

ProcLogJoin::Out ProcLogJoin::take(int64_t now_ms) {
  for (auto it = nameless_.begin(); it != nameless_.end();) {
    if (it->second.line || it->second.due_ms > now_ms) {
      ++it;
      continue;
    }
    out_.unnamed.push_back(it->second.end ? *it->second.end : *it->second.start);
    it = nameless_.erase(it);
  }
  for (auto it = lines_.begin(); it != lines_.end();) {
    if (it->second.second > now_ms) {
      ++it;
      continue;
    }
    // A run of its key started while it waited: covered (seen under another pid).
    auto seen = named_keys_.find(it->second.first.key);
    if (seen != named_keys_.end() && seen->second >= it->second.second - 2 * options_.wait_ms) {
      it = lines_.erase(it);
      continue;
    }
    out_.log_only.push_back(std::move(it->second.first));
    it = lines_.erase(it);
  }
  // Forgotten after the lines that waited were checked against them.
  std::erase_if(named_, [&](const auto& p) { return now_ms - p.second > options_.remember_ms; });
  std::erase_if(named_keys_, [&](const auto& p) { return now_ms - p.second > options_.remember_ms; });
  std::sort(out_.log_only.begin(), out_.log_only.end(),
            [](const CmdLine& a, const CmdLine& b) { return a.unix_ms < b.unix_ms; });
  return std::exchange(out_, {});
}

std::optional<int64_t> ProcLogJoin::next_due_ms() const {
  std::optional<int64_t> due;
  auto sooner = [&](int64_t t) { due = due ? std::min(*due, t) : t; };
  for (const auto& [pid, n] : nameless_)
    if (!n.line) sooner(n.due_ms);
  for (const auto& [pid, l] : lines_) sooner(l.second);
  return due;
}

}  // namespace cronitor::agent
