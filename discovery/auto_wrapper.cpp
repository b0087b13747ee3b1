#include "discovery/auto_wrapper.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "discovery/crontab_rewriter.h"
#include "discovery/crontab_source.h"
#include "discovery/crontab_writer.h"
#include "discovery/package_files.h"
#include "discovery/scanner.h"

namespace cronitor::discovery {

namespace {

// "ROOT/etc/cron.d/x" or "/etc/cron.d/x" -> "/etc/cron.d/x".
std::string to_host_path(const DiskRoot& root, const std::string& p) {
  if (!root.root().empty() && p.starts_with(root.root() + "/")) return p.substr(root.root().size());
  return p;
}

}  // namespace

void migrate_backups(const std::string& old_dir, const std::string& new_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(old_dir, ec))) return;
  std::vector<fs::path> files;
  for (auto it = fs::recursive_directory_iterator(old_dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file(ec) && !it->is_symlink(ec)) files.push_back(it->path());
  }
  for (const fs::path& f : files) {
    const fs::path to = fs::path(new_dir) / fs::relative(f, old_dir, ec);
    if (ec || fs::exists(fs::symlink_status(to, ec))) continue;
    fs::create_directories(to.parent_path(), ec);
    fs::rename(f, to, ec);
  }
  // Empty folders go; anything left (a name taken twice) stays for the admin to see.
  std::vector<fs::path> dirs;
  for (auto it = fs::recursive_directory_iterator(old_dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) dirs.push_back(it->path());
  }
  for (auto d = dirs.rbegin(); d != dirs.rend(); ++d) fs::remove(*d, ec);  // only if empty
  fs::remove(old_dir, ec);
}

WrapReport run_wrap(const DiskRoot& root, const WrapOptions& options) {
  WrapReport report;
  Scanner::Options scan;
  scan.limits.max_jobs_per_user_crontab = options.max_jobs_per_user_crontab;
  Scanner scanner(root, scan);
  scanner.scan();

  // Per crontab file: the lines to wrap with their keys, and whether anything is wrapped.
  struct FileJobs {
    JobOrigin origin = JobOrigin::kSystemCrontab;
    std::map<int, std::string> keys;
    bool any_wrapped = false;
  };
  std::map<std::string, FileJobs> files;
  for (const Job* j : scanner.jobs()) {
    if (j->origin != JobOrigin::kSystemCrontab && j->origin != JobOrigin::kUserCrontab) continue;
    FileJobs& f = files[j->file];
    f.origin = j->origin;
    if (j->wrapped) f.any_wrapped = true;
    if (!options.unwrap && options.may_wrap && !j->disabled && !j->reason && !options.may_wrap(*j)) {
      for (const SameJobLine& more : j->more_lines) f.any_wrapped = f.any_wrapped || more.wrapped;
      ++report.refused;
      continue;
    }
    // A line an upstream's own tool reports (runitor, sentry-cli, cronitor exec, a curl ping) is
    // never wrapped a second time; `--adopt` moves it onto cronitor-exec with the same identity.
    const bool instrumented = !j->wrapped && j->instrumented && !j->instrumented->adopted;
    if (instrumented && !j->disabled && !j->reason && !options.unwrap) {
      if (!options.adopt) {
        ++report.instrumented;
        continue;
      }
    }
    if (!j->wrapped && !j->disabled && !j->reason) f.keys.emplace(j->line, j->key);
    for (const SameJobLine& more : j->more_lines) {  // one job on several lines: each line gets its key
      if (more.wrapped) f.any_wrapped = true;
      if (!more.wrapped && !j->disabled && !j->reason) f.keys.emplace(more.line, j->key);
    }
  }
  std::set<std::string> wanted;
  for (const std::string& f : options.files) {
    const std::string host = to_host_path(root, f);
    if (!files.contains(host)) {
      report.warnings.push_back(Warning{host, 0, "no crontab job lines found in this file, ignoring it"});
      continue;
    }
    wanted.insert(host);
  }
  if (!options.files.empty() && wanted.empty()) return report;

  const CrontabWriter writer(root, options.backup_dir);
  std::optional<PackageFiles> packages;
  for (const auto& [path, f] : files) {
    if (!wanted.empty() && !wanted.contains(path)) continue;
    if (options.unwrap ? !f.any_wrapped : f.keys.empty()) continue;
    // Unwrap always restores (a package file wrapped with wrap_package_files goes back too).
    if (!options.unwrap && !options.wrap_package_files && f.origin == JobOrigin::kSystemCrontab) {
      if (!packages) packages = PackageFiles::load(root);
      if (auto owner = packages->owner(path)) {
        report.package_files.emplace_back(path, *owner);
        continue;
      }
    }
    auto text = root.read_file(path, Limits{}.max_file_bytes);
    if (!text) {
      report.warnings.push_back(Warning{path, 0, text.error().message + ", skipping"});
      continue;
    }
    const auto format = f.origin == JobOrigin::kUserCrontab ? CrontabFormat::kUser : CrontabFormat::kSystem;
    Rewrite rw = options.unwrap ? unwrap_crontab(*text, format, path)
                                : wrap_crontab(*text, format, path, f.keys, options.exec_path, options.adopt);
    report.warnings.insert(report.warnings.end(), rw.skipped.begin(), rw.skipped.end());
    report.warnings.insert(report.warnings.end(), rw.notes.begin(), rw.notes.end());
    if (!rw.changed()) continue;
    if (options.dry_run) {
      report.diff += unified_diff(*text, rw.text, path);
      report.lines += static_cast<int>(rw.changes.size());
      continue;
    }
    auto saved = writer.replace(path, *text, rw.text);
    if (!saved) {
      report.warnings.push_back(Warning{path, 0, saved.error().message + ", file left as it was"});
      continue;
    }
    report.written.push_back(path);
    report.backups.push_back(*saved);
    report.lines += static_cast<int>(rw.changes.size());
  }
  return report;
}

}  // namespace cronitor::discovery
