// The names of a host's jobs, unique per host and kept so as files change. A source derives a
// job's name from what it runs ("logrotate", "echo-backup"); two jobs that derive the same name
// are told apart by where they are ("logrotate-cron-daily", "echo-backup-3"), and a cron job that
// runs under a unit's name is told apart from the unit. Each job's name depends on others', so a
// change to one file could rename jobs of any other file; the book keeps, per name, who claims
// it, and a change renames only the jobs whose claims it moved across "claimed once" and "claimed
// twice" (a full pass over 10,000 jobs took 5 ms for each changed file).
#pragma once

#include <array>
#include <cstddef>
#include <memory_resource>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "discovery/job.h"
#include "discovery/node_pool.h"

namespace cronitor::discovery {

class NameBook {
 public:
  /// A job read anew, with the name its source derived (`base`). Its name is final at settle().
  /// The job must stay at its address until remove() or clear().
  void add(Job& job, std::string base);
  /// A job leaving the inventory, before its storage goes.
  void remove(const Job& job);
  /// A job whose name may depend on what changed since add (its key, its twin link, its reason).
  void touch(Job& job);
  /// Forgets every job (the scanner reads everything again).
  void clear();
  /// Gives every job added or touched since the last settle, and every job whose claim changed
  /// with them, its final name. Returns the jobs renamed that were not added in this pass.
  std::vector<Job*> settle();

 private:
  struct Tally;
  struct Slot {  // 20,000 jobs of one user's crontab hold 20,000 of these: claims are made when needed
    std::string base;
    std::optional<std::string> wanted;  // the name before a "-KEY" suffix, as counted in finals
    // The finals entry of `wanted` while it is set: this job's count keeps it there, and map nodes
    // stay put (looking it up again for every job was a twentieth of a full scan).
    const Tally* final = nullptr;
  };
  // A name's count and the jobs listed under it, in one map entry: a count map beside a list map
  // hashed each name twice and made two nodes of it (a fifth of a full scan's allocations).
  // The list comes from the book's pool, as the entry does (the map passes its allocator on).
  struct Tally {
    using allocator_type = std::pmr::polymorphic_allocator<>;
    explicit Tally(const allocator_type& a) : jobs(a) {}
    int n = 0;                    // jobs that count
    std::pmr::vector<Job*> jobs;  // those listed (a subset)
  };
  using Tallies = std::pmr::unordered_map<std::string, Tally>;
  using Before = std::unordered_map<std::string, bool>;
  // Names are told apart within a source kind: each kind keeps its own claims, keyed by the name
  // itself (a key of kind and name, built for each look-up, took a fifth of the book's time).
  struct Claims {
    explicit Claims(std::pmr::memory_resource* pool) : claims(pool), finals(pool) {}
    Tallies claims;  // jobs per base name, not counting those named by hand; all listed
    Tallies finals;  // jobs per wanted name, every job; listed: those whose wanted name is not
                     // their base (only those get a "-KEY")
    // Since the last settle: whether each name whose count changed was contested before.
    Before claims_before;
    Before finals_before;
  };

  std::string wanted_of(const Job& job, const Slot& slot) const;
  Claims& of(SourceKind kind) { return kinds_.at(static_cast<std::size_t>(kind)); }
  const Claims& of(SourceKind kind) const { return kinds_.at(static_cast<std::size_t>(kind)); }
  // Counts `delta` for `name`, and lists (delta > 0) or unlists `job` under it when not null.
  // Returns the name's entry, or null when that took it out.
  const Tally* count(Tallies& tallies, Before& before, const std::string& name, int delta, Job* job);
  static bool contested(const Tallies& tallies, const std::string& name);

  // The map nodes of the book (a few per job) come from this pool and go back to it: a full scan
  // clears the book and adds every job again (node_pool.h).
  NodePool pool_;
  std::pmr::unordered_map<const Job*, Slot> slots_{&pool_};
  // By SourceKind (at() throws for a kind added without a slot).
  std::array<Claims, 2> kinds_{Claims(&pool_), Claims(&pool_)};
  std::unordered_set<Job*> units_;              // systemd's jobs
  std::unordered_set<std::string> unit_names_;  // base names of the units that run, at the last settle
  // Since the last settle: the jobs to redo, and those added.
  std::vector<Job*> redo_;
  std::unordered_set<const Job*> fresh_;
  // Since clear(): every job is new and named anew, so no claim's "before" is kept.
  bool all_fresh_ = true;
};

}  // namespace cronitor::discovery
