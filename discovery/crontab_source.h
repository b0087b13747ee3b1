// Crontab lines: /etc/crontab, /etc/cron.d/*, and user crontabs in /var/spool/cron/crontabs.
#pragma once

#include <string>
#include <string_view>

#include "discovery/crontab_parser.h"
#include "discovery/job_source.h"

namespace cronitor::discovery {

inline constexpr std::string_view kSystemCrontab = "/etc/crontab";
inline constexpr std::string_view kCronDir = "/etc/cron.d";
inline constexpr std::string_view kSpoolDir = "/var/spool/cron/crontabs";

/// Why Debian's cron would not read /etc/cron.d/`name`, or empty when it reads it.
std::string cron_d_name_problem(std::string_view name);
/// Why run-parts (Debian, no --lsbsysinit) would skip a script called `name`, or empty.
std::string run_parts_name_problem(std::string_view name);

/// The folder a crontab command runs with run-parts ("/etc/cron.daily"), or empty.
std::string run_parts_dir_of(std::string_view command);

/// Turns parsed crontab entries into jobs (keys derived or read from wrapped lines, names,
/// disabled reasons). `refusal` is set when cron does not read the file at all.
std::vector<Job> crontab_jobs(ParsedCrontab&& parsed, std::string_view file, JobOrigin origin,
                              std::string_view file_user, std::string_view zone, const std::string& refusal);

class CrontabSource final : public JobSource {
 public:
  std::string_view name() const override { return "crontab"; }
  std::vector<std::string> watch_dirs() const override;
  std::vector<FileScan> scan_all(const ScanContext& ctx) override;
  Scope scope_of(std::string_view p) const override;
  std::optional<FileScan> scan_file(const ScanContext& ctx, std::string_view p) override;
};

}  // namespace cronitor::discovery
