// The job inventory of a host: sources read, results cached per file, keys made unique, twins
// linked. A change to one file re-reads that file only.
#pragma once

#include <map>
#include <memory>
#include <memory_resource>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "discovery/fs_root.h"
#include "discovery/job.h"
#include "discovery/job_source.h"
#include "discovery/name_book.h"
#include "discovery/node_pool.h"
#include "discovery/warning.h"

namespace cronitor::discovery {

/// What a scan changed, by job key. `added` and `changed` point into the Scanner's inventory and
/// stay valid until its next scan or rescan; `removed` holds the last definitions themselves.
struct Changes {
  std::vector<const Job*> added;
  std::vector<const Job*> changed;  // the new definition
  std::vector<Job> removed;         // the last definition
  /// Of `changed`: jobs whose definition stayed, only moved to another line or (un)wrapped by
  /// the agent. Callers update them but need not report them as changes.
  std::size_t moved = 0;
  /// Of `changed`: lines whose key changed with an edit in place (an unwrapped line's key is
  /// derived from its schedule and command): the key before, and the job now. The same file and
  /// line, or the same file and command on another schedule, is the same job edited, not one
  /// removed and one added. Callers carry the old key's state over to the new one.
  std::vector<std::pair<std::string, const Job*>> rekeyed;
  bool empty() const { return added.empty() && changed.empty() && removed.empty(); }
};

/// The host's time zone as cron sees it: /etc/timezone, else the target of /etc/localtime, else UTC.
std::string read_host_zone(const FsRoot& root);

class Scanner {
 public:
  struct Options {
    Limits limits;
    std::optional<std::string> host_zone;  // default: read from the root's /etc/timezone
  };

  /// A scanner over `root` with the file sources: crontabs, run-parts folders and anacron,
  /// systemd unit files. `root` must outlive the scanner.
  explicit Scanner(const FsRoot& root);
  Scanner(const FsRoot& root, Options options);
  Scanner(const Scanner&) = delete;
  Scanner& operator=(const Scanner&) = delete;

  /// Jobs of crontabs run in `zone` (the zone the cron daemon read when it started, which may
  /// differ from the files now); nullopt: the files' zone. True when that changes the jobs' zone:
  /// the caller scans again.
  bool set_host_zone(std::optional<std::string> zone);

  /// Adds a source (e.g. the live systemd manager) before the first scan.
  void add_source(std::unique_ptr<JobSource> source);

  /// Reads everything again.
  Changes scan();
  /// Re-reads what changes at these host paths (files, or watched folders) can affect.
  Changes rescan(const std::vector<std::string>& paths);

  /// True when a change at host path `p` matters to some source.
  bool relevant(std::string_view p) const;
  /// Host folders to watch (the sources' union, without duplicates).
  std::vector<std::string> watch_dirs() const;

  /// Every job, in source, file and line order.
  std::vector<const Job*> jobs() const;
  std::size_t job_count() const;
  const Job* find(std::string_view key) const;
  std::vector<Warning> warnings() const;
  const FsRoot& root() const { return root_; }

 private:
  struct Entry {
    FileScan scan;
    std::vector<std::string> base_keys;        // the keys the source derived, before disambiguation
    bool dirty = false;                        // re-read by the current scan
    std::vector<std::size_t> twin_candidates;  // timers, and cron lines with a systemd guard
  };
  using EntryKey = std::pair<std::size_t, std::string>;  // source index, host path

  ScanContext context() const;
  // The jobs a pass replaced, file by file: a file's list moves whole (moving each job, a dozen
  // strings, was a twentieth of a full scan).
  using OldJobs = std::vector<std::vector<Job>>;
  void replace(const EntryKey& k, std::optional<FileScan> scan, OldJobs& old_jobs);
  void finish(Changes& changes, OldJobs old_jobs);
  void assign_keys(Changes& changes);
  void link_twins(Changes& changes);
  void assign_names(Changes& changes);

  const FsRoot& root_;
  Options options_;
  std::vector<std::unique_ptr<JobSource>> sources_;
  std::map<EntryKey, Entry> entries_;
  bool systemd_running_ = false;
  // How many jobs claim each key (a wrapped job's key, another job's derived key): while no key
  // is claimed twice, no key needs a suffix and the disambiguation pass is skipped. Its nodes
  // come from a pool of its own and go back to it (a full scan drops and makes one a job).
  NodePool claims_pool_;
  std::pmr::unordered_map<std::string, int> claims_{&claims_pool_};
  std::size_t contested_ = 0;    // keys claimed more than once
  bool suffixes_given_ = false;  // the last pass gave some job a "-N" key
  void claim(const std::string& key, int delta);
  // Derived names: two jobs named "echo" get told apart by where they are.
  NameBook names_;
};

}  // namespace cronitor::discovery
