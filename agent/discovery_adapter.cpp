#include "agent/discovery_adapter.h"

#include <map>

namespace cronitor::agent {
namespace {

constexpr size_t kMaxCrontabBytes = 4 << 20;

/// Line `n` (1-based) of `text`, or empty.
std::string_view line_of(const std::string& text, int n) {
  size_t pos = 0;
  for (int i = 1; i < n; ++i) {
    pos = text.find('\n', pos);
    if (pos == std::string::npos) return {};
    ++pos;
  }
  size_t end = text.find('\n', pos);
  return std::string_view(text).substr(pos, end == std::string::npos ? std::string::npos : end - pos);
}

}  // namespace

bool monitorable(const discovery::Job& j) { return !j.disabled && !j.reason && !j.twin_of; }

DiscoveredJob to_discovered(const discovery::Job& j) {
  DiscoveredJob d;
  d.key = j.key;
  d.name = j.name;
  d.timezone = j.timezone;
  d.file = j.file;
  d.line = j.line;
  d.user = j.user;
  d.wrapped = j.wrapped;
  d.from_cron = j.source == discovery::SourceKind::kCrontab;
  if (j.timer) {
    d.from_cron = false;
    if (!j.timer->on_calendar.empty()) {
      d.schedule = j.timer->on_calendar.front();
      d.systemd_calendar = true;
    }
    if (d.file.empty()) d.file = j.timer->fragment;
  } else if (j.anacron) {
    // anacron runs once per period, some time in the day: no fixed slot to wait for.
    d.schedule.clear();
  } else {
    d.schedule = j.schedule;
  }
  return d;
}

std::vector<DiscoveredJob> discovered_jobs(const std::vector<const discovery::Job*>& jobs,
                                           const discovery::FsRoot& root, std::vector<std::string>& warnings) {
  std::vector<DiscoveredJob> out;
  std::map<std::string, std::string> files;  // host path -> text, read once per call
  for (const discovery::Job* j : jobs) {
    if (!monitorable(*j)) continue;
    DiscoveredJob d = to_discovered(*j);
    if (j->source == discovery::SourceKind::kCrontab && j->line > 1 && !j->anacron) {
      auto it = files.find(j->file);
      if (it == files.end()) {
        auto text = root.read_file(j->file, kMaxCrontabBytes);
        it = files.emplace(j->file, text ? *text : std::string()).first;
      }
      std::string_view above = line_of(it->second, j->line - 1);
      auto settings = parse_job_comment(above);
      if (!settings)
        warnings.push_back(j->file + ":" + std::to_string(j->line - 1) + ": " + settings.error().message +
                           ", ignoring the comment");
      else if (above.find("cronitor:") != std::string_view::npos)
        d.comment = *settings;
    }
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace cronitor::agent
