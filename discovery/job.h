// A scheduled job as discovery sees it: where it is defined, when it runs, what it runs.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/heap_optional.h"
#include "discovery/instrumented.h"

namespace cronitor::discovery {

enum class SourceKind { kCrontab, kSystemd };

/// What kind of definition produced the job (finer than JobSource, which is what users see).
enum class JobOrigin {
  kSystemCrontab,  // /etc/crontab, /etc/cron.d/*: with a user column
  kUserCrontab,    // /var/spool/cron/crontabs/USER
  kRunParts,       // a script in /etc/cron.{hourly,daily,...} run by a run-parts line
  kAnacron,        // a line of /etc/anacrontab
  kTimer,          // a systemd .timer unit
};

/// The environment lines of a crontab that matter for a job (empty: not set).
struct JobEnv {
  std::string shell;
  std::string path;
  std::string mailto;
  std::optional<std::string> tz;       // TZ=
  std::optional<std::string> cron_tz;  // CRON_TZ=
  bool mailto_set = false;
  bool operator==(const JobEnv&) const = default;
};

struct AnacronInfo {
  std::string period;  // as written: "1", "7", "@monthly"
  int period_days = 0;
  int delay_minutes = 0;
  std::string id;
  bool operator==(const AnacronInfo&) const = default;
};

struct TimerInfo {
  std::vector<std::string> on_calendar;
  std::vector<std::string> monotonic;  // "OnBootSec=15min", ...
  std::string service;                 // the unit it starts
  std::string exec_start;              // the service's first ExecStart= (for twin matching)
  std::string fragment;                // the unit file that defines it
  bool enabled = false;
  bool masked = false;
  bool persistent = false;
  std::string randomized_delay;
  std::string accuracy;
  bool operator==(const TimerInfo&) const = default;
};

/// Another line of the same job (same "# Name:" or the same command in one file, Healthchecks
/// #448): it runs on its own schedule and reports under the job's key.
struct SameJobLine {
  int line = 0;
  std::string schedule;  // as written
  bool wrapped = false;
  bool operator==(const SameJobLine&) const = default;
};

struct Job {
  std::string key;
  std::string name;
  SourceKind source = SourceKind::kCrontab;
  JobOrigin origin = JobOrigin::kSystemCrontab;
  std::string file;  // the path as on the host (without the --root prefix)
  int line = 0;      // 1-based; 0 for jobs that are not a line (scripts, units)
  /// User crontabs: the header lines crontab(1) wrote before what `crontab -l` lists ("# DO NOT
  /// EDIT THIS FILE ..."); `line - header_lines` is the line as `crontab -l` shows it.
  int header_lines = 0;
  std::string user;
  std::string schedule;  // as written
  std::string timezone;
  std::string command;  // verbatim (crontab sources), the script path (run-parts)
  std::string unit;     // systemd
  bool wrapped = false;
  bool disabled = false;
  std::optional<std::string> reason;  // why listed but not monitored
  JobEnv env;
  std::optional<std::string> twin_of;  // key of the job that does the real work
  // On the heap (one pointer when absent): most jobs have neither, and a job is held in several
  // copies (common/heap_optional.h).
  HeapOptional<AnacronInfo> anacron;
  HeapOptional<TimerInfo> timer;
  std::string run_parts_dir;            // kRunParts: the folder; also set on the line that runs it
  bool no_log = false;                  // Debian's '-' prefix on the minute field
  bool named = false;                   // the admin wrote the name ("# Name:", "# cronitor: name="): kept as is
  std::vector<SameJobLine> more_lines;  // the job's other lines, in file order (job_lines.h)
  /// Run through an upstream's own tool (runitor, sentry-cli, cronitor exec, a curl ping), or
  /// adopted from one (`wrap --adopt`): the tool and the upstream identity (instrumented.h).
  HeapOptional<Instrumentation> instrumented;

  /// The content the key is derived from before the job is wrapped.
  std::string identity() const;
  /// Same definition, field by field (what "changed" means to the watcher).
  bool operator==(const Job&) const = default;
};

const char* to_string(SourceKind s);
const char* to_string(JobOrigin o);

/// The JSON object of `discover --json` (DESIGN.md): key, name, source, file, line, user,
/// schedule, timezone, command, unit, wrapped, disabled, reason, plus env and kind extras.
nlohmann::json to_json(const Job& job);

}  // namespace cronitor::discovery
