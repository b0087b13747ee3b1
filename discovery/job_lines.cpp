#include "discovery/job_lines.h"

#include <algorithm>
#include <string>
#include <unordered_map>

#include "discovery/cron_command.h"
#include "discovery/job_identity.h"

namespace cronitor::discovery {
namespace {

// What makes two lines one job; empty: a line that is never folded.
std::string group_of(const Job& j) {
  if (j.disabled || j.reason || j.schedule == "@reboot") return {};
  std::string g =
      j.user + '\x1f' + j.timezone + '\x1f' + j.env.cron_tz.value_or("") + '\x1f' + j.env.tz.value_or("") + '\x1f';
  if (j.named) return g + "name\x1f" + j.name;
  if (j.wrapped && j.instrumented && j.instrumented->adopted)
    return g + "command\x1f" + normalize_blanks(j.instrumented->original);
  const auto w = parse_wrapped(j.command);
  return g + "command\x1f" + normalize_blanks(w ? unwrap_command(*w) : j.command);
}

}  // namespace

void merge_job_lines(std::vector<Job>& jobs) {
  if (jobs.size() < 2) return;
  // Group members by index, in line order; groups with one member are left alone.
  std::unordered_map<std::string, std::vector<std::size_t>> groups;
  std::vector<std::string> order;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    std::string g = group_of(jobs[i]);
    if (g.empty()) continue;
    auto& members = groups[g];
    if (members.empty()) order.push_back(g);
    members.push_back(i);
  }
  std::vector<bool> drop(jobs.size(), false);
  for (const std::string& g : order) {
    std::vector<std::size_t>& members = groups[g];
    if (members.size() < 2) continue;
    // Lines already wrapped report under their keys: lines wrapped with another key than the
    // first wrapped one stay jobs of their own.
    const auto first_wrapped =
        std::find_if(members.begin(), members.end(), [&](std::size_t i) { return jobs[i].wrapped; });
    const std::size_t rep = first_wrapped != members.end() ? *first_wrapped : members.front();
    Job& job = jobs[rep];
    for (std::size_t i : members) {
      if (i == rep || (jobs[i].wrapped && jobs[i].key != job.key)) continue;
      job.more_lines.push_back(SameJobLine{jobs[i].line, jobs[i].schedule, jobs[i].wrapped});
      drop[i] = true;
    }
    std::sort(job.more_lines.begin(), job.more_lines.end(),
              [](const SameJobLine& a, const SameJobLine& b) { return a.line < b.line; });
  }
  std::size_t out = 0;
  for (std::size_t i = 0; i < jobs.size(); ++i)
    if (!drop[i]) {
      if (out != i) jobs[out] = std::move(jobs[i]);
      ++out;
    }
  jobs.resize(out);
}

}  // namespace cronitor::discovery
