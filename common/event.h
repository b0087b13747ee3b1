// The run event: what cronitor-exec reports to the agent, on the socket and in the spool.
//
// WIRE FORMAT (version 1). One event is one JSON object on one line, terminated by "\n", UTF-8,
// at most kMaxLineBytes including the newline. Fields (unknown fields are ignored by decode):
//   v                  int     1
//   key                string  monitor key, 1..200 bytes, valid UTF-8, no control characters
//   run_id             string  UUID, lowercase, 36 chars (version 7 from common/run_id.h; any version
//                              is taken); ties run/complete/fail/metric together
//   state              string  "run" | "complete" | "fail" | "metric"
//   ts                 string  RFC 3339 UTC with milliseconds: "2026-11-21T09:35:39.123Z"
//   host               string  1..255 bytes, hostname of the wrapper
//   pid                int     pid of the job (= its process group id), or of the wrapper for
//                              "metric" events and jobs that could not start; 1..2^31-1
//   uid                int     real uid of the wrapper, 0..2^32-2 (the agent checks it: see below)
//   env                string? optional environment label ("--env"), <= 64 bytes
//   wrapper_pid        int?    on "run": pid of the cronitor-exec that runs the job (1..2^31-1).
//                              The agent follows it: a wrapper killed before its end event
//                              leaves a run it closes once the job's process group is gone.
//                              Over the socket the agent takes it from SO_PEERCRED instead.
// on "complete" and "fail" (all required; decode rejects a terminal event without them):
//   exit_code          int     0..255, what the wrapper exits with (128+N after a signal N)
//   signal             string|null   "SIGKILL", "SIGTERM", ... when the job died of a signal
//   oom                bool    the kernel OOM killer killed the job (cgroup counter went up)
//   timeout            bool    the wrapper killed the job after --timeout
//   duration_ms        int     0..2^53
//   output_tail        string  last bytes of stdout+stderr, <= 8192 bytes of UTF-8 (encode
//                              replaces invalid bytes with U+FFFD, then cuts at the front); it may
//                              hold NUL ("\u0000": binary output), no other string field may
//   metrics            object  name -> finite number, <= 32 entries (names: see valid_metric_name)
//   error              string|null  why the command could not start (exit 126/127), <= 512 bytes
//   peak_memory_bytes  int|null     largest RSS of the job's processes (wait4 rusage)
// on "metric": metrics (object, 1..32 entries) is required; the agent merges it into the metrics
//   of the run with the same run_id (and the same uid); later values of a name win.
//
// SOCKET PROTOCOL (CRONITOR_SOCKET, default /run/cronitor-agent/agent.sock, SOCK_STREAM):
//   The wrapper connects, writes exactly one event line, and reads the reply. The agent replies
//   "ok\n" once the event is durably stored (or recognised as a duplicate), "err REASON\n" if it
//   refuses the event for good (invalid, or not the sender's job: the wrapper then does NOT spool
//   it, the spool would refuse it too), or "busy REASON\n" when it cannot take it now (the
//   sender's rate limit, storage); then either side closes. One connection carries one event. The
//   wrapper waits at most 5 ms (CRONITOR_ACK_TIMEOUT_MS, 1..1000) for connect + write + reply; on
//   timeout, "busy" or any other error it writes the event to the spool instead. So the agent may see an
//   event twice (late ack, then spooled): (run_id, state) is the idempotency key for run,
//   complete and fail; metric events are idempotent by nature (a name=value set).
//   The agent takes the sender's uid from SO_PEERCRED and rejects events whose uid differs (root
//   may send any uid), and events of a job another uid owns (the monitor's `user`, or the first
//   reporter of a key no config or discovery knows; root may report any job). Readers should cap
//   the line at kMaxLineBytes and the whole exchange in time; the agent gives a connection 1 s to
//   send its line and lets each uid keep only a few connections waiting.
//
// SPOOL (CRONITOR_SPOOL, default /var/spool/cronitor-agent; owned by root, mode 1733 so any user
//   can create files but nobody can list, rename or delete someone else's): see wrapper/README.md.
//   - "<run_id>.jsonl": one file per run, created O_CREAT|O_EXCL|O_NOFOLLOW mode 0600, holding the
//     spooled events of that run in order, each line written whole then fdatasync'ed. Once a run
//     has spooled an event, its later events go to the same file. The file is finished when its last
//     line is a "complete" or "fail" event; the agent may delete it then. A file without one is a
//     run still going (or whose wrapper was killed): read its complete lines, keep it until it is
//     older than the run could be, then drop it.
//   - "<run_id>.m<16 hex>.jsonl": one "metric" event, written to ".tmp..." then renamed (complete
//     on sight).
//   - names starting with "." are being written: ignore them.
//   The agent trusts the file OWNER (fstat st_uid, opened O_NOFOLLOW, regular file, st_nlink == 1)
//   and rejects events whose uid differs from it (root-owned files may carry any uid). Any user
//   can drop files here, so the agent caps what it reads: a run file holds at most a few events
//   (run, fail/complete: cap it at e.g. 4 lines / 256 KiB), a metric file one line; larger files,
//   lines over kMaxLineBytes are skipped (and reported once); a last line without its "\n" is
//   still being written: read it later. The agent refuses a file whole (one log line, then deletes
//   it) when any complete line is invalid, carries another uid, or reports a job the owner may not
//   report (the socket's rule); spooled events count against the same per-uid rate as the socket:
//   the files of a uid over it wait, unread, until it has budget again.
// ORDER: a run's events may reach the agent out of order (run spooled and then replayed after
//   the complete came over the socket; a metric event before its run event). The agent orders
//   by ts and keys runs by run_id.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"

