#include "discovery/periodic_source.h"

#include <array>

#include "discovery/crontab_parser.h"
#include "discovery/crontab_source.h"
#include "discovery/job_identity.h"

namespace cronitor::discovery {

namespace {

constexpr std::array<std::string_view, 5> kPeriodicDirs = {"/etc/cron.hourly", "/etc/cron.daily", "/etc/cron.weekly",
                                                           "/etc/cron.monthly", "/etc/cron.yearly"};

// How a periodic folder is run: by a crontab line, by anacron, or by nothing.
struct Runner {
  const CrontabEntry* cron = nullptr;
  const AnacronEntry* anacron = nullptr;
  bool anacron_takes_over = false;  // the cron line steps aside when anacron is installed
};

}  // namespace

std::vector<std::string> PeriodicSource::watch_dirs() const {
  std::vector<std::string> out = {"/etc"};
  for (std::string_view d : kPeriodicDirs) out.emplace_back(d);
  return out;
}

JobSource::Scope PeriodicSource::scope_of(std::string_view p) const {
  if (p == kSystemCrontab || p == kAnacrontab) return Scope::kAll;
  for (std::string_view d : kPeriodicDirs) {
    if (p == d || (p.size() > d.size() && p.starts_with(d) && p[d.size()] == '/')) return Scope::kAll;
  }
  return Scope::kNone;
}

std::vector<FileScan> PeriodicSource::scan_all(const ScanContext& ctx) {
  std::vector<FileScan> out;
  ParsedCrontab crontab;
  if (auto text = ctx.root.read_file(kSystemCrontab, ctx.limits.max_file_bytes)) {
    crontab = parse_crontab(*text, CrontabFormat::kSystem, kSystemCrontab, ctx.limits);
  }
  FileScan anacron_scan;
  anacron_scan.path = std::string(kAnacrontab);
  ParsedAnacrontab anacrontab;
  if (auto text = ctx.root.read_file(kAnacrontab, ctx.limits.max_file_bytes)) {
    anacrontab = parse_anacrontab(*text, kAnacrontab, ctx.limits);
    anacron_scan.warnings = anacrontab.warnings;
    for (const AnacronEntry& e : anacrontab.entries) {
      Job j;
      j.origin = JobOrigin::kAnacron;
      j.file = std::string(kAnacrontab);
      j.line = e.line;
      j.user = "root";
      j.schedule = e.info.period;
      j.timezone = ctx.host_zone;
      j.command = e.command;
      j.env = e.env;
      j.anacron = e.info;
      j.run_parts_dir = run_parts_dir_of(e.command);
      j.key = derive_key("anacron", j.user, e.info.period, e.info.id + "\n" + e.command);
      j.name = slugify(e.info.id);
      if (j.name.empty()) j.name = derive_name(e.command);
      if (!ctx.anacron_installed) {
        j.disabled = true;
        j.reason = "anacron is not installed (no /usr/sbin/anacron)";
      }
      anacron_scan.jobs.push_back(std::move(j));
    }
    out.push_back(std::move(anacron_scan));
  }

  for (std::string_view dir : kPeriodicDirs) {
    if (!ctx.root.stat(dir)) continue;
    Runner runner;
    for (const CrontabEntry& e : crontab.entries) {
      if (!e.disabled && run_parts_dir_of(e.command) == dir) {
        runner.cron = &e;
        break;
      }
    }
    for (const AnacronEntry& e : anacrontab.entries) {
      if (run_parts_dir_of(e.command) == dir) {
        runner.anacron = &e;
        break;
      }
    }
    // Debian's /etc/crontab: "test -x /usr/sbin/anacron || { cd / && run-parts ... }".
    runner.anacron_takes_over = runner.anacron != nullptr && ctx.anacron_installed &&
                                (runner.cron == nullptr || runner.cron->command.find("anacron") != std::string::npos);
    FileScan scan;
    scan.path = std::string(dir);
    auto entries = ctx.root.list_dir(dir, ctx.limits.max_files_per_dir);
    if (!entries) {
      scan.warnings.push_back(Warning{scan.path, 0, entries.error().message + ", ignoring the folder"});
      out.push_back(std::move(scan));
      continue;
    }
    for (const DirEntry& d : *entries) {
      const std::string path = std::string(dir) + "/" + d.name;
      const auto info = ctx.root.stat(path);
      if (!info || info->directory()) continue;
      Job j;
      j.origin = JobOrigin::kRunParts;
      j.file = path;
      j.command = path;
      j.run_parts_dir = std::string(dir);
      j.timezone = ctx.host_zone;
      j.name = slugify(d.name);
      if (j.name.empty()) j.name = "script";
      if (runner.anacron_takes_over) {
        j.user = "root";
        j.schedule = runner.anacron->info.period;
        j.anacron = runner.anacron->info;
        j.env = runner.anacron->env;
      } else if (runner.cron != nullptr) {
        j.user = runner.cron->user;
        j.schedule = runner.cron->schedule;
        j.env = runner.cron->env;
      } else {
        j.user = "root";
        j.disabled = true;
        j.reason = "nothing runs " + std::string(dir) + " (no run-parts line in /etc/crontab or /etc/anacrontab)";
      }
      if (std::string why = run_parts_name_problem(d.name); !why.empty()) {
        j.disabled = true;
        j.reason = std::move(why);
      } else if (!info->regular() || (info->mode & 0111) == 0) {
        j.disabled = true;
        j.reason = "run-parts skips this file: it is not executable";
      }
      j.key = derive_key("run-parts", j.user, "", path);
      scan.jobs.push_back(std::move(j));
    }
    out.push_back(std::move(scan));
  }
  return out;
}

}  // namespace cronitor::discovery
