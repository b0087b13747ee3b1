// The agent's configuration (/etc/cronitor/agent.yaml): types, parsing and validation.
// Key names follow Cronitor's monitor API where one exists.
#pragma once

#include <chrono>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/eval/assertion.h"
#include "common/error.h"
#include "uplink/alertmanager.h"
#include "uplink/notify_target.h"
#include "uplink/settings.h"

namespace cronitor::agent {

using uplink::NotifyTarget;

inline constexpr std::string_view kDefaultConfigPath = "/etc/cronitor/agent.yaml";

/// Settings a monitor entry or a crontab comment may set; unset ones fall back to the defaults.
struct MonitorOverrides {
  std::optional<std::string> name, schedule, type, timezone, environment;
  std::optional<std::string> slug;  // Healthchecks/Sentry slug instead of one made from the key
  /// An upstream check the job keeps (`wrap --adopt` writes them): Cronitor's monitor key, a
  /// Healthchecks check's UUID or slug, Sentry's monitor slug; each for its upstream only.
  std::optional<std::string> cronitor_key, healthchecks_uuid, healthchecks_slug, sentry_slug;
  std::optional<std::chrono::seconds> grace, realert_interval;
  std::optional<int> failure_tolerance, schedule_tolerance, consecutive_alert_threshold, recovery_threshold;
  std::optional<int> failure_window, warning_tolerance;  // failure_window: N of failure_tolerance "K of N"
  std::optional<int> max_runs_per_slot;                  // runs cron may start per slot (0: no limit)
  std::optional<std::vector<int>> success_codes, warning_codes;
  std::optional<std::vector<Assertion>> assertions;
  std::optional<std::vector<std::string>> notify;
  std::optional<bool> paused;
  std::optional<bool> alert_on_skip;  ///< a start systemd skipped (Condition*=) alerts

  /// Fields set in `other` win over ours.
  void merge(const MonitorOverrides& other);
};

/// An entry of `monitors:`: an extra monitor, or overrides for a discovered job with that key.
struct MonitorEntry {
  std::string key;
  MonitorOverrides settings;
  int line = 0;  // 1-based line in the config file
  /// Who may report its runs (besides root): `user:` (a name or a uid); unset: the job's own
  /// user for a discovered job, root for a monitor of the config alone.
  std::optional<std::string> user;
};

struct Defaults {
  std::chrono::seconds grace{60};
  int failure_tolerance = 0;
  int failure_window = 0;  // failure_tolerance: "K of N" sets N here and K above
  int schedule_tolerance = 0;
  int consecutive_alert_threshold = 3;
  std::chrono::seconds realert_interval{3600};
  std::vector<std::string> notify{"default"};
  int recovery_threshold = 1;
  /// Flapping: this many changes between failing and healthy within the window make one
  /// "flapping" incident (0: off).
  int flapping_threshold = 5;
  std::chrono::seconds flapping_window{3600};
  /// Runs too often: runs cron may start per slot, besides one run by hand (0: no limit).
  int max_runs_per_slot = 1;
  /// Per notify target: at most this many messages per window; the rest are recorded and
  /// summed up in one digest message when the window ends (0: no limit).
  int alert_rate_limit = 20;
  std::chrono::seconds alert_rate_window{600};
  /// Runs due while the host was down or the agent stopped: one notice per downtime (false: logged only).
  bool alert_on_downtime = true;
  /// An open incident's alert is posted again to Alertmanager targets this often, with endsAt
  /// 4 intervals ahead (Alertmanager would end it after resolve_timeout otherwise).
  std::chrono::seconds alertmanager_resend = uplink::kAlertmanagerResendDefault;
  /// A timer's start that systemd skipped (a Condition*= failed): recorded; a notice only when true.
  bool alert_on_skip = false;
};

struct Config {
  std::string source = "<built-in>";  // the file it came from
  std::string mode = "standalone";    // standalone | upstream | both
  std::string state_dir = "/var/lib/cronitor-agent";
  std::string socket = "/run/cronitor-agent/agent.sock";
  std::string spool_dir = "/var/spool/cronitor-agent";
  std::string hostname;  // empty: gethostname()
  /// Runs of cron jobs from the kernel's process events (agent/sources/proc_watch.h): "auto" (when
  /// the connector opens: root with CAP_NET_ADMIN, the host's namespaces) or "off".
  std::string observe = "auto";
  struct Discovery {
    std::string root = "/";
    bool crontabs = true;
    bool systemd = true;
    bool auto_wrap = true;
    /// The cronitor-exec written into crontabs; auto_wrap refuses one that is not root's alone.
    std::string wrapper_path = "/usr/bin/cronitor-exec";
    /// Also wrap lines in files a package owns (dpkg conffiles such as /etc/crontab).
    bool wrap_package_files = false;
    /// Where cron's own log lines are read for jobs that are not wrapped: "auto" (the journal
    /// when there is one, else /var/log/syslog), "journal", "off", or a syslog file's path.
    std::string cron_log = "auto";
    /// Monitors one user's own crontab may define, and users' crontabs together on the host
    /// (root's files and agent.yaml are not counted); the lines past it are listed as refused (0: no limit).
    int max_monitors_per_user = 500;
    int max_user_monitors = 5000;
  } discovery;
  Defaults defaults;
  std::map<std::string, std::vector<NotifyTarget>> notify;
  std::vector<MonitorEntry> monitors;
  struct Retention {
    int runs = 1000;  // per job
    int days = 90;
  } retention;
  uplink::UplinkSettings uplink;          // upstreams fed from the outbox (agent/config/config_uplink.cpp)
  uplink::PrometheusSettings prometheus;  // /metrics or a node_exporter textfile
  struct Dashboard {
    std::string listen;         // "127.0.0.1:9322": the local dashboard (agent/dashboard/); empty: off
    bool allow_remote = false;  // a non-loopback listen is refused without it
  } dashboard;
  /// Not errors, but worth saying (check-config prints them, the daemon logs them): a file
  /// holding webhook URLs or keys that others may read.
  std::vector<std::string> warnings;

