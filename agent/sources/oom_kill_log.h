// Which process the kernel's OOM killer killed, from its own log (/dev/kmsg), so that an OOM kill
// is attributed to the run whose process group held the victim, not to every run that shares the
// victim's memory cgroup (on a systemd host every cron job shares cron.service's).
//
// The rule (agent/README.md, "OOM kills"): a run that ended by SIGKILL (or exit 137) was killed
// by the OOM killer when a kernel OOM record during the run names a victim whose pid is the
// run's process group id, or whose process group, read from /proc/PID/stat when the agent read
// the record, is the run's. The wrapper's cgroup counter is only a hint.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schedule/zone.h"

namespace cronitor::agent {

using schedule::Instant;

/// One /dev/kmsg record: "LEVEL,SEQ,USEC,FLAGS;TEXT\n" followed by " KEY=VALUE\n" lines.
struct KmsgRecord {
  int level = 0;          // syslog priority and facility (level & 7 is the priority)
  uint64_t seq = 0;       // the kernel's sequence number; a gap means records were overwritten
  uint64_t usec = 0;      // CLOCK_MONOTONIC microseconds (since boot) when it was printed
  std::string_view text;  // the message, without the dictionary lines
};

/// Parses one record as read() returns it; nullopt for anything malformed.
std::optional<KmsgRecord> parse_kmsg_record(std::string_view raw);

/// What an OOM line of the kernel says (one of three kinds of line).
struct OomLine {
  enum class Kind {
    kKilled,    // "[Memory cgroup ]Out of memory: Killed process PID (NAME) total-vm:..., anon-rss:NkB, ..."
    kSummary,   // "oom-kill:constraint=C,...,oom_memcg=P,task_memcg=P,task=NAME,pid=PID,uid=UID"
    kMemLimit,  // "memory: usage NkB, limit NkB, failcnt N" (the memory cgroup's, printed before the kill)
  };
  Kind kind = Kind::kKilled;
  int64_t pid = 0;
  std::string task;
  std::string memcg;                                // task_memcg of kSummary
  std::string constraint;                           // CONSTRAINT_MEMCG, CONSTRAINT_NONE, ...
  std::optional<int64_t> rss_bytes;                 // anon-rss + file-rss + shmem-rss of kKilled
  std::optional<int64_t> usage_bytes, limit_bytes;  // kMemLimit
};

/// Parses the text of one record; nullopt for lines that are none of the three.
std::optional<OomLine> parse_oom_line(std::string_view text);

/// One OOM kill as the agent saw it.
struct OomKill {
  int64_t pid = 0;
  std::string task;
  int64_t pgid = 0;                // read from /proc when the record was read; 0: unknown (already reaped)
  std::vector<int64_t> ancestors;  // its parent, the parent's parent, ... read then too (empty: unknown)
  Instant at{};                    // when the kernel printed it (wall clock)
  std::string memcg;
  std::optional<int64_t> rss_bytes;
  std::optional<int64_t> limit_bytes;  // the memory cgroup's limit, for a CONSTRAINT_MEMCG kill
  std::string describe() const;        // "python3 (pid 6217)"
};

/// The recent OOM kills (bounded in number and age), fed one kmsg record at a time.
class OomKillLog {
 public:
  /// Reads the process group of a pid (/proc/PID/stat in the daemon; a fake in tests).
  using PgidOf = std::function<std::optional<int64_t>(int64_t pid)>;
  /// Reads the ancestors of a pid, its parent first (/proc/PID/stat's ppid chain in the daemon).
  using AncestorsOf = std::function<std::vector<int64_t>(int64_t pid)>;

  explicit OomKillLog(PgidOf pgid_of, AncestorsOf ancestors_of = {});

  /// From `at` on, every record reaches on_record (the reader opened /dev/kmsg at its end).
  void start(Instant at) { watching_since_ = at; }
  /// One record, read at wall time `at`; `mono_now_usec` is CLOCK_MONOTONIC at that moment, to
  /// place the record at its own time.
  void on_record(std::string_view raw, Instant at, uint64_t mono_now_usec);
  /// Records were overwritten before they were read (EPIPE): runs ending now cannot be judged.
  void on_loss(Instant at) { last_loss_ = at; }

  /// The verdict for a run of process group `pgid` that ran from `start` to `end`.
  struct Verdict {
    enum class Kind {
      kOom,        // a victim of the run's group: `kill`
      kNotOom,     // watched the whole run, no victim of its group (`other`: someone else's kill)
      kUnknown,    // not watched the whole run (agent started late, records lost): keep the hint
      kAmbiguous,  // a kill in the period whose process group was gone before it could be read
    };
    Kind kind = Kind::kUnknown;
    std::optional<OomKill> kill;
    std::optional<OomKill> other;
  };
  Verdict judge(int64_t pgid, Instant start, Instant end) const;
  /// The verdict for a run the process events saw (its own process `pid`, no process group of
  /// its own): the victim is that process or one of its descendants.
  Verdict judge_process(int64_t pid, Instant start, Instant end) const;

  size_t size() const { return kills_.size(); }
  bool watching() const { return watching_since_.has_value(); }

  static constexpr size_t kMaxKills = 256;               // a host under an OOM storm keeps the latest
  static constexpr auto kKeep = std::chrono::hours(25);  // longer than a run is followed

 private:
  OomKill& kill_of(int64_t pid, Instant at);
  /// A kill during [start, end] that `mine` says is the run's, or the verdict of none; `known`
  /// says whether a kill's owner could be read (else the run may have been its).
  Verdict judge_by(const std::function<bool(const OomKill&)>& mine, const std::function<bool(const OomKill&)>& known,
                   Instant start, Instant end) const;

  PgidOf pgid_of_;
  AncestorsOf ancestors_of_;
  std::deque<OomKill> kills_;
  std::optional<Instant> watching_since_;
  std::optional<Instant> last_loss_;
  std::optional<int64_t> pending_limit_;  // the last "memory: usage ..., limit ..." record
  Instant pending_limit_at_{};
};

}  // namespace cronitor::agent