namespace cronitor {

inline constexpr int kEventVersion = 1;
inline constexpr size_t kMaxLineBytes = 64 * 1024;
inline constexpr size_t kMaxKeyBytes = 200;
inline constexpr size_t kMaxOutputTailBytes = 8 * 1024;
inline constexpr size_t kMaxMetrics = 32;
inline constexpr size_t kMaxMetricNameBytes = 64;
inline constexpr size_t kMaxHostBytes = 255;
inline constexpr size_t kMaxEnvBytes = 64;
inline constexpr size_t kMaxErrorBytes = 512;
inline constexpr int64_t kMaxDurationMs = int64_t{1} << 53;  // also the largest peak_memory_bytes
inline constexpr int64_t kMaxPid = 2147483647;
inline constexpr int64_t kMaxUid = 4294967294;  // (uid_t)-1 means "no uid"
inline constexpr int kMaxNesting = 3;           // the event object, its metrics object, and one spare

/// The phase of a run an event reports. kUnknown is the agent's own and never on the wire (decode
/// refuses it): a run that ended without anyone seeing how (cron's log at -L 1 logs only starts).
enum class RunState { kRun, kComplete, kFail, kMetric, kUnknown };

/// "run", "complete", "fail" or "metric".
std::string_view to_string(RunState s);

/// The state a wire event names: one of the four above; nothing for any other text (kUnknown's
/// "unknown" included: it is never on the wire).
std::optional<RunState> wire_state(std::string_view name);

/// One run event; see the wire format above. Fields not used by a state keep their defaults.
struct RunEvent {
  int v = kEventVersion;
  std::string key;
  std::string run_id;
  RunState state = RunState::kRun;
  std::string ts;  ///< RFC 3339 UTC, milliseconds, 'Z'
  std::string host;
  int64_t pid = 0;
  int64_t uid = 0;
  std::optional<std::string> env;
  std::optional<int64_t> wrapper_pid;  ///< run events of cronitor-exec
  // complete / fail
  int exit_code = 0;
  std::optional<std::string> signal;  ///< "SIGKILL" etc.
  bool oom = false;
  bool timeout = false;
  int64_t duration_ms = 0;
  std::string output_tail;
  std::map<std::string, double> metrics;  ///< also the payload of a metric event
  std::optional<std::string> error;
  std::optional<int64_t> peak_memory_bytes;

  bool operator==(const RunEvent&) const = default;
};

/// True when the state ends a run (complete or fail).
inline bool is_terminal(RunState s) { return s == RunState::kComplete || s == RunState::kFail; }

/// One JSON line ending in "\n", never longer than kMaxLineBytes. Invalid UTF-8 is replaced with
/// U+FFFD, over-long strings are cut at a UTF-8 boundary (output_tail keeps its END), invalid
/// metrics (bad name, not finite, beyond 32) are dropped. The line decodes whenever key, run_id,
/// ts, host, pid, uid and exit_code are valid. Needs no JSON library (cheap for the wrapper).
std::string encode(const RunEvent& e);

/// Parses and validates one event line (a trailing "\n" is allowed). Errors say which field
/// is wrong and why; every limit above is enforced.
Result<RunEvent> decode(std::string_view line);

/// How deep objects and arrays nest in `text`, brackets inside strings not counted: decode
/// refuses a line past kMaxNesting before any parser sees it.
int nesting_depth(std::string_view text);

/// Metric names: 1..64 bytes of [A-Za-z0-9_.-], starting with a letter or '_'.
bool valid_metric_name(std::string_view name);

/// Keys: 1..200 bytes, valid UTF-8, no control characters (C0, DEL).
bool valid_key(std::string_view key);

/// A lowercase UUID (8-4-4-4-12 hex).
bool valid_run_id(std::string_view id);

/// "YYYY-MM-DDTHH:MM:SS.mmmZ" with fields in range.
bool valid_timestamp(std::string_view ts);

/// Formats milliseconds since the Unix epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ".
std::string format_timestamp_ms(int64_t unix_ms);

}  // namespace cronitor
