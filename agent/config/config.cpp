#include "agent/config/config.h"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>

#include "agent/config/config_uplink.h"
#include "agent/config/yaml_errors.h"
#include "agent/eval/monitor_schedule.h"
#include "agent/eval/run_outcome.h"
#include "common/duration.h"
#include "schedule/zone.h"
#include "uplink/upstream.h"

namespace cronitor::agent {
namespace {

constexpr size_t kMaxConfigBytes = 4 << 20;
constexpr size_t kMaxMonitors = 100000;

/// Reads the top level's values, reporting to the document's one collector.
class Walker {
 public:
  explicit Walker(YamlErrors& errors) : errors_(errors) {}

  void error(const YAML::Node& at, const std::string& key, std::string message) {
    errors_.add(at, key, std::move(message));
  }

  std::optional<std::string> str(const YAML::Node& n, const std::string& key) {
    if (!n.IsScalar()) {
      error(n, key, "expected a string");
      return std::nullopt;
    }
    return n.Scalar();
  }
  std::optional<bool> boolean(const YAML::Node& n, const std::string& key) {
    bool v;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) {
      error(n, key, "expected true or false");
      return std::nullopt;
    }
    return v;
  }
  std::optional<int> integer(const YAML::Node& n, const std::string& key, int lo, int hi) {
    int v;
    if (!n.IsScalar() || !YAML::convert<int>::decode(n, v)) {
      error(n, key, "expected a whole number");
      return std::nullopt;
    }
    if (v < lo || v > hi) {
      error(n, key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
      return std::nullopt;
    }
    return v;
  }
  /// A number of seconds, or a duration with units ("8 hours").
  std::optional<std::chrono::seconds> duration(const YAML::Node& n, const std::string& key) {
    if (!n.IsScalar()) {
      error(n, key, "expected a duration (seconds, or e.g. \"8 hours\")");
      return std::nullopt;
    }
    auto d = parse_duration(n.Scalar());
    if (!d) {
      error(n, key, d.error().message);
      return std::nullopt;
    }
    return *d;
  }
  /// failure_tolerance: a number of consecutive failures, or "K of N" (a window of N runs).
  std::optional<FailureWindow> failure_rule(const YAML::Node& n, const std::string& key) {
    int v;
    if (n.IsScalar() && YAML::convert<int>::decode(n, v)) {
      if (auto x = integer(n, key, 0, 1000)) return FailureWindow{*x, 0};
      return std::nullopt;
    }
    if (!n.IsScalar()) {
      error(n, key, "expected a number or \"K of N\"");
      return std::nullopt;
    }
    auto w = parse_failure_window(n.Scalar());
    if (!w) {
      error(n, key, w.error().message);
      return std::nullopt;
    }
    return *w;
  }
  /// A list of exit codes 0..255.
  std::optional<std::vector<int>> exit_codes(const YAML::Node& n, const std::string& key) {
    std::vector<int> out;
    if (!n.IsSequence()) {
      error(n, key, "expected a list of exit codes, e.g. [0, 3]");
      return std::nullopt;
    }
    for (const auto& item : n) {
      auto x = integer(item, key, 0, 255);
      if (!x) return std::nullopt;
      out.push_back(*x);
    }
    return out;
  }
  std::optional<std::vector<std::string>> strings(const YAML::Node& n, const std::string& key) {
    std::vector<std::string> out;
    if (n.IsScalar()) {
      out.push_back(n.Scalar());
      return out;
    }
    if (!n.IsSequence()) {
      error(n, key, "expected a list of strings");
      return std::nullopt;
    }
    for (const auto& item : n) {
      if (!item.IsScalar()) {
        error(item, key, "expected a string");
        return std::nullopt;
      }
      out.push_back(item.Scalar());
    }
    return out;
  }

 private:
  YamlErrors& errors_;
};

void parse_discovery(Walker& w, const YAML::Node& n, Config::Discovery& d) {
  if (!n.IsMap()) return w.error(n, "discovery", "expected a mapping");
  for (const auto& kv : n) {
    const std::string k = kv.first.Scalar();
    const std::string key = "discovery." + k;
    if (k == "root") {
      if (auto v = w.str(kv.second, key)) d.root = *v;
    } else if (k == "crontabs") {
      if (auto v = w.boolean(kv.second, key)) d.crontabs = *v;
    } else if (k == "systemd") {
      if (auto v = w.boolean(kv.second, key)) d.systemd = *v;
    } else if (k == "auto_wrap") {
      if (auto v = w.boolean(kv.second, key)) d.auto_wrap = *v;
    } else if (k == "wrapper_path") {
      if (auto v = w.str(kv.second, key)) {
        if (v->empty() || (*v)[0] != '/')
          w.error(kv.second, key, "must be an absolute path");
        else
          d.wrapper_path = *v;
      }
    } else if (k == "wrap_package_files") {
      if (auto v = w.boolean(kv.second, key)) d.wrap_package_files = *v;
    } else if (k == "cron_log") {
      if (auto v = w.str(kv.second, key)) {
        if (*v != "auto" && *v != "journal" && *v != "off" && (v->empty() || (*v)[0] != '/'))
          w.error(kv.second, key, "must be auto, journal, off or the absolute path of a syslog file");
        else
          d.cron_log = *v;
      }
    } else if (k == "max_monitors_per_user") {
      if (auto x = w.integer(kv.second, key, 0, 1000000)) d.max_monitors_per_user = *x;
    } else if (k == "max_user_monitors") {
      if (auto x = w.integer(kv.second, key, 0, 1000000)) d.max_user_monitors = *x;
    } else {
      w.error(kv.first, key,
              "unknown key (known: root, crontabs, systemd, auto_wrap, wrapper_path, wrap_package_files, cron_log, "
              "max_monitors_per_user, max_user_monitors)");
    }
  }
}

void parse_defaults(Walker& w, const YAML::Node& n, Defaults& d) {
  if (!n.IsMap()) return w.error(n, "defaults", "expected a mapping");
  for (const auto& kv : n) {
    const std::string k = kv.first.Scalar();
    const std::string key = "defaults." + k;
    const YAML::Node& v = kv.second;
    if (k == "grace_seconds") {
      if (auto x = w.duration(v, key)) d.grace = *x;
    } else if (k == "failure_tolerance") {
      if (auto x = w.failure_rule(v, key)) d.failure_tolerance = x->failures, d.failure_window = x->runs;
    } else if (k == "schedule_tolerance") {
      if (auto x = w.integer(v, key, 0, 1000)) d.schedule_tolerance = *x;
    } else if (k == "consecutive_alert_threshold") {
      if (auto x = w.integer(v, key, 1, 1000)) d.consecutive_alert_threshold = *x;
    } else if (k == "realert_interval") {
      if (auto x = w.duration(v, key)) d.realert_interval = *x;
    } else if (k == "notify") {
      if (auto x = w.strings(v, key)) d.notify = *x;
    } else if (k == "recovery_threshold") {
      if (auto x = w.integer(v, key, 1, 720)) d.recovery_threshold = *x;
    } else if (k == "flapping_threshold") {
      if (auto x = w.integer(v, key, 0, 1000)) d.flapping_threshold = *x;
    } else if (k == "flapping_window") {
      if (auto x = w.duration(v, key)) d.flapping_window = *x;
    } else if (k == "alert_rate_limit") {
      if (auto x = w.integer(v, key, 0, 100000)) d.alert_rate_limit = *x;
    } else if (k == "alert_rate_window") {
      if (auto x = w.duration(v, key)) d.alert_rate_window = *x;
    } else if (k == "alert_on_downtime") {
      if (auto x = w.boolean(v, key)) d.alert_on_downtime = *x;
    } else if (k == "max_runs_per_slot") {
      if (auto x = w.integer(v, key, 0, 1000)) d.max_runs_per_slot = *x;
    } else if (k == "alertmanager_resend") {
      if (auto x = w.duration(v, key)) {
        if (x->count() < 1 || *x > std::chrono::hours(1))
          w.error(v, key, "must be 1 second to 1 hour (well under Alertmanager's resolve_timeout, 5 minutes)");
        else
          d.alertmanager_resend = *x;
      }
    } else if (k == "alert_on_skip") {
      if (auto x = w.boolean(v, key)) d.alert_on_skip = *x;
    } else {
      w.error(kv.first, key,
              "unknown key (known: grace_seconds, failure_tolerance, schedule_tolerance, "
              "consecutive_alert_threshold, realert_interval, notify, recovery_threshold, flapping_threshold, "
              "flapping_window, alert_rate_limit, alert_rate_window, alert_on_downtime, max_runs_per_slot, "
              "alertmanager_resend, alert_on_skip)");
    }
  }
}

void parse_monitor(Walker& w, const YAML::Node& n, size_t index, Config& c) {
  const std::string base = "monitors[" + std::to_string(index) + "]";
  if (!n.IsMap()) return w.error(n, base, "expected a mapping with at least a key");
  MonitorEntry m;
  m.line = n.Mark().line + 1;
  MonitorOverrides& s = m.settings;
  for (const auto& kv : n) {
    const std::string k = kv.first.Scalar();
    const std::string key = base + "." + k;
    const YAML::Node& v = kv.second;
    if (k == "key") {
      if (auto x = w.str(v, key)) {
        if (x->empty() || x->size() > 128)
          w.error(v, key, "must be 1 to 128 characters");
        else
          m.key = *x;
      }
    } else if (k == "name") {
      s.name = w.str(v, key);
    } else if (k == "schedule") {
      if (auto x = w.str(v, key)) {
        if (auto sch = parse_monitor_schedule(*x); !sch)
          w.error(v, key, sch.error().message);
        else
          s.schedule = *x;
      }
    } else if (k == "type") {
      if (auto x = w.str(v, key)) {
        if (*x != "job" && *x != "heartbeat")
          w.error(v, key, "must be job or heartbeat");
        else
          s.type = *x;
      }
    } else if (k == "timezone") {
      if (auto x = w.str(v, key)) {
        if (auto z = schedule::Zone::load(*x); !z)
          w.error(v, key, "unknown time zone \"" + *x + "\"");
        else
          s.timezone = *x;
      }
    } else if (k == "grace_seconds") {
      s.grace = w.duration(v, key);
    } else if (k == "failure_tolerance") {
      if (auto x = w.failure_rule(v, key)) s.failure_tolerance = x->failures, s.failure_window = x->runs;
    } else if (k == "success_codes") {
      s.success_codes = w.exit_codes(v, key);
    } else if (k == "warning_codes") {
      s.warning_codes = w.exit_codes(v, key);
    } else if (k == "warning_tolerance") {
      s.warning_tolerance = w.integer(v, key, 0, 1000);
    } else if (k == "max_runs_per_slot") {
      s.max_runs_per_slot = w.integer(v, key, 0, 1000);
    } else if (k == "schedule_tolerance") {
      s.schedule_tolerance = w.integer(v, key, 0, 1000);
    } else if (k == "consecutive_alert_threshold") {
      s.consecutive_alert_threshold = w.integer(v, key, 1, 1000);
    } else if (k == "recovery_threshold") {
      s.recovery_threshold = w.integer(v, key, 1, 720);
    } else if (k == "realert_interval") {
      s.realert_interval = w.duration(v, key);
    } else if (k == "assertions") {
      if (auto list = w.strings(v, key)) {
        std::vector<Assertion> out;
        for (const auto& text : *list) {
          auto a = Assertion::parse(text);
          if (!a)
            w.error(v, key, a.error().message);
          else
            out.push_back(*a);
        }
        s.assertions = std::move(out);
      }
    } else if (k == "notify") {
      s.notify = w.strings(v, key);
    } else if (k == "environment") {
      s.environment = w.str(v, key);
    } else if (k == "slug") {
      if (auto x = w.str(v, key)) {
        if (!uplink::valid_slug(*x))
          w.error(v, key, kSlugRule);
        else
          s.slug = *x;
      }
    } else if (k == "cronitor_key" || k == "healthchecks_uuid" || k == "healthchecks_slug" || k == "sentry_slug") {
      if (auto x = w.str(v, key)) {
        if (auto bad = uplink::identity_problem(k, *x); !bad.empty())
          w.error(v, key, bad);
        else
          (k == "cronitor_key"        ? s.cronitor_key
           : k == "healthchecks_uuid" ? s.healthchecks_uuid
           : k == "healthchecks_slug" ? s.healthchecks_slug
                                      : s.sentry_slug) = *x;
      }
    } else if (k == "paused") {
      s.paused = w.boolean(v, key);
    } else if (k == "alert_on_skip") {
      s.alert_on_skip = w.boolean(v, key);
    } else if (k == "user") {
      if (auto x = w.str(v, key)) {
        if (x->empty() || x->size() > 64 || x->find_first_of(" \t\n:/") != std::string::npos)
          w.error(v, key, "must be a user name or uid");
        else
          m.user = *x;
      }
    } else {
      w.error(kv.first, key,
              "unknown key (known: key, name, schedule, type, timezone, grace_seconds, "
              "failure_tolerance, schedule_tolerance, consecutive_alert_threshold, "
              "recovery_threshold, realert_interval, assertions, notify, environment, slug, cronitor_key, "
              "healthchecks_uuid, healthchecks_slug, sentry_slug, paused, success_codes, warning_codes, "
              "warning_tolerance, max_runs_per_slot, alert_on_skip, user)");
    }
  }
  if (m.key.empty() && !n["key"]) w.error(n, base + ".key", "missing: every monitor needs a key");
  if (!m.key.empty()) c.monitors.push_back(std::move(m));
}

void check_notify_names(Walker& w, const Config& c, const YAML::Node& root) {
  auto check = [&](const std::vector<std::string>& names, const YAML::Node& at, const std::string& key) {
    if (auto t = c.targets(names); !t) w.error(at, key, t.error().message);
  };
  check(c.defaults.notify, root["defaults"] ? root["defaults"]["notify"] : root, "defaults.notify");
  const YAML::Node& mons = root["monitors"];
  for (size_t i = 0; i < c.monitors.size(); ++i) {
    if (!c.monitors[i].settings.notify) continue;
    YAML::Node at = mons && mons.IsSequence() && i < mons.size() ? mons[i]["notify"] : root;
    check(*c.monitors[i].settings.notify, at, "monitors[" + std::to_string(i) + "].notify");
  }
}

}  // namespace

std::string ConfigError::text() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  out += ": ";
  if (!key.empty()) out += key + ": ";
  out += message;
  return out;
}

