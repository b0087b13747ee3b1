#include "discovery/job_lines.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "discovery/cron_command.h"
#include "discovery/job_identity.h"

namespace cronitor::discovery {
namespace {

// Appends `s` with its blanks collapsed, as normalize_blanks (most commands have none to collapse).
void append_collapsed(std::string& out, std::string_view s) {
  if (s.find('\t') == std::string_view::npos && s.find("  ") == std::string_view::npos &&
      (s.empty() || (s.front() != ' ' && s.back() != ' '))) {
    out += s;
    return;
  }
  out += normalize_blanks(s);
}

// What makes two lines one job, written into `g`; false: a line that is never folded.
bool group_of(const Job& j, std::string& g) {
  g.clear();
  if (j.disabled || j.reason || j.schedule == "@reboot") return false;
  const auto or_empty = [](const std::optional<std::string>& v) {
    return v ? std::string_view(*v) : std::string_view();
  };
  for (std::string_view part :
       {std::string_view(j.user), std::string_view(j.timezone), or_empty(j.env.cron_tz), or_empty(j.env.tz)}) {
    g += part;
    g += '\x1f';
  }
  if (j.named) {
    g += "name\x1f";
    g += j.name;
    return true;
  }
  g += "command\x1f";
  if (j.wrapped && j.instrumented && j.instrumented->adopted) {
    append_collapsed(g, j.instrumented->original);
  } else if (const auto w = j.wrapped ? parse_wrapped(j.command) : std::nullopt) {  // wrapped: it parses
    append_collapsed(g, unwrap_command(*w));
  } else {
    append_collapsed(g, j.command);
  }
  return true;
}

}  // namespace

void merge_job_lines(std::vector<Job>& jobs) {
  if (jobs.size() < 2) return;
  // Only lines whose group hash another line shares can be one job: the others are left alone
  // before any group is put in the map (a map entry for each line took 12% of a full scan).
  std::string g;  // one buffer for every line's group
  std::vector<std::pair<std::size_t, std::size_t>> hashed;
  hashed.reserve(jobs.size());
  for (std::size_t i = 0; i < jobs.size(); ++i)
    if (group_of(jobs[i], g)) hashed.emplace_back(std::hash<std::string_view>{}(g), i);
  std::sort(hashed.begin(), hashed.end());
  std::vector<std::size_t> candidates;
  for (std::size_t a = 0; a < hashed.size();) {
    std::size_t b = a + 1;
    while (b < hashed.size() && hashed[b].first == hashed[a].first) ++b;
    if (b - a > 1)
      for (std::size_t k = a; k < b; ++k) candidates.push_back(hashed[k].second);
    a = b;
  }
  if (candidates.empty()) return;
  std::sort(candidates.begin(), candidates.end());
  // Group members by index, in line order; groups with one member are left alone.
  std::unordered_map<std::string, std::vector<std::size_t>> groups;
  std::vector<std::string> order;
  for (std::size_t i : candidates) {
    group_of(jobs[i], g);
    auto& members = groups[g];
    if (members.empty()) order.push_back(g);
    members.push_back(i);
  }
  std::vector<bool> drop(jobs.size(), false);
  for (const std::string& group : order) {
    std::vector<std::size_t>& members = groups[group];
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