  /// True when a notify target holds a secret (every kind but email: a webhook URL is its token).
  bool holds_secrets() const;

  /// The targets behind notify names: list names, or inline targets ("slack:URL").
  [[nodiscard]] Result<std::vector<NotifyTarget>> targets(const std::vector<std::string>& names) const;
};

/// Set when alerts would go nowhere: the default notify list has no target (check-config, status
/// and the daemon's start say so); says what to add. Empty when every alert has somewhere to go.
std::string no_target_warning(const Config& config);

/// A problem in a config file, pointing at the key.
struct ConfigError {
  std::string file;
  int line = 0;  // 1-based; 0 when unknown
  std::string key;
  std::string message;
  int column = 0;            // 1-based; 0 when unknown (the text names the line only)
  std::string text() const;  // "FILE:LINE: KEY: MESSAGE"
};
using ConfigErrors = std::vector<ConfigError>;
std::string format_errors(const ConfigErrors& errors);

/// Parses and validates YAML text; `file` names it in errors. Every error is collected.
[[nodiscard]] std::expected<Config, ConfigErrors> parse_config(std::string_view yaml, std::string_view file);
/// Reads `path`; when `path` is the default path and it does not exist, the built-in default.
[[nodiscard]] std::expected<Config, ConfigErrors> load_config(const std::string& path);
/// The default agent.yaml compiled into the binary (etc/agent.yaml at build time).
std::string_view embedded_default_config();

/// Parses the per-job comment "# cronitor: grace=10m failure_tolerance=2 notify=oncall"
/// (with or without the leading "#" and "cronitor:"). Returns nullopt-equivalent empty
/// overrides for comments that are not cronitor settings.
[[nodiscard]] Result<MonitorOverrides> parse_job_comment(std::string_view comment);
/// What a `slug` override must be (config entries and crontab comments).
inline constexpr const char* kSlugRule =
    "must be 1 to 50 characters of a-z, 0-9, '-' and '_' (what Healthchecks.io and Sentry accept)";

}  // namespace cronitor::agent