std::string format_errors(const ConfigErrors& errors) {
  std::string out;
  for (const auto& e : errors) out += e.text() + "\n";
  return out;
}

std::expected<Config, ConfigErrors> parse_config(std::string_view yaml, std::string_view file) {
  YamlErrors errors{std::string(file)};
  Walker w{errors};
  Config c;
  c.source = std::string(file);
  if (yaml.size() > kMaxConfigBytes) {
    errors.add(YAML::Mark::null_mark(), "", "file larger than 4 MiB");
    return std::unexpected(errors.take());
  }
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    errors.add(e.mark, "", e.msg);
    return std::unexpected(errors.take());
  }
  if (root.IsNull()) return c;  // an empty file: all defaults
  if (!root.IsMap()) {
    w.error(root, "", "expected a mapping of settings at the top level");
    return std::unexpected(errors.take());
  }
  for (const auto& kv : root) {
    const std::string k = kv.first.Scalar();
    const YAML::Node& v = kv.second;
    if (k == "mode") {
      if (auto x = w.str(v, k)) {
        if (*x == "standalone" || *x == "upstream" || *x == "both")
          c.mode = *x;
        else
          w.error(v, k, "must be standalone, upstream or both, not \"" + *x + "\"");
      }
    } else if (k == "state_dir" || k == "socket" || k == "spool_dir") {
      if (auto x = w.str(v, k)) {
        if (x->empty() || (*x)[0] != '/')
          w.error(v, k, "must be an absolute path");
        else
          (k == "state_dir" ? c.state_dir : k == "socket" ? c.socket : c.spool_dir) = *x;
      }
    } else if (k == "hostname") {
      if (auto x = w.str(v, k)) c.hostname = *x;
    } else if (k == "observe") {
      if (auto x = w.str(v, k)) {
        if (*x == "auto" || *x == "off")
          c.observe = *x;
        else
          w.error(v, k, "must be auto or off, not \"" + *x + "\"");
      }
    } else if (k == "discovery") {
      parse_discovery(w, v, c.discovery);
    } else if (k == "defaults") {
      parse_defaults(w, v, c.defaults);
    } else if (k == "retention") {
      if (!v.IsMap()) {
        w.error(v, k, "expected a mapping with runs and days");
        continue;
      }
      for (const auto& r : v) {
        const std::string rk = r.first.Scalar();
        if (rk == "runs") {
          if (auto x = w.integer(r.second, "retention.runs", 1, 1000000)) c.retention.runs = *x;
        } else if (rk == "days") {
          if (auto x = w.integer(r.second, "retention.days", 1, 36500)) c.retention.days = *x;
        } else {
          w.error(r.first, "retention." + rk, "unknown key (known: runs, days)");
        }
      }
    } else if (k == "notify") {
      if (v.IsNull()) continue;
      if (!v.IsMap()) {
        w.error(v, k, "expected a mapping of list names to targets");
        continue;
      }
      for (const auto& list : v) {
        const std::string name = list.first.Scalar();
        auto items = w.strings(list.second, "notify." + name);
        if (!items) continue;
        std::vector<NotifyTarget> targets;
        for (size_t i = 0; i < items->size(); ++i) {
          auto t = NotifyTarget::parse((*items)[i]);
          if (!t)
            w.error(list.second.IsSequence() ? list.second[i] : list.second, "notify." + name, t.error().message);
          else
            targets.push_back(*t);
        }
        c.notify[name] = std::move(targets);
      }
    } else if (k == "monitors") {
      if (v.IsNull()) continue;
      if (!v.IsSequence()) {
        w.error(v, k, "expected a list of monitors");
        continue;
      }
      if (v.size() > kMaxMonitors) {
        w.error(v, k, "more than 100000 monitors");
        continue;
      }
      std::set<std::string> seen;
      c.monitors.reserve(c.monitors.size() + v.size());
      for (size_t i = 0; i < v.size(); ++i) {
        parse_monitor(w, v[i], i, c);
        if (!c.monitors.empty() && c.monitors.back().line == v[i].Mark().line + 1 &&
            !seen.insert(c.monitors.back().key).second)
          w.error(v[i]["key"], "monitors[" + std::to_string(i) + "].key",
                  "duplicate key \"" + c.monitors.back().key + "\"");
      }
    } else if (k == "uplink") {
      parse_uplink(v, c.uplink, errors);
    } else if (k == "prometheus") {
      parse_prometheus(v, c.prometheus, errors);
    } else if (k == "dashboard") {
      parse_dashboard(v, c.dashboard.listen, c.dashboard.allow_remote, errors);
    } else {
      w.error(kv.first, k,
              "unknown key (known: mode, state_dir, socket, spool_dir, hostname, observe, discovery, "
              "defaults, notify, monitors, retention, uplink, prometheus, dashboard)");
    }
  }
  check_notify_names(w, c, root);
  if (!errors.empty()) return std::unexpected(errors.take());
  return c;
}

