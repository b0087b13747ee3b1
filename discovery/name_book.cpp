#include "discovery/name_book.h"

#include <algorithm>
#include <charconv>
#include <utility>

#include "discovery/fs_root.h"
#include "discovery/job_identity.h"

namespace cronitor::discovery {

namespace {

// What tells apart two jobs with the same derived name: the file and line ("echo-backup-3"), or
// the folder of a script ("logrotate-cron-daily").
// Appended to `out` (the name and its dash): temporary strings for each part were a third of
// naming a job in a full scan.
void where_suffix(std::string& out, const Job& j, const std::string& name) {
  if (j.line == 0) {
    out += slugify(base_of(parent_of(j.file)));
    return;
  }
  const std::string file = slugify(base_of(j.file));
  if (!name.starts_with(file)) {  // "certbot-17", not "certbot-certbot-17"
    out += file;
    out += '-';
  }
  char digits[16];
  out.append(digits, std::to_chars(digits, digits + sizeof digits, j.line).ptr);
}

// A twin, or a disabled job, does not run: it keeps its name beside a unit's.
bool runs(const Job& j) { return !j.disabled && !j.reason && !j.twin_of; }

}  // namespace

bool NameBook::contested(const Tallies& tallies, const std::string& name) {
  const auto it = tallies.find(name);
  return it != tallies.end() && it->second.n > 1;
}

const NameBook::Tally* NameBook::count(Tallies& tallies, Before& before, const std::string& name, int delta, Job* job) {
  const auto it = tallies.try_emplace(name).first;
  Tally& t = it->second;
  if (!all_fresh_) before.try_emplace(name, t.n > 1);
  t.n += delta;
  if (job != nullptr && delta > 0) {
    t.jobs.push_back(job);
  } else if (job != nullptr) {
    if (const auto at = std::find(t.jobs.begin(), t.jobs.end(), job); at != t.jobs.end()) {
      *at = t.jobs.back();
      t.jobs.pop_back();
    }
  }
  if (t.n > 0 || !t.jobs.empty()) return &t;
  tallies.erase(it);
  return nullptr;
}

void NameBook::add(Job& job, std::string base) {
  if (!job.named) {
    Claims& k = of(job.source);
    count(k.claims, k.claims_before, base, +1, &job);
  }
  slots_.insert_or_assign(&job, Slot{std::move(base), std::nullopt});
  if (job.source == SourceKind::kSystemd) units_.insert(&job);
  redo_.push_back(&job);
  if (!all_fresh_) fresh_.insert(&job);
}

void NameBook::remove(const Job& job) {
  const auto it = slots_.find(&job);
  if (it == slots_.end()) return;
  Job* j = const_cast<Job*>(&job);  // the book's own pointer to it: nothing is written through it
  const Slot& s = it->second;
  Claims& k = of(job.source);
  if (!job.named) {
    count(k.claims, k.claims_before, s.base, -1, j);
  }
  if (s.wanted) {
    count(k.finals, k.finals_before, *s.wanted, -1, !job.named && *s.wanted != s.base ? j : nullptr);
  }
  units_.erase(j);
  fresh_.erase(&job);
  slots_.erase(it);
}

void NameBook::touch(Job& job) { redo_.push_back(&job); }

void NameBook::clear() {
  // The maps are made anew, not cleared, then sized as they were: with all its blocks back, the
  // pool hands out its memory from the start again (node_pool.h).
  const std::size_t jobs = slots_.size();
  std::array<std::pair<std::size_t, std::size_t>, 2> sizes;
  for (std::size_t i = 0; i < kinds_.size(); ++i) sizes[i] = {kinds_[i].claims.size(), kinds_[i].finals.size()};
  decltype(slots_)(&pool_).swap(slots_);  // the old nodes go with the temporary
  for (Claims& k : kinds_) {
    Tallies(&pool_).swap(k.claims);
    Tallies(&pool_).swap(k.finals);
    k.claims_before.clear();
    k.finals_before.clear();
  }
  slots_.reserve(jobs);
  for (std::size_t i = 0; i < kinds_.size(); ++i) {
    kinds_[i].claims.reserve(sizes[i].first);
    kinds_[i].finals.reserve(sizes[i].second);
  }
  units_.clear();
  unit_names_.clear();
  redo_.clear();
  fresh_.clear();
  all_fresh_ = true;
}

std::string NameBook::wanted_of(const Job& j, const Slot& s) const {
  if (j.named) return j.name;
  const bool apart = contested(of(j.source).claims, s.base) || (j.source != SourceKind::kSystemd && runs(j) &&
                                                                !unit_names_.empty() && unit_names_.contains(s.base));
  if (!apart) return s.base;
  std::string out = s.base;
  out += '-';
  where_suffix(out, j, s.base);
  return out;
}

std::vector<Job*> NameBook::settle() {
  std::vector<Job*> redo = std::move(redo_);
  redo_.clear();
  auto redo_claim = [&](const Tallies& tallies, const std::string& name, std::vector<Job*>& into) {
    if (const auto it = tallies.find(name); it != tallies.end())
      into.insert(into.end(), it->second.jobs.begin(), it->second.jobs.end());
  };
  // A name claimed once more or once less renames its claimants only where that crossed "twice".
  for (const Claims& k : kinds_) {
    for (const auto& [name, was] : k.claims_before) {
      if (contested(k.claims, name) != was) redo_claim(k.claims, name, redo);
    }
  }
  // A cron job is told apart from a unit of its name while that unit runs.
  std::unordered_set<std::string> unit_names;
  for (const Job* u : units_) {
    if (runs(*u)) unit_names.insert(slots_.at(u).base);
  }
  for (const auto* from : {&unit_names, &unit_names_}) {
    if (all_fresh_) break;  // every job is in `redo`
    const auto* other = from == &unit_names ? &unit_names_ : &unit_names;
    for (const std::string& base : *from) {
      if (!other->contains(base)) redo_claim(of(SourceKind::kCrontab).claims, base, redo);
    }
  }
  unit_names_ = std::move(unit_names);

  // The jobs to name, each with its slot where already found (map nodes stay put; a second look-up
  // of every job's slot was a cache miss a job in a full scan).
  std::vector<std::pair<Job*, const Slot*>> refinal;
  refinal.reserve(redo.size());
  for (Job* j : redo) {
    const auto it = slots_.find(j);
    if (it == slots_.end()) continue;  // removed since it was touched
    Slot& s = it->second;
    std::string wanted = wanted_of(*j, s);
    if (s.wanted != wanted) {
      Claims& k = of(j->source);
      if (s.wanted) {
        count(k.finals, k.finals_before, *s.wanted, -1, !j->named && *s.wanted != s.base ? j : nullptr);
      }
      s.final = count(k.finals, k.finals_before, wanted, +1, !j->named && wanted != s.base ? j : nullptr);
      s.wanted = std::move(wanted);
    }
    refinal.emplace_back(j, &s);
  }
  std::vector<Job*> others;
  for (const Claims& k : kinds_) {
    for (const auto& [name, was] : k.finals_before) {
      if (contested(k.finals, name) != was) redo_claim(k.finals, name, others);
    }
  }
  for (Job* j : others) {
    if (const auto it = slots_.find(j); it != slots_.end()) refinal.emplace_back(j, &it->second);
  }

  std::vector<Job*> renamed;
  for (const auto& [j, slot] : refinal) {
    if (j->named) continue;
    const Slot& s = *slot;
    std::string name = *s.wanted;
    if (name != s.base && s.final->n > 1) name += "-" + j->key;  // same file and line
    if (name == j->name) continue;
    j->name = std::move(name);
    if (!all_fresh_ && !fresh_.contains(j)) renamed.push_back(j);
  }
  for (Claims& k : kinds_) {
    k.claims_before.clear();
    k.finals_before.clear();
  }
  fresh_.clear();
  all_fresh_ = false;
  return renamed;
}

}  // namespace cronitor::discovery
