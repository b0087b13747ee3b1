// One job written on several lines of one crontab (Healthchecks #448): "0 2 * * * backup" and
// "30 14 * * 1-5 backup", or two lines under the same "# Name:", are one job with two schedules.
#pragma once

#include <vector>

#include "discovery/job.h"

namespace cronitor::discovery {

/// Folds the jobs of one crontab file (in line order) that are one job: enabled lines of the same
/// user and time zone, with the same written name ("# Name:", "# cronitor: name=") or, both
/// unnamed, the same command (blanks collapsed, the wrapper taken off). The job keeps the first
/// wrapped line (else the first line) and its key; the others go to `more_lines`. Lines wrapped
/// with different keys, and @reboot lines, stay apart.
void merge_job_lines(std::vector<Job>& jobs);

}  // namespace cronitor::discovery