std::expected<Config, ConfigErrors> load_config(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 && errno == ENOENT && path == kDefaultConfigPath)
    return parse_config(embedded_default_config(), "<built-in default>");
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    return std::unexpected(ConfigErrors{ConfigError{path, 0, "", Error::from_errno("open", "", err).message}});
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  auto config = parse_config(buf.str(), path);
  if (config && ::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0 && config->holds_secrets()) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    config->warnings.push_back(path + ": holds webhook URLs or keys but other users may read it (mode " + mode +
                               "): chmod 600 " + path);
  }
  return config;
}

bool Config::holds_secrets() const {
  if (uplink.any()) return true;  // API keys, ping keys, DSNs
  auto secret = [](const NotifyTarget& t) { return t.kind != NotifyTarget::Kind::kEmail; };
  for (const auto& [name, list] : notify)
    for (const auto& t : list)
      if (secret(t)) return true;
  auto inline_secret = [&](const std::vector<std::string>& names) {
    for (const auto& n : names)
      if (auto t = NotifyTarget::parse(n); t && secret(*t)) return true;
    return false;
  };
  if (inline_secret(defaults.notify)) return true;
  for (const auto& m : monitors)
    if (m.settings.notify && inline_secret(*m.settings.notify)) return true;
  return false;
}

Result<std::vector<NotifyTarget>> Config::targets(const std::vector<std::string>& names) const {
  std::vector<NotifyTarget> out;
  for (const auto& name : names) {
    if (auto it = notify.find(name); it != notify.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
    } else if (name.find(':') != std::string::npos) {
      auto t = NotifyTarget::parse(name);
      if (!t) return std::unexpected(t.error());
      out.push_back(*t);
    } else if (name != "default") {  // "default" may be left undefined: no alerts
      return fail("no notify list named \"" + name + "\"");
    }
  }
  return out;
}

std::string no_target_warning(const Config& c) {
  auto defaults = c.targets(c.defaults.notify);
  if (!defaults || !defaults->empty()) return {};  // a broken list is an error of its own
  bool some = false;
  for (const auto& m : c.monitors)
    if (m.settings.notify)
      if (auto t = c.targets(*m.settings.notify); t && !t->empty()) some = true;
  std::string where = c.source.starts_with("<") ? std::string(kDefaultConfigPath) : c.source;
  return std::string(some ? "defaults.notify has no target: alerts of monitors without a notify list of their own"
                          : "no notify target: alerts") +
         " are recorded but sent nowhere; add one to notify.default in " + where +
         " (e.g. slack:https://hooks.slack.com/services/...), then run cronitor-agent test-alert";
}

}  // namespace cronitor::agent
