#include "agent/config/discovery_adapter.h"

#include <algorithm>
#include <map>

#include "agent/eval/systemd_timespan.h"

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

/// anacron starts at most an hour late (Debian: daily at 07:30 from cron.d, hourly 07..23:30 from
/// anacron.timer, which adds up to RandomizedDelaySec=5m), then waits the job's delay.
constexpr auto kAnacronSlack = std::chrono::minutes(65);
/// systemd's default AccuracySec=.
constexpr auto kDefaultAccuracy = std::chrono::minutes(1);

void anacron_heartbeat(const discovery::AnacronInfo& a, DiscoveredJob& d) {
  int days = a.period_days;
  // Named periods compare calendar months/years: the longest gap is 31 / 366 days.
  if (a.period == "@monthly") days = 31;
  if (a.period == "@yearly" || a.period == "@annually") days = 366;
  if (days <= 0) return;
  Heartbeat h;
  h.period = std::chrono::days(days);
  h.anchor = Heartbeat::Anchor::kStart;
  h.what = "anacron period " + (a.period.starts_with('@') ? a.period + ", " : std::string()) + std::to_string(days) +
           (days == 1 ? " day" : " days");
  d.heartbeat = std::move(h);
  d.min_grace = std::chrono::minutes(std::max(0, a.delay_minutes)) + kAnacronSlack;
}

/// `value` of a timer setting as a span, or nullopt with a warning (empty: nullopt, no warning).
std::optional<std::chrono::seconds> span(const std::string& where, const std::string& key, const std::string& value,
                                         std::vector<std::string>* warnings) {
  if (value.empty()) return std::nullopt;
  auto v = parse_systemd_timespan(value);
  if (!v) {
    if (warnings) warnings->push_back(where + ": " + key + "=" + value + ": " + v.error().message + ", ignoring");
    return std::nullopt;
  }
  return *v;
}

void timer_heartbeat(const discovery::TimerInfo& t, const std::string& where, DiscoveredJob& d,
                     std::vector<std::string>* warnings) {
  std::vector<Heartbeat> candidates;
  for (const std::string& setting : t.monotonic) {
    const size_t eq = setting.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = setting.substr(0, eq);
    Heartbeat::Anchor anchor;
    if (key == "OnUnitActiveSec")
      anchor = Heartbeat::Anchor::kStart;
    else if (key == "OnUnitInactiveSec")
      anchor = Heartbeat::Anchor::kEnd;
    else
      continue;                      // OnBootSec=, OnStartupSec=, OnActiveSec=: once, not recurring
    if (eq + 1 == setting.size()) {  // "OnUnitActiveSec=" resets the values before it
      std::erase_if(candidates, [&](const Heartbeat& h) { return h.anchor == anchor; });
      continue;
    }
    auto period = span(where, key, setting.substr(eq + 1), warnings);
    if (period && period->count() >= 1) candidates.push_back(Heartbeat{*period, anchor, setting});
  }
  std::optional<Heartbeat> best;
  for (auto& h : candidates)
    if (!best || h.period < best->period) best = std::move(h);
  if (!best) return;
  d.heartbeat = std::move(best);
  d.extra_grace = span(where, "RandomizedDelaySec", t.randomized_delay, warnings).value_or(std::chrono::seconds(0)) +
                  span(where, "AccuracySec", t.accuracy, warnings).value_or(kDefaultAccuracy);
}

/// A user's own crontab is written by that user, not by root: its comment tunes the user's job
/// but may not make the root daemon send requests where the user likes (an inline notify target:
/// any URL, any mail address) nor report under an upstream check of the user's choosing (a slug
/// may be another job's). agent.yaml (root's) sets both for any job.
void limit_user_comment(MonitorOverrides& o, const std::string& where, std::vector<std::string>& warnings) {
  if (o.notify) {
    std::vector<std::string> lists;
    for (auto& n : *o.notify) {
      if (n.find(':') == std::string::npos) {
        lists.push_back(std::move(n));
        continue;
      }
      warnings.push_back(where + ": notify target \"" + n.substr(0, n.find(':')) +
                         ":...\" ignored: a user's crontab may name notify lists of agent.yaml only");
    }
    o.notify = std::move(lists);
    if (o.notify->empty()) o.notify.reset();
  }
  if (o.slug) {
    warnings.push_back(where + ": slug \"" + *o.slug +
                       "\" ignored: in a user's crontab it could name another job's check; set it in agent.yaml");
    o.slug.reset();
  }
  // A Healthchecks UUID is itself the check's secret, so a user may keep theirs; a key or slug
  // could name someone else's check.
  for (auto* id : {&o.cronitor_key, &o.healthchecks_slug, &o.sentry_slug}) {
    if (!*id) continue;
    warnings.push_back(where + ": \"" + **id +
                       "\" ignored: in a user's crontab an upstream key or slug could name another job's check; "
                       "set it in agent.yaml");
    id->reset();
  }
}

}  // namespace

