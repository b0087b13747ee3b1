// The two things cronitor-exec does: run a job and report it, or attach metrics to the run
// it is called from.
#pragma once

#include <string>

#include "wrapper/options.h"
#include "wrapper/reporter.h"

namespace cronitor::wrapper {

/// Runs `$SHELL -c COMMAND` as the job, reports run and complete/fail, returns the exit code
/// the wrapper must exit with (the job's, 128+N after signal N, 126/127 when it cannot start).
int run_job(const Options& options, const ReportConfig& config);

/// `--metric NAME=VALUE...`: sends one metric event for the run in CRONITOR_RUN_ID.
/// Returns 0 when recorded (agent or spool), 1 when lost, 2 when not inside a job.
int send_metrics(const Options& options, const ReportConfig& config);

/// Runs the command without monitoring (exec, never returns unless exec fails: then 127/126).
/// Used when the wrapper's own arguments are unusable: the job must run anyway.
int exec_unmonitored(const std::string& command);

/// Realtime clock in milliseconds since the epoch.
int64_t unix_ms_now();

}  // namespace cronitor::wrapper
