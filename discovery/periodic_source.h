// The scripts in /etc/cron.{hourly,daily,weekly,monthly,yearly}, each a job with the schedule of
// the line that runs its folder (an /etc/crontab run-parts line, or anacron), and /etc/anacrontab.
#pragma once

#include "discovery/job_source.h"

namespace cronitor::discovery {

inline constexpr std::string_view kAnacrontab = "/etc/anacrontab";

class PeriodicSource final : public JobSource {
 public:
  std::string_view name() const override { return "periodic"; }
  std::vector<std::string> watch_dirs() const override;
  std::vector<FileScan> scan_all(const ScanContext& ctx) override;
  Scope scope_of(std::string_view p) const override;
  std::optional<FileScan> scan_file(const ScanContext&, std::string_view) override { return std::nullopt; }
};

}  // namespace cronitor::discovery