bool monitorable(const discovery::Job& j) { return !j.disabled && !j.reason && !j.twin_of; }

DiscoveredJob to_discovered(const discovery::Job& j, std::vector<std::string>* warnings) {
  DiscoveredJob d;
  d.key = j.key;
  d.name = j.name;
  d.timezone = j.timezone;
  d.file = j.file;
  d.line = j.line;
  d.listed_line = j.line - j.header_lines;
  d.user = j.user;
  d.wrapped = j.wrapped;
  d.from_cron = j.source == discovery::SourceKind::kCrontab;
  d.users_file = j.origin == discovery::JobOrigin::kUserCrontab && j.user != "root";
  d.runs_folder = j.origin != discovery::JobOrigin::kRunParts && !j.run_parts_dir.empty();
  const bool crontab_line = j.line > 0 && (j.origin == discovery::JobOrigin::kSystemCrontab ||
                                           j.origin == discovery::JobOrigin::kUserCrontab);
  // A line an upstream's own tool runs is never wrapped a second time (`wrap --adopt` moves it):
  // the agent watches it unreported, as the tool reports to its upstream and not here.
  d.wrappable = crontab_line && (j.wrapped || !j.instrumented);
  // anacrontab lines too: anacron runs them as `sh -c COMMAND`, which the process events match.
  if (crontab_line || (j.origin == discovery::JobOrigin::kAnacron && j.line > 0)) d.command = j.command;
  if (j.timer) {
    d.from_cron = false;
    if (d.file.empty()) d.file = j.timer->fragment;
    if (!j.timer->on_calendar.empty()) {
      d.schedule = j.timer->on_calendar.front();
      d.systemd_calendar = true;
      // systemd starts the service up to AccuracySec= + RandomizedDelaySec= after the slot.
      const std::string where = d.file.empty() ? j.unit : d.file;
      d.extra_grace =
          span(where, "RandomizedDelaySec", j.timer->randomized_delay, warnings).value_or(std::chrono::seconds(0)) +
          span(where, "AccuracySec", j.timer->accuracy, warnings).value_or(kDefaultAccuracy);
    } else {
      timer_heartbeat(*j.timer, d.file.empty() ? j.unit : d.file, d, warnings);
    }
  } else if (j.anacron) {
    // anacron runs once per period, some time in the day: no fixed slot, a deadline from the last run.
    d.schedule.clear();
    anacron_heartbeat(*j.anacron, d);
  } else {
    d.schedule = j.schedule;
    for (const auto& more : j.more_lines) d.more_schedules.push_back(more.schedule);
  }
  return d;
}

std::vector<DiscoveredJob> discovered_jobs(const std::vector<const discovery::Job*>& jobs,
                                           const discovery::FsRoot& root, std::vector<std::string>& warnings) {
  std::vector<DiscoveredJob> out;
  std::map<std::string, std::string> files;  // host path -> text, read once per call
  for (const discovery::Job* j : jobs) {
    if (!monitorable(*j)) continue;
    DiscoveredJob d = to_discovered(*j, &warnings);
    if (j->source == discovery::SourceKind::kCrontab && j->line > 1) {  // crontab and anacrontab lines
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
      if (d.comment && j->origin == discovery::JobOrigin::kUserCrontab && j->user != "root")
        limit_user_comment(*d.comment, j->file + ":" + std::to_string(j->line - 1), warnings);
    }
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace cronitor::agent
