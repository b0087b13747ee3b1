#include "agent/config/monitor_set.h"

#include <pwd.h>

#include <charconv>

#include "agent/config/wrap_policy.h"
#include "agent/eval/key_owners.h"
#include "agent/eval/monitor_schedule.h"
#include "agent/eval/user_limits.h"
#include "common/json_text.h"
#include "discovery/cron_command.h"

namespace cronitor::agent {

Result<schedule::Zone> ZoneCache::get(const std::string& name) {
  if (name.empty()) {
    auto it = zones_.find("");
    if (it == zones_.end()) it = zones_.emplace("", schedule::Zone::local()).first;
    return it->second;
  }
  if (auto it = zones_.find(name); it != zones_.end()) return it->second;
  auto z = schedule::Zone::load(name);
  if (!z) return std::unexpected(z.error());
  zones_.emplace(name, *z);
  return *z;
}

MonitorConfig monitor_from_defaults(const Defaults& d) {
  MonitorConfig m;
  m.grace = d.grace;
  m.failure_tolerance = d.failure_tolerance;
  m.failure_window = d.failure_window;
  m.schedule_tolerance = d.schedule_tolerance;
  m.consecutive_alert_threshold = d.consecutive_alert_threshold;
  m.realert_interval = d.realert_interval;
  m.recovery_threshold = d.recovery_threshold;
  m.flapping_threshold = d.flapping_threshold;
  m.flapping_window = d.flapping_window;
  m.max_runs_per_slot = d.max_runs_per_slot;
  m.alert_on_skip = d.alert_on_skip;
  m.notify = d.notify;
  return m;
}

Result<MonitorConfig> resolve_monitor(const Config& config, const DiscoveredJob* job, const MonitorEntry* entry,
                                      ZoneCache& zones) {
  MonitorConfig m = monitor_from_defaults(config.defaults);
  MonitorOverrides o;
  std::string schedule_text, zone_name;
  bool calendar = false;
  if (job) {
    m.key = job->key;
    m.name = job->name;
    schedule_text = job->schedule;
    calendar = job->systemd_calendar;
    zone_name = job->timezone;
    m.from_cron = job->from_cron;
    m.runs_folder = job->runs_folder;
    m.source_file = job->file;
    m.source_line = job->listed_line > 0 ? job->listed_line : job->line;
    m.user = job->user;
    m.uid = job->uid;
    m.command = job->command;
    if (auto w = discovery::parse_wrapped(m.command)) m.command = discovery::unwrap_command(*w);
    if (job->comment) o.merge(*job->comment);
    // Its runs reach the agent once its line goes through cronitor-exec.
    // Or now, when the kernel's process events report it (agent/sources/proc_job_matcher.h).
    m.awaits_first_run = !job->wrapped && !(job->wrappable && config.discovery.auto_wrap) &&
                         job->reported_by != kReportedByProcessEvents;
    m.reported_by = job->reported_by;
  }
  if (entry) {
    m.awaits_first_run = false;  // named in the config: the user says its runs are reported
    m.key = entry->key;
    o.merge(entry->settings);
    if (!job) {
      m.source_file = config.source;
      m.source_line = entry->line;
      m.from_cron = false;
      m.user = "root";  // a monitor of the config alone: root's unless `user:` says otherwise
      m.uid = 0;
    }
    if (entry->user) {
      m.user = *entry->user;
      m.uid = -1;
      int64_t uid = -1;
      const auto& u = *entry->user;
      if (auto [p, ec] = std::from_chars(u.data(), u.data() + u.size(), uid);
          ec == std::errc() && p == u.data() + u.size() && uid >= 0 && uid < 4294967295)
        m.uid = uid;
    }
  }
  if (o.name) m.name = *o.name;
  if (o.schedule) {
    schedule_text = *o.schedule;
    calendar = false;
  }
  if (o.timezone) zone_name = *o.timezone;
  if (o.grace) m.grace = *o.grace;
  if (o.failure_tolerance) m.failure_tolerance = *o.failure_tolerance, m.failure_window = o.failure_window.value_or(0);
  if (o.success_codes) m.success_codes = *o.success_codes;
  if (o.warning_codes) m.warning_codes = *o.warning_codes;
  if (o.warning_tolerance) m.warning_tolerance = *o.warning_tolerance;
  if (o.max_runs_per_slot) m.max_runs_per_slot = *o.max_runs_per_slot;
  if (o.alert_on_skip) m.alert_on_skip = *o.alert_on_skip;
  if (o.schedule_tolerance) m.schedule_tolerance = *o.schedule_tolerance;
  if (o.consecutive_alert_threshold) m.consecutive_alert_threshold = *o.consecutive_alert_threshold;
  if (o.realert_interval) m.realert_interval = *o.realert_interval;
  if (o.recovery_threshold) m.recovery_threshold = *o.recovery_threshold;
  if (o.assertions) m.assertions = *o.assertions;
  if (o.notify) m.notify = *o.notify;
  if (o.environment) m.environment = *o.environment;
  if (o.slug) m.slug = *o.slug;
  if (o.cronitor_key) m.cronitor_key = *o.cronitor_key;
  if (o.healthchecks_uuid) m.healthchecks_uuid = *o.healthchecks_uuid;
  if (o.healthchecks_slug) m.healthchecks_slug = *o.healthchecks_slug;
  if (o.sentry_slug) m.sentry_slug = *o.sentry_slug;
  if (o.paused) m.paused = *o.paused;
  if (m.name.empty()) m.name = m.key;
  // What alerts, status and state.db show: valid UTF-8 whatever a crontab's bytes (a Latin-1
  // "# Name: Sicherung f\xfcr ..."); the crontab line itself is never rewritten from these.
  m.name = valid_utf8(m.name);
  m.command = valid_utf8(m.command);
  m.source_file = valid_utf8(m.source_file);
  auto zone = zones.get(zone_name);
  if (!zone) return fail("monitor \"" + m.key + "\": time zone \"" + zone_name + "\": " + zone.error().message);
  m.zone = *zone;
  if (!schedule_text.empty()) {
    auto s = calendar ? schedule::Schedule::parse(schedule_text, schedule::Kind::kSystemd)
                      : (job && !o.schedule ? schedule::Schedule::parse(schedule_text, schedule::Kind::kCron,
                                                                        schedule::CronDialect::kDebian)
                                            : parse_monitor_schedule(schedule_text));
    if (!s) return fail("monitor \"" + m.key + "\": " + s.error().message);
    if (!s->at_reboot()) m.schedule = std::move(*s);
    if (job && !o.schedule && !calendar && m.schedule) {  // one job on several lines: the union
      for (const auto& text : job->more_schedules) {
        auto more = schedule::Schedule::parse(text, schedule::Kind::kCron, schedule::CronDialect::kDebian);
        if (!more) return fail("monitor \"" + m.key + "\": " + more.error().message);
        if (!more->at_reboot()) m.more_schedules.push_back(std::move(*more));
      }
    }
    if (calendar && job && !o.schedule) m.grace += job->extra_grace;  // timers: AccuracySec= + RandomizedDelaySec=
  } else if (job && job->heartbeat && !o.schedule) {
    // No clock schedule: the deadline counts from the previous run (agent/README.md, "Heartbeats").
    auto s = interval_schedule(job->heartbeat->period);
    if (!s) return fail("monitor \"" + m.key + "\": " + s.error().message);
    m.schedule = std::move(*s);
    m.heartbeat = job->heartbeat;
    if (job->min_grace > m.grace && !o.grace) m.grace = job->min_grace;
    m.grace += job->extra_grace;
  }
  if (m.uid < 0 && !m.user.empty()) {
    if (struct passwd* pw = ::getpwnam(m.user.c_str())) m.uid = pw->pw_uid;
  }
  if (m.uid < 0 && m.user.empty()) m.uid = 0;  // no user: the job runs as root (systemd's default)
  // Still -1: a user that does not resolve; only root may report it (see may_report).
  return m;
}

namespace {

// A user name or a uid as written -> the uid, -1 when it does not resolve.
int64_t uid_of(const std::string& user) {
  if (user.empty()) return -1;
  int64_t uid = -1;
  if (auto [p, ec] = std::from_chars(user.data(), user.data() + user.size(), uid);
      ec == std::errc() && p == user.data() + user.size() && uid >= 0 && uid < 4294967295)
    return uid;
  if (struct passwd* pw = ::getpwnam(user.c_str())) return pw->pw_uid;
  return -1;
}

}  // namespace

std::vector<RefusedJob> take_refused_claims(std::vector<DiscoveredJob>& jobs, const Config& config,
                                            const std::unordered_map<std::string, int64_t>& holders,
                                            std::map<std::string, std::string>* limit_files) {
  if (limit_files) limit_files->clear();
  std::vector<KeyClaim> claims;
  claims.reserve(jobs.size());
  bool any_user = false;
  std::unordered_map<std::string, int64_t> uids;  // one look-up per user, not per line
  for (const auto& j : jobs) {
    any_user = any_user || j.users_file;
    int64_t uid = j.uid;
    if (j.users_file && uid < 0) {
      auto [it, fresh] = uids.try_emplace(j.user, -1);
      if (fresh) it->second = uid_of(j.user);
      uid = it->second;
    }
    claims.push_back(
        KeyClaim{j.key, j.line > 0 ? j.file + ":" + std::to_string(j.line) : j.file, j.user, uid, j.users_file});
  }
  if (!any_user) return {};
  std::vector<ConfigClaim> entries;
  for (const auto& e : config.monitors) entries.push_back(ConfigClaim{e.key, e.user, e.user ? uid_of(*e.user) : -1});
  auto refused = refused_claims(claims, entries, holders);
  const UserLimits limits{static_cast<size_t>(config.discovery.max_monitors_per_user),
                          static_cast<size_t>(config.discovery.max_user_monitors)};
  auto over = over_limit_claims(claims, refused, limits, holders);
  if (limit_files) *limit_files = std::move(over.files);
  for (auto& [i, why] : over.lines) refused.emplace(i, std::move(why));
  if (refused.empty()) return {};
  std::vector<RefusedJob> out;
  std::vector<DiscoveredJob> kept;
  kept.reserve(jobs.size() - refused.size());
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (auto it = refused.find(i); it != refused.end())
      out.push_back(RefusedJob{claims[i].key, claims[i].where, claims[i].user, claims[i].uid, it->second,
                               over.lines.contains(i)});
    else
      kept.push_back(std::move(jobs[i]));
  }
  jobs = std::move(kept);
  return out;
}

std::vector<MonitorConfig> build_monitors(const Config& config, const std::vector<DiscoveredJob>& jobs,
                                          ZoneCache& zones, std::vector<std::string>& warnings) {
  std::map<std::string, const MonitorEntry*> entries;
  for (const auto& e : config.monitors) entries[e.key] = &e;
  std::vector<MonitorConfig> out;
  out.reserve(jobs.size() + config.monitors.size());
  for (const auto& j : jobs) {
    auto it = entries.find(j.key);
    const MonitorEntry* entry = it == entries.end() ? nullptr : it->second;
    if (entry) entries.erase(it);
    auto m = resolve_monitor(config, &j, entry, zones);
    if (!m) {
      warnings.push_back(m.error().message + " (" + j.file + ":" + std::to_string(j.line) + "), not monitored");
      continue;
    }
    out.push_back(std::move(*m));
  }
  for (const auto& e : config.monitors) {
    if (!entries.count(e.key)) continue;
    auto m = resolve_monitor(config, nullptr, &e, zones);
    if (!m) {
      warnings.push_back(m.error().message + ", not monitored");
      continue;
    }
    out.push_back(std::move(*m));
  }
  return out;
}

}  // namespace cronitor::agent
