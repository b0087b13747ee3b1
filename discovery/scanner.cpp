#include "discovery/scanner.h"

#include <algorithm>
#include <functional>
#include <memory_resource>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "discovery/cron_command.h"
#include "discovery/crontab_source.h"
#include "discovery/fs_root.h"
#include "discovery/job_identity.h"
#include "discovery/periodic_source.h"
#include "discovery/systemd_unit_source.h"

namespace cronitor::discovery {

namespace {
constexpr std::string_view kSystemdGuard = "/run/systemd/system";

// Whether a command names the systemd guard. Searched with skips: a plain find stopped and
// compared at each of a command's slashes (asked of every crontab line at each scan).
bool names_guard(std::string_view command) {
  static const std::boyer_moore_horspool_searcher guard(kSystemdGuard.begin(), kSystemdGuard.end());
  return std::search(command.begin(), command.end(), guard) != command.end();
}
}  // namespace

std::string read_host_zone(const FsRoot& root) {
  if (auto tz = root.read_file("/etc/timezone", 4096)) {
    std::string_view s = *tz;
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.remove_suffix(1);
    if (!s.empty()) return std::string(s);
  }
  if (auto link = root.read_link("/etc/localtime")) {
    const auto at = link->find("zoneinfo/");
    if (at != std::string::npos) return link->substr(at + 9);
  }
  return "UTC";
}

namespace {

std::string_view first_word(std::string_view s) {
  const auto end = s.find_first_of(" \t");
  return s.substr(0, end);
}

/// Words separated by single spaces.
std::string squeeze(std::string_view s) {
  std::string out;
  for (char c : s) {
    const bool space = c == ' ' || c == '\t';
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

/// What a guarded line runs when systemd does not: "test -e /run/systemd/system || SERVICE_MODE=1
/// /sbin/e2scrub_all -A -r" -> "/sbin/e2scrub_all -A -r" (assignments dropped); empty when the line
/// is not of the "guard || command" form.
std::string guarded_command(std::string_view cmd) {
  const auto bar = cmd.find("||");
  if (bar == std::string_view::npos || cmd.substr(0, bar).find(kSystemdGuard) == std::string_view::npos) return {};
  std::string rest = squeeze(cmd.substr(bar + 2));
  while (true) {
    const std::string_view w = first_word(rest);
    const auto eq = w.find('=');
    if (eq == std::string_view::npos || eq == 0 || w.find('/') < eq) break;
    rest.erase(0, std::min(rest.size(), w.size() + 1));
  }
  return rest;
}

constexpr std::string_view kNoOp = "a no-op while systemd runs";
std::string unwrapped_command(const Job& j) {
  if (j.wrapped && j.instrumented && j.instrumented->adopted) return j.instrumented->original;
  auto w = parse_wrapped(j.command);
  return w ? unwrap_command(*w) : j.command;
}

// The same job, only on another line, (un)wrapped by the agent, or renamed along with its line:
// nothing a monitor keys on changed. (Every edit of a file re-reads all its lines.)
bool only_moved(const Job& before, const Job& after) {
  Job x = before;
  x.line = after.line;
  if (!after.named) x.name = after.name;
  if (x.wrapped != after.wrapped) {
    if (unwrapped_command(x) != unwrapped_command(after)) return false;
    x.wrapped = after.wrapped;
    x.command = after.command;
    x.instrumented = after.instrumented;  // `wrap --adopt` and its `unwrap`
  }
  return x == after;
}

// An unwrapped line edited in place gets a new content key: it is paired with its old self by
// file and line first, then by file and command (its schedule edited and the line moved).
// Wrapped lines keep their key (the wrapper carries it); jobs that are not lines have no edit.
void pair_edited_lines(Changes& changes) {
  auto line_job = [](const Job& j) { return j.source == SourceKind::kCrontab && j.line > 0 && !j.wrapped; };
  for (const bool by_line : {true, false}) {
    for (std::size_t r = 0; r < changes.removed.size();) {
      const Job& old = changes.removed[r];
      auto hit = changes.added.end();
      if (line_job(old))
        hit = std::find_if(changes.added.begin(), changes.added.end(), [&](const Job* a) {
          if (!line_job(*a) || a->file != old.file || a->origin != old.origin) return false;
          return by_line ? a->line == old.line : a->command == old.command && a->schedule != old.schedule;
        });
      if (hit == changes.added.end()) {
        ++r;
        continue;
      }
      changes.rekeyed.emplace_back(old.key, *hit);
      changes.changed.push_back(*hit);
      changes.added.erase(hit);
      changes.removed.erase(changes.removed.begin() + static_cast<std::ptrdiff_t>(r));
    }
  }
}

}  // namespace

Scanner::Scanner(const FsRoot& root) : Scanner(root, Options{}) {}

Scanner::Scanner(const FsRoot& root, Options options) : root_(root), options_(std::move(options)) {
  sources_.push_back(std::make_unique<CrontabSource>());
  sources_.push_back(std::make_unique<PeriodicSource>());
  sources_.push_back(std::make_unique<SystemdUnitSource>());
}

bool Scanner::set_host_zone(std::optional<std::string> zone) {
  const auto effective = [&] { return options_.host_zone ? *options_.host_zone : read_host_zone(root_); };
  const std::string before = effective();
  options_.host_zone = std::move(zone);
  return effective() != before;
}

void Scanner::add_source(std::unique_ptr<JobSource> source) { sources_.push_back(std::move(source)); }

ScanContext Scanner::context() const {
  ScanContext ctx{root_, options_.limits, options_.host_zone ? *options_.host_zone : read_host_zone(root_)};
  const auto run = root_.stat(kSystemdGuard);
  ctx.systemd_running = run && run->directory();
  ctx.anacron_installed = root_.stat("/usr/sbin/anacron").has_value();
  return ctx;
}

void Scanner::claim(const std::string& key, int delta) {
  int& n = claims_[key];
  if (delta > 0 && ++n == 2) ++contested_;
  if (delta < 0 && n-- == 2) --contested_;
  if (n <= 0) claims_.erase(key);
}

void Scanner::replace(const EntryKey& k, std::optional<FileScan> scan, OldJobs& old_jobs) {
  // Where the entry goes: files come in path order, so after the last one (else found anew).
  auto hint = entries_.end();
  if (auto it = entries_.find(k); it != entries_.end()) {
    Entry& old = it->second;
    for (std::size_t i = 0; i < old.scan.jobs.size(); ++i) {
      names_.remove(old.scan.jobs[i]);
      claim(old.scan.jobs[i].wrapped ? old.scan.jobs[i].key : old.base_keys[i], -1);
    }
    old_jobs.push_back(std::move(old.scan.jobs));
    hint = entries_.erase(it);
  }
  if (!scan) return;
  Entry e;
  e.scan = std::move(*scan);
  e.base_keys.reserve(e.scan.jobs.size());
  for (std::size_t i = 0; i < e.scan.jobs.size(); ++i) {
    const Job& j = e.scan.jobs[i];
    e.base_keys.push_back(j.key);
    claim(j.key, +1);
    const bool timer = j.origin == JobOrigin::kTimer && j.timer && !j.timer->masked;
    const bool guarded = j.source == SourceKind::kCrontab && j.origin != JobOrigin::kRunParts && names_guard(j.command);
    if (timer || guarded) e.twin_candidates.push_back(i);
  }
  e.dirty = true;
  for (Job& j : entries_.insert_or_assign(hint, k, std::move(e))->second.scan.jobs) names_.add(j, j.name);
}

Changes Scanner::scan() {
  Changes changes;
  const ScanContext ctx = context();
  systemd_running_ = ctx.systemd_running;
  OldJobs old_jobs;
  old_jobs.reserve(entries_.size());
  for (auto& [k, e] : entries_) old_jobs.push_back(std::move(e.scan.jobs));
  entries_.clear();
  // Made anew, as large as it was: with all its blocks back, the pool hands out its memory from
  // the start again, so the nodes lie in the order this scan makes them (node_pool.h).
  const std::size_t keys = claims_.size();
  decltype(claims_)(&claims_pool_).swap(claims_);  // the old nodes go with the temporary
  claims_.reserve(keys);
  contested_ = 0;
  names_.clear();
  for (std::size_t i = 0; i < sources_.size(); ++i) {
    for (FileScan& f : sources_[i]->scan_all(ctx)) {
      EntryKey k{i, f.path};
      replace(k, std::move(f), old_jobs);
    }
  }
  finish(changes, std::move(old_jobs));
  return changes;
}

Changes Scanner::rescan(const std::vector<std::string>& paths) {
  std::vector<bool> full(sources_.size(), false);
  std::vector<std::pair<std::size_t, std::string>> files;
  for (const std::string& p : paths) {
    for (std::size_t i = 0; i < sources_.size(); ++i) {
      switch (sources_[i]->scope_of(p)) {
        case JobSource::Scope::kAll:
          full[i] = true;
          break;
        case JobSource::Scope::kFile:
          files.emplace_back(i, p);
          break;
        case JobSource::Scope::kNone:
          break;
      }
    }
  }
  const ScanContext ctx = context();
  // The systemd marker decides twins everywhere: when it comes or goes, read everything.
  if (ctx.systemd_running != systemd_running_) return scan();
  OldJobs old_jobs;
  for (std::size_t i = 0; i < sources_.size(); ++i) {
    if (!full[i]) continue;
    std::vector<EntryKey> gone;
    for (const auto& [k, e] : entries_) {
      if (k.first == i) gone.push_back(k);
    }
    for (const EntryKey& k : gone) replace(k, std::nullopt, old_jobs);
    for (FileScan& f : sources_[i]->scan_all(ctx)) {
      EntryKey k{i, f.path};
      replace(k, std::move(f), old_jobs);
    }
  }
  for (const auto& [i, p] : files) {
    if (full[i]) continue;
    replace(EntryKey{i, p}, sources_[i]->scan_file(ctx, p), old_jobs);
  }
  Changes changes;
  finish(changes, std::move(old_jobs));
  return changes;
}

void Scanner::finish(Changes& changes, OldJobs old_jobs) {
  // Cap the inventory: an outsider could drop a million lines into /etc/cron.d.
  std::size_t total = 0;
  for (auto& [k, e] : entries_) {
    if (total + e.scan.jobs.size() > options_.limits.max_jobs) {
      const std::size_t keep = options_.limits.max_jobs - std::min(total, options_.limits.max_jobs);
      if (keep < e.scan.jobs.size()) {
        e.scan.warnings.push_back(
            Warning{e.scan.path, 0,
                    "more than " + std::to_string(options_.limits.max_jobs) + " jobs on this host, ignoring the rest"});
        for (std::size_t i = keep; i < e.scan.jobs.size(); ++i) {
          claim(e.base_keys[i], -1);
          names_.remove(e.scan.jobs[i]);
        }
        e.scan.jobs.resize(keep);
        e.base_keys.resize(keep);
        std::erase_if(e.twin_candidates, [keep](std::size_t i) { return i >= keep; });
      }
    }
    total += e.scan.jobs.size();
  }
  assign_keys(changes);
  link_twins(changes);
  assign_names(changes);
  // Its nodes come from one block, dropped whole at the end (a heap node for each job was a
  // tenth of a full scan's allocations).
  std::size_t old_count = 0;
  for (const std::vector<Job>& file : old_jobs) old_count += file.size();
  std::pmr::monotonic_buffer_resource before_nodes(old_count * 64 + 256);
  std::pmr::unordered_map<std::string_view, const Job*> before(&before_nodes);
  before.reserve(old_count);
  for (const std::vector<Job>& file : old_jobs)
    for (const Job& j : file) before.emplace(j.key, &j);
  for (auto& [k, e] : entries_) {
    if (!e.dirty) continue;
    e.dirty = false;
    for (const Job& j : e.scan.jobs) {
      auto it = before.find(j.key);
      if (it == before.end()) {
        changes.added.push_back(&j);
      } else {
        if (!(*it->second == j)) {
          changes.changed.push_back(&j);
          if (only_moved(*it->second, j)) ++changes.moved;
        }
        before.erase(it);
      }
    }
  }
  // When every old job was matched (a scan that changed nothing), none is looked up again.
  for (std::vector<Job>& file : old_jobs) {
    if (before.empty()) break;
    for (Job& j : file) {
      if (auto it = before.find(j.key); it != before.end() && it->second == &j) changes.removed.push_back(std::move(j));
    }
  }
  pair_edited_lines(changes);
  // A job both re-keyed and re-linked is reported once, as added; one re-linked and renamed, once.
  if (!changes.changed.empty()) {
    std::unordered_set<const Job*> seen(changes.added.begin(), changes.added.end());
    std::erase_if(changes.changed, [&](const Job* j) { return !seen.insert(j).second; });
  }
}

void Scanner::assign_names(Changes& changes) {
  for (Job* j : names_.settle()) changes.changed.push_back(j);
}

void Scanner::assign_keys(Changes& changes) {
  // Sources set every key to its derived value: with no contested key, those are final.
  if (contested_ == 0 && !suffixes_given_) return;
  suffixes_given_ = contested_ > 0;
  // Views into keys that stay put during this pass (jobs are not moved here).
  std::unordered_set<std::string_view> used;
  std::size_t total = 0;
  for (const auto& [k, e] : entries_) total += e.scan.jobs.size();
  used.reserve(total);
  for (const auto& [k, e] : entries_) {
    for (const Job& j : e.scan.jobs) {
      if (j.wrapped) used.insert(j.key);
    }
  }
  for (auto& [k, e] : entries_) {
    for (std::size_t i = 0; i < e.scan.jobs.size(); ++i) {
      Job& j = e.scan.jobs[i];
      if (j.wrapped) continue;
      const std::string& base = e.base_keys[i];
      if (!used.contains(base)) {
        used.insert(base);
        if (j.key != base) {
          if (!e.dirty) changes.removed.push_back(j);
          j.key = base;
          if (!e.dirty) changes.added.push_back(&j);
          names_.touch(j);
        }
        continue;
      }
      std::string key = base;
      for (int n = 2; used.contains(key); ++n) key = base + "-" + std::to_string(n);
      if (key == j.key) {
        used.insert(j.key);
        continue;
      }
      if (!e.dirty) changes.removed.push_back(j);
      j.key = std::move(key);
      used.insert(j.key);
      if (!e.dirty) changes.added.push_back(&j);
      names_.touch(j);  // a name told apart by its key
    }
  }
}

void Scanner::link_twins(Changes& changes) {
  struct TimerRef {
    Job* job;
    std::string stem;
    std::string program;
    bool dirty;
    std::string exec;  // the service's ExecStart=, spaces squeezed
  };
  std::vector<TimerRef> timers;
  std::vector<std::pair<Job*, bool>> guarded;
  for (auto& [k, e] : entries_) {
    for (std::size_t i : e.twin_candidates) {
      Job& j = e.scan.jobs[i];
      names_.touch(j);  // a twin keeps its name beside a unit's
      if (j.origin == JobOrigin::kTimer && j.timer && !j.timer->masked) {
        timers.push_back(TimerRef{&j, j.unit.substr(0, j.unit.size() - 6), std::string(first_word(j.timer->exec_start)),
                                  e.dirty, squeeze(j.timer->exec_start)});
      } else if (j.source == SourceKind::kCrontab && j.origin != JobOrigin::kRunParts && names_guard(j.command)) {
        guarded.emplace_back(&j, e.dirty);
      }
    }
  }
  auto update = [&](Job& j, bool dirty, auto&& fn) {
    if (dirty) {
      fn();
      return;
    }
    Job before = j;
    fn();
    if (!(before == j)) changes.changed.push_back(&j);
  };
  for (TimerRef& t : timers) {
    update(*t.job, t.dirty, [&] {
      if (t.job->twin_of) {
        t.job->twin_of.reset();
        t.job->reason.reset();
        if (!t.job->disabled && !systemd_running_) {
          t.job->reason = "systemd is not running on this host (no /run/systemd/system)";
        }
      }
    });
  }
  for (auto& [job, dirty] : guarded) {
    Job& j = *job;
    const std::string_view file_base = base_of(j.file);
    // Matched on what they run: the same command line first. A timer whose service runs the same
    // program with other arguments does other work (e2scrub_all.timer runs `e2scrub_all`, the
    // daily line `e2scrub_all -A -r` is e2scrub_reap's): no name rule pairs them.
    const std::string run = guarded_command(j.command);
    const std::string run_prog(first_word(run));
    const std::string_view run_base = base_of(run_prog);
    TimerRef* match = nullptr;
    std::set<const TimerRef*> other_work;
    for (TimerRef& t : timers) {
      if (!run.empty() && !t.exec.empty() && run == t.exec) {
        match = &t;
        break;
      }
      if (!run.empty() && !t.program.empty() && first_word(run) == t.program) other_work.insert(&t);
    }
    for (TimerRef& t : timers) {
      if (match != nullptr) break;
      if (!other_work.contains(&t) && t.program.size() > 1 && j.command.find(t.program) != std::string::npos)
        match = &t;
    }
    // Then by name: the program's own name (e2scrub_all_cron), then the file's.
    for (std::string_view name : {run_base, file_base}) {
      for (std::size_t pass = 0; match == nullptr && !name.empty() && pass < 2; ++pass) {
        for (TimerRef& t : timers) {
          if (other_work.contains(&t)) continue;
          // pass 0: the same name; pass 1: one name is the other plus "-..." or "_...".
          const bool hit = pass == 0 ? t.stem == name
                                     : ((t.stem.starts_with(name) && t.stem.size() > name.size() &&
                                         (t.stem[name.size()] == '-' || t.stem[name.size()] == '_')) ||
                                        (name.starts_with(t.stem) && name.size() > t.stem.size() &&
                                         (name[t.stem.size()] == '-' || name[t.stem.size()] == '_')));
          if (hit) {
            match = &t;
            break;
          }
        }
      }
    }
    update(j, dirty, [&] {
      const bool twin_reason = j.twin_of.has_value() || (j.reason && j.reason->starts_with(kNoOp));
      j.twin_of.reset();
      if (twin_reason) j.reason.reset();
      if (j.disabled || !systemd_running_) return;
      // The guard makes the line a no-op whenever systemd runs, whatever the timer's state.
      if (match != nullptr && match->job->timer->enabled) {
        j.twin_of = match->job->key;
        j.reason = std::string(kNoOp) + ": " + match->job->unit + " does this work";
      } else if (match != nullptr) {
        j.reason = std::string(kNoOp) + ", and " + match->job->unit + " is not enabled: nothing does this work";
      } else if (!run.empty()) {
        j.reason = std::string(kNoOp) + " (guarded by " + std::string(kSystemdGuard) + "), and no timer does this work";
      }
    });
    if (match != nullptr && !j.disabled && !systemd_running_ && !match->job->disabled) {
      update(*match->job, match->dirty, [&] {
        match->job->twin_of = j.key;
        match->job->reason =
            "systemd is not running on this host: " + j.file + ":" + std::to_string(j.line) + " does this work";
      });
    }
  }
}

bool Scanner::relevant(std::string_view p) const {
  for (const auto& s : sources_) {
    if (s->scope_of(p) != JobSource::Scope::kNone) return true;
  }
  return false;
}

std::vector<std::string> Scanner::watch_dirs() const {
  std::vector<std::string> out;
  for (const auto& s : sources_) {
    for (std::string& d : s->watch_dirs()) {
      if (std::find(out.begin(), out.end(), d) == out.end()) out.push_back(std::move(d));
    }
  }
  return out;
}

std::vector<const Job*> Scanner::jobs() const {
  std::vector<const Job*> out;
  out.reserve(job_count());
  for (const auto& [k, e] : entries_) {
    for (const Job& j : e.scan.jobs) out.push_back(&j);
  }
  return out;
}

std::size_t Scanner::job_count() const {
  std::size_t n = 0;
  for (const auto& [k, e] : entries_) n += e.scan.jobs.size();
  return n;
}

const Job* Scanner::find(std::string_view key) const {
  for (const auto& [k, e] : entries_) {
    for (const Job& j : e.scan.jobs) {
      if (j.key == key) return &j;
    }
  }
  return nullptr;
}

std::vector<Warning> Scanner::warnings() const {
  std::vector<Warning> out;
  for (const auto& [k, e] : entries_) out.insert(out.end(), e.scan.warnings.begin(), e.scan.warnings.end());
  return out;
}

}  // namespace cronitor::discovery
